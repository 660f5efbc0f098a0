//! PATCH (RFC 7644 §3.5.2) as Okta, Entra and the RFC send it. Paths are
//! parsed by `scim_v2`; applying them is ours: to a User's document, and to
//! a Group as a rename plus a member plan that the store applies in one
//! transaction.

use super::error::{ScimError, ScimResult};
use super::resource::{ENTERPRISE_URN, GROUP_URN, USER_URN};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use scim_v2::models::others::{OperationTarget, PatchOp, PatchOperation};
use scim_v2::Validate;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Reads and checks a PATCH body.
pub fn read(body: &Value) -> ScimResult<PatchOp> {
    let patch: PatchOp = serde_json::from_value(body.clone())
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not a SCIM PatchOp: {e}")))?;
    if !patch.schemas.iter().any(|s| s.eq_ignore_ascii_case(PATCH_URN)) {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must be [“{PATCH_URN}”]."
        )));
    }
    if patch.operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "{} operations in one PATCH; send at most {MAX_OPERATIONS}.",
            patch.operations.len()
        )));
    }
    patch
        .validate()
        .map_err(|e| ScimError::invalid_value(format!("{}: {}", e.path(), e)))?;
    Ok(patch)
}

/// The attribute name a path targets, without the schema URN of `urn`.
fn strip_urn(path: &AttrPath, own: &str) -> ScimResult<(Option<String>, String, Option<String>)> {
    match path.uri.as_deref() {
        None => Ok((None, path.name.clone(), path.sub_attr.clone())),
        Some(uri) if uri.eq_ignore_ascii_case(own) => Ok((None, path.name.clone(), path.sub_attr.clone())),
        Some(uri) if uri.eq_ignore_ascii_case(ENTERPRISE_URN) && own == USER_URN => Ok((
            Some(ENTERPRISE_URN.to_owned()),
            path.name.clone(),
            path.sub_attr.clone(),
        )),
        Some(uri) => Err(ScimError::invalid_path(format!(
            "Roster does not know the schema “{uri}”."
        ))),
    }
}

/// The key in `map` that equals `name` without regard to case.
fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

const READ_ONLY: [&str; 3] = ["id", "meta", "groups"];

fn check_mutable(name: &str) -> ScimResult<()> {
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(ScimError::mutability(format!(
            "“{name}” is read-only and cannot be patched."
        )));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies a PATCH to a User document (as stored, plus `active`).
pub fn apply_to_user(doc: &mut Map<String, Value>, patch: &PatchOp) -> ScimResult<()> {
    for operation in &patch.operations {
        match operation {
            PatchOperation::Add(OperationTarget::WithoutPath { value }) => {
                merge_pathless(doc, value, Op::Add)?
            }
            PatchOperation::Replace(OperationTarget::WithoutPath { value }) => {
                merge_pathless(doc, value, Op::Replace)?
            }
            PatchOperation::Add(OperationTarget::WithPath { path, value }) => {
                apply_path(doc, path, Op::Add, value.clone().unwrap_or(Value::Null))?
            }
            PatchOperation::Replace(OperationTarget::WithPath { path, value }) => {
                apply_path(doc, path, Op::Replace, value.clone().unwrap_or(Value::Null))?
            }
            PatchOperation::Remove { path, .. } => apply_path(doc, path, Op::Remove, Value::Null)?,
        }
    }
    Ok(())
}

/// A pathless add/replace: each key is an attribute (Entra sends dotted
/// `name.givenName` keys; extension keys hold objects).
fn merge_pathless(doc: &mut Map<String, Value>, value: &Map<String, Value>, op: Op) -> ScimResult<()> {
    for (key, v) in value {
        if key.eq_ignore_ascii_case(ENTERPRISE_URN) {
            let Value::Object(fields) = v else {
                return Err(ScimError::invalid_value(format!(
                    "“{ENTERPRISE_URN}” must be an object."
                )));
            };
            let k = key_of(doc, ENTERPRISE_URN);
            let ext = doc.entry(k).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(ext) = ext {
                for (name, field) in fields {
                    let k = key_of(ext, name);
                    ext.insert(k, field.clone());
                }
            }
            continue;
        }
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path: PatchPath = key
            .parse()
            .map_err(|e| ScimError::invalid_path(format!("“{key}” is not an attribute path: {e}")))?;
        apply_path(doc, &path, op, v.clone())?;
    }
    Ok(())
}

/// Whether a path names the whole enterprise extension (its URN alone).
fn is_enterprise_urn(attr: &AttrPath) -> bool {
    attr.sub_attr.is_none()
        && attr
            .uri
            .as_deref()
            .is_some_and(|uri| format!("{uri}:{}", attr.name).eq_ignore_ascii_case(ENTERPRISE_URN))
}

fn apply_path(doc: &mut Map<String, Value>, path: &PatchPath, op: Op, value: Value) -> ScimResult<()> {
    if let PatchPath::Attr(attr) = path {
        if is_enterprise_urn(attr) {
            let key = key_of(doc, ENTERPRISE_URN);
            match (op, value) {
                (Op::Remove, _) | (_, Value::Null) => {
                    doc.remove(&key);
                }
                (_, Value::Object(mut fields)) => {
                    fields.remove("schemas");
                    match (op, doc.get_mut(&key)) {
                        (Op::Add, Some(Value::Object(existing))) => existing.extend(fields),
                        _ => {
                            doc.insert(key, Value::Object(fields));
                        }
                    }
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "“{ENTERPRISE_URN}” takes an object of its attributes."
                    )))
                }
            }
            return Ok(());
        }
    }
    match path {
        PatchPath::Attr(attr) => {
            let (ext, name, sub) = strip_urn(attr, USER_URN)?;
            check_mutable(&name)?;
            let target = match ext {
                Some(urn) => {
                    let k = key_of(doc, &urn);
                    match doc.entry(k).or_insert_with(|| Value::Object(Map::new())) {
                        Value::Object(m) => m,
                        _ => return Err(ScimError::invalid_value(format!("“{urn}” must be an object."))),
                    }
                }
                None => doc,
            };
            set_attr(target, &name, sub.as_deref(), op, value)
        }
        PatchPath::Value(vp) => {
            let (_, name, _) = strip_urn(&vp.attr, USER_URN)?;
            check_mutable(&name)?;
            let key = key_of(doc, &name);
            let items = match doc.get_mut(&key) {
                Some(Value::Array(items)) => items,
                _ if op == Op::Remove => return Ok(()),
                _ => {
                    doc.insert(key.clone(), Value::Array(Vec::new()));
                    match doc.get_mut(&key) {
                        Some(Value::Array(items)) => items,
                        _ => return Err(ScimError::internal()),
                    }
                }
            };
            let matched: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| matches(&vp.filter, item))
                .map(|(i, _)| i)
                .collect();
            match (op, &vp.sub_attr) {
                (Op::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for i in matched {
                        if let Some(obj) = items[i].as_object_mut() {
                            let k = key_of(obj, sub);
                            obj.remove(&k);
                        }
                    }
                }
                (_, Some(sub)) if matched.is_empty() => {
                    // Entra replaces `emails[type eq "work"].value` on a user
                    // with no such e-mail yet: the element is made.
                    let mut element = seed_from_filter(&vp.filter);
                    element.insert(sub.clone(), value);
                    items.push(Value::Object(element));
                }
                (_, Some(sub)) => {
                    for i in matched {
                        if let Some(obj) = items[i].as_object_mut() {
                            let k = key_of(obj, sub);
                            obj.insert(k, value.clone());
                        }
                    }
                }
                (_, None) if matched.is_empty() => {
                    return Err(ScimError::no_target(format!(
                        "No value of {name} matches the path's filter."
                    )))
                }
                (_, None) => {
                    let Value::Object(fields) = value else {
                        return Err(ScimError::invalid_value(format!(
                            "A value for {name}[…] must be an object of sub-attributes."
                        )));
                    };
                    for i in matched {
                        if let Some(obj) = items[i].as_object_mut() {
                            for (k, v) in &fields {
                                let key = key_of(obj, k);
                                obj.insert(key, v.clone());
                            }
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn set_attr(
    map: &mut Map<String, Value>,
    name: &str,
    sub: Option<&str>,
    op: Op,
    value: Value,
) -> ScimResult<()> {
    let key = key_of(map, name);
    match sub {
        Some(sub) => {
            if op == Op::Remove {
                if let Some(Value::Object(inner)) = map.get_mut(&key) {
                    let k = key_of(inner, sub);
                    inner.remove(&k);
                }
                return Ok(());
            }
            let entry = map
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(inner) => {
                    let k = key_of(inner, sub);
                    inner.insert(k, value);
                }
                Value::Array(items) => {
                    // `emails.value`: the primary (or only) element.
                    let at = items
                        .iter()
                        .position(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
                        .unwrap_or(0);
                    match items.get_mut(at).and_then(Value::as_object_mut) {
                        Some(obj) => {
                            let k = key_of(obj, sub);
                            obj.insert(k, value);
                        }
                        None => {
                            let mut obj = Map::new();
                            obj.insert(sub.to_owned(), value);
                            items.push(Value::Object(obj));
                        }
                    }
                }
                _ => {
                    let mut obj = Map::new();
                    obj.insert(sub.to_owned(), value);
                    map.insert(key, Value::Object(obj));
                }
            }
            Ok(())
        }
        None => {
            match (op, map.get_mut(&key), value) {
                (Op::Remove, _, _) => {
                    map.remove(&key);
                }
                (Op::Add, Some(Value::Array(items)), Value::Array(more)) => items.extend(more),
                (Op::Add, Some(Value::Array(items)), one) => items.push(one),
                // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged.
                (Op::Add | Op::Replace, Some(Value::Object(obj)), Value::Object(more)) => {
                    for (k, v) in more {
                        let k2 = key_of(obj, &k);
                        obj.insert(k2, v);
                    }
                }
                (_, _, Value::Null) => {
                    map.remove(&key);
                }
                (_, _, value) => {
                    map.insert(key, value);
                }
            }
            Ok(())
        }
    }
}

/// The element a value-path filter describes (`type eq "work"` → `{"type": "work"}`).
fn seed_from_filter(filter: &ValFilter) -> Map<String, Value> {
    let mut seed = Map::new();
    let mut add = |f: &ValFilter| {
        if let ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) = f {
            seed.insert(p.name.clone(), comp_json(v));
        }
    };
    match filter {
        ValFilter::And(items) => items.as_slice().iter().for_each(&mut add),
        other => add(other),
    }
    seed
}

fn comp_json(v: &CompValue) -> Value {
    match v {
        CompValue::False => Value::Bool(false),
        CompValue::True => Value::Bool(true),
        CompValue::Null => Value::Null,
        CompValue::Number(n) => Value::Number(n.clone()),
        CompValue::Str(s) => Value::String(s.clone()),
    }
}

/// Whether one element of a multi-valued attribute matches a value filter
/// (strings compare without case, as for `type` and `value` of e-mails).
fn matches(filter: &ValFilter, item: &Value) -> bool {
    match filter {
        ValFilter::Not(inner) => !matches(inner, item),
        ValFilter::And(items) => items.as_slice().iter().all(|f| matches(f, item)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| matches(f, item)),
        ValFilter::Attr(exp) => {
            let (path, rest) = match exp {
                AttrExp::Present(p) => (p, None),
                AttrExp::Comparison(p, op, v) => (p, Some((op, v))),
            };
            let actual = item
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.name)))
                .map(|(_, v)| v);
            match rest {
                None => actual.is_some_and(|v| !v.is_null()),
                Some((op, expected)) => compare(actual, op, expected),
            }
        }
    }
}

fn compare(actual: Option<&Value>, op: &CompareOp, expected: &CompValue) -> bool {
    let a = actual.cloned().unwrap_or(Value::Null);
    let e = comp_json(expected);
    match (&a, &e) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        _ => match op {
            CompareOp::Eq => a == e,
            CompareOp::Ne => a != e,
            _ => false,
        },
    }
}

/// What a PATCH does to a group's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberPlan {
    Delta {
        add: BTreeSet<String>,
        remove: BTreeSet<String>,
    },
    Replace(BTreeSet<String>),
}

/// A PATCH to a Group, resolved: a rename, an externalId, and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub members: MemberPlan,
}

impl GroupPatch {
    pub fn touches_members(&self) -> bool {
        !matches!(&self.members, MemberPlan::Delta { add, remove } if add.is_empty() && remove.is_empty())
    }
}

fn member_ids(value: &Value) -> ScimResult<Vec<String>> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![value.clone()],
        Value::Null => Vec::new(),
        _ => {
            return Err(ScimError::invalid_value(
                "members must be a list of {\"value\": \"<user id>\"}.",
            ))
        }
    };
    items
        .iter()
        .map(|item| {
            item.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ScimError::invalid_value("Each member needs a “value”: the user's id."))
        })
        .collect()
}

impl MemberPlan {
    fn add(&mut self, ids: Vec<String>) {
        match self {
            MemberPlan::Delta { add, remove } => {
                for id in ids {
                    remove.remove(&id);
                    add.insert(id);
                }
            }
            MemberPlan::Replace(set) => set.extend(ids),
        }
    }
    fn remove(&mut self, ids: Vec<String>) {
        match self {
            MemberPlan::Delta { add, remove } => {
                for id in ids {
                    add.remove(&id);
                    remove.insert(id);
                }
            }
            MemberPlan::Replace(set) => {
                for id in ids {
                    set.remove(&id);
                }
            }
        }
    }
}

/// The ids a `members[value eq "…"]` filter names (Okta's remove).
fn filtered_member_ids(filter: &ValFilter) -> ScimResult<Vec<String>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(id)))
            if p.name.eq_ignore_ascii_case("value") =>
        {
            Ok(vec![id.clone()])
        }
        ValFilter::Or(items) => {
            let mut ids = Vec::new();
            for f in items.as_slice() {
                ids.extend(filtered_member_ids(f)?);
            }
            Ok(ids)
        }
        _ => Err(ScimError::invalid_path(
            "Select members with members[value eq \"<user id>\"] (or several joined by or).",
        )),
    }
}

/// Resolves a PATCH to a Group whose id is `own_id`.
pub fn resolve_group(patch: &PatchOp, own_id: &str) -> ScimResult<GroupPatch> {
    let mut out = GroupPatch {
        display_name: None,
        external_id: None,
        members: MemberPlan::Delta {
            add: BTreeSet::new(),
            remove: BTreeSet::new(),
        },
    };
    for operation in &patch.operations {
        let (op, target) = match operation {
            PatchOperation::Add(t) => (Op::Add, Some(t)),
            PatchOperation::Replace(t) => (Op::Replace, Some(t)),
            PatchOperation::Remove { .. } => (Op::Remove, None),
        };
        match (operation, target) {
            (_, Some(OperationTarget::WithoutPath { value })) => {
                for (key, v) in value {
                    group_attr(&mut out, op, key, None, v.clone(), own_id)?;
                }
            }
            (_, Some(OperationTarget::WithPath { path, value })) => {
                group_path(&mut out, op, path, value.clone().unwrap_or(Value::Null), own_id)?
            }
            (PatchOperation::Remove { path, value }, None) => {
                group_path(&mut out, op, path, value.clone().unwrap_or(Value::Null), own_id)?
            }
            _ => return Err(ScimError::internal()),
        }
    }
    Ok(out)
}

fn group_path(out: &mut GroupPatch, op: Op, path: &PatchPath, value: Value, own_id: &str) -> ScimResult<()> {
    match path {
        PatchPath::Attr(attr) => {
            let (_, name, sub) = strip_urn(attr, GROUP_URN)?;
            group_attr(out, op, &name, sub.as_deref(), value, own_id)
        }
        PatchPath::Value(vp) if vp.attr.name.eq_ignore_ascii_case("members") => {
            let ids = filtered_member_ids(&vp.filter)?;
            match op {
                Op::Remove => out.members.remove(ids),
                _ => {
                    return Err(ScimError::invalid_path(
                        "Add members with path “members” and a list of {\"value\": …}.",
                    ))
                }
            }
            Ok(())
        }
        PatchPath::Value(vp) => Err(ScimError::invalid_path(format!(
            "A Group has no multi-valued attribute “{}” to filter.",
            vp.attr.name
        ))),
    }
}

fn group_attr(
    out: &mut GroupPatch,
    op: Op,
    name: &str,
    sub: Option<&str>,
    value: Value,
    own_id: &str,
) -> ScimResult<()> {
    match (name.to_ascii_lowercase().as_str(), sub) {
        ("schemas", _) | ("meta", _) => Ok(()),
        // Okta's rename sends {"id": <own id>, "displayName": …}: its own id is no change.
        ("id", None) => match value.as_str() {
            Some(id) if id == own_id => Ok(()),
            _ => Err(ScimError::mutability("A group's id cannot change.")),
        },
        ("displayname", None) => {
            if op == Op::Remove {
                return Err(ScimError::mutability(
                    "A group needs a displayName; it cannot be removed.",
                ));
            }
            let name = value
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ScimError::invalid_value("displayName must be a non-empty string."))?;
            out.display_name = Some(name.to_owned());
            Ok(())
        }
        ("externalid", None) => {
            out.external_id = Some(match (op, value) {
                (Op::Remove, _) | (_, Value::Null) => None,
                (_, Value::String(s)) => Some(s),
                _ => return Err(ScimError::invalid_value("externalId must be a string.")),
            });
            Ok(())
        }
        ("members", None | Some("value")) => {
            match op {
                Op::Add => out.members.add(member_ids(&value)?),
                Op::Replace => out.members = MemberPlan::Replace(member_ids(&value)?.into_iter().collect()),
                // Entra removes with a value list; no value removes everyone.
                Op::Remove if value.is_null() => out.members = MemberPlan::Replace(BTreeSet::new()),
                Op::Remove => out.members.remove(member_ids(&value)?),
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_path(format!(
            "A Group has no attribute “{name}{}”; patch displayName, externalId or members.",
            sub.map(|s| format!(".{s}")).unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> PatchOp {
        read(&json!({"schemas": [PATCH_URN], "Operations": ops})).unwrap()
    }

    #[test]
    fn okta_deactivates_without_a_path_and_entra_with_dotted_keys() {
        let mut doc = json!({"userName": "a", "active": true, "name": {"givenName": "A"}})
            .as_object()
            .cloned()
            .unwrap();
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .unwrap();
        assert_eq!(doc["active"], false);
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "Replace", "value": {"name.familyName": "B", "active": "True"}}])),
        )
        .unwrap();
        assert_eq!(doc["name"], json!({"givenName": "A", "familyName": "B"}));
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "replace", "path": "name", "value": {"givenName": "C"}}])),
        )
        .unwrap();
        assert_eq!(
            doc["name"],
            json!({"givenName": "C", "familyName": "B"}),
            "replace keeps the sub-attributes not given"
        );
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x"}])),
        )
        .unwrap();
        assert_eq!(doc["emails"], json!([{"type": "work", "value": "a@x"}]));
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}])),
        )
        .unwrap();
        assert_eq!(doc[ENTERPRISE_URN]["department"], "R&D");
        apply_to_user(
            &mut doc,
            &patch(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])),
        )
        .unwrap();
        assert_eq!(doc["emails"], json!([]));
        let id = apply_to_user(
            &mut doc,
            &patch(json!([{"op": "replace", "path": "id", "value": "x"}])),
        )
        .unwrap_err();
        assert_eq!(id.scim_type, Some("mutability"));
    }

    #[test]
    fn okta_group_pushes_resolve_to_one_member_plan() {
        let p = patch(json!([
            {"op": "replace", "value": {"id": "g1", "displayName": "Eng"}},
            {"op": "add", "path": "members", "value": [{"value": "u1", "display": "a"}, {"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "remove", "path": "members[value eq \"u3\"]"}
        ]));
        let g = resolve_group(&p, "g1").unwrap();
        assert_eq!(g.display_name.as_deref(), Some("Eng"));
        assert_eq!(
            g.members,
            MemberPlan::Delta {
                add: ["u1".to_owned()].into(),
                remove: ["u2".to_owned(), "u3".to_owned()].into()
            }
        );
        let replaced = resolve_group(
            &patch(json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}])),
            "g1",
        )
        .unwrap();
        assert_eq!(replaced.members, MemberPlan::Replace(["u9".to_owned()].into()));
        let other_id =
            resolve_group(&patch(json!([{"op": "replace", "value": {"id": "g2"}}])), "g1").unwrap_err();
        assert_eq!(other_id.scim_type, Some("mutability"));
    }

    #[test]
    fn malformed_patches_are_refused_with_a_reason() {
        let no_schema = read(&json!({"Operations": [{"op": "add", "path": "x", "value": 1}]})).unwrap_err();
        assert_eq!(no_schema.status, 400);
        let bad_op =
            read(&json!({"schemas": [PATCH_URN], "Operations": [{"op": "move", "path": "x"}]})).unwrap_err();
        assert_eq!(bad_op.scim_type, Some("invalidSyntax"));
        let deep = format!("members[{}value eq \"x\"{}]", "(".repeat(200), ")".repeat(200));
        let too_deep = read(&json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": deep}]}))
            .unwrap_err();
        assert_eq!(too_deep.scim_type, Some("invalidSyntax"));
        let many: Vec<Value> = (0..1001)
            .map(|_| json!({"op": "remove", "path": "title"}))
            .collect();
        assert_eq!(
            read(&json!({"schemas": [PATCH_URN], "Operations": many}))
                .unwrap_err()
                .scim_type,
            Some("tooMany")
        );
    }
}
