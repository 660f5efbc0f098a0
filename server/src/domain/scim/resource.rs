//! SCIM documents ↔ Roster records: what a pushed User means for the
//! identity store, and how a stored record reads as a SCIM resource.

use super::error::{ScimError, ScimResult};
use crate::store::{ScimGroupRow, ScimUserRow};
use serde_json::{json, Map, Value};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Attributes a client sends that Roster must not store: `password` (Okta
/// sends one with every create), and read-only ones the server owns.
const NEVER_STORED: [&str; 4] = ["password", "groups", "id", "meta"];

/// A pushed User, read into what the identity store keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDocument {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Okta-style profile attributes (login, email, firstName, …, title, department…).
    pub profile: Map<String, Value>,
    /// The document without what must not be stored.
    pub stored: Map<String, Value>,
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Looks a top-level attribute up without regard to case (RFC 7643 §2.1).
fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// `active` as sent: a boolean, or Entra's "True"/"False".
pub fn parse_active(value: Option<&Value>) -> ScimResult<bool> {
    match value {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(ScimError::invalid_value(format!(
            "active must be true or false, not {other}."
        ))),
    }
}

/// The primary e-mail, else the first one.
fn primary_email(map: &Map<String, Value>) -> ScimResult<Option<String>> {
    let Some(emails) = get(map, "emails") else {
        return Ok(None);
    };
    let Value::Array(items) = emails else {
        if emails.is_null() {
            return Ok(None);
        }
        return Err(ScimError::invalid_value(
            "emails must be a list of {value, type, primary}.",
        ));
    };
    let value_of = |item: &Value| item.as_object().and_then(|o| text(get(o, "value")));
    let primary = items
        .iter()
        .find(|item| item.get("primary").and_then(Value::as_bool) == Some(true))
        .and_then(value_of);
    Ok(primary.or_else(|| items.iter().find_map(value_of)))
}

impl UserDocument {
    /// Reads a User body (POST or PUT, or the result of a PATCH).
    pub fn read(body: &Value) -> ScimResult<Self> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "The body must be a JSON object (a SCIM User).",
            ));
        };
        if let Some(schemas) = get(map, "schemas") {
            let listed = schemas
                .as_array()
                .map(|a| {
                    a.iter()
                        .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(USER_URN)))
                })
                .unwrap_or(false);
            if !listed {
                return Err(ScimError::invalid_value(format!(
                    "schemas must include “{USER_URN}”."
                )));
            }
        }
        let user_name = text(get(map, "userName")).ok_or_else(|| {
            ScimError::invalid_value("userName is required (Okta's “Unique identifier field”).")
        })?;
        if user_name.chars().count() > 256 {
            return Err(ScimError::invalid_value(
                "userName is longer than 256 characters.",
            ));
        }
        let external_id = match get(map, "externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 256 => Some(s.clone()).filter(|s| !s.is_empty()),
            Some(_) => {
                return Err(ScimError::invalid_value(
                    "externalId must be a string of at most 256 characters.",
                ))
            }
        };
        let active = parse_active(get(map, "active"))?;
        let name = get(map, "name").and_then(Value::as_object);
        let given_name = name.and_then(|n| text(get(n, "givenName")));
        let family_name = name.and_then(|n| text(get(n, "familyName")));
        let display_name = text(get(map, "displayName"));
        let email = primary_email(map)?;
        let mut stored = map.clone();
        stored.retain(|k, _| !NEVER_STORED.iter().any(|n| k.eq_ignore_ascii_case(n)));
        let mut profile = Map::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                profile.insert(key.to_owned(), Value::String(v));
            }
        };
        put("login", Some(user_name.clone()));
        put("email", email.clone());
        put("firstName", given_name.clone());
        put("lastName", family_name.clone());
        put("displayName", display_name.clone());
        for (scim, okta) in [
            ("title", "title"),
            ("nickName", "nickName"),
            ("userType", "userType"),
            ("locale", "locale"),
            ("timezone", "timezone"),
            ("preferredLanguage", "preferredLanguage"),
        ] {
            put(okta, text(get(map, scim)));
        }
        put(
            "primaryPhone",
            get(map, "phoneNumbers")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find_map(|p| text(p.get("value")))),
        );
        if let Some(ext) = get(map, ENTERPRISE_URN).and_then(Value::as_object) {
            for key in [
                "employeeNumber",
                "costCenter",
                "organization",
                "division",
                "department",
            ] {
                put(key, text(get(ext, key)));
            }
            let manager = get(ext, "manager").and_then(Value::as_object);
            put("managerId", manager.and_then(|m| text(get(m, "value"))));
            put("manager", manager.and_then(|m| text(get(m, "displayName"))));
        }
        Ok(Self {
            user_name,
            external_id,
            active,
            email,
            given_name,
            family_name,
            display_name,
            profile,
            stored,
        })
    }
}

/// Where a resource lives, for `Location` and `meta.location`.
pub fn location(base_url: &str, kind: &str, id: &str) -> String {
    format!("{base_url}/{kind}/{id}")
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` (or `meta.version`) names; `*` means any.
pub fn parse_etag(raw: &str) -> ScimResult<Option<i64>> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ScimError::version_mismatch(format!("If-Match “{raw}” is not a version Roster issued.")))
}

/// A stored user as a SCIM User.
pub fn render_user(row: &ScimUserRow, base_url: &str) -> Value {
    let mut doc = row
        .scim_resource
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    let from_push = !doc.is_empty();
    doc.retain(|k, _| !NEVER_STORED.iter().any(|n| k.eq_ignore_ascii_case(n)));
    let mut schemas = vec![Value::String(USER_URN.into())];
    if doc.contains_key(ENTERPRISE_URN) {
        schemas.push(Value::String(ENTERPRISE_URN.into()));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert("id".into(), Value::String(row.okta_id.clone()));
    match &row.external_id {
        Some(e) => doc.insert("externalId".into(), Value::String(e.clone())),
        None => doc.remove("externalId"),
    };
    doc.insert("userName".into(), Value::String(row.login.clone()));
    // The columns are the truth (a later pull may have changed them).
    let mut name = doc
        .get("name")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(g) = &row.first_name {
        name.insert("givenName".into(), Value::String(g.clone()));
    }
    if let Some(f) = &row.last_name {
        name.insert("familyName".into(), Value::String(f.clone()));
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    if !from_push || doc.contains_key("displayName") {
        doc.insert("displayName".into(), Value::String(row.display_name.clone()));
    }
    if let Some(email) = &row.email {
        let emails = doc.entry("emails").or_insert_with(|| json!([]));
        if let Value::Array(items) = emails {
            let primary = items
                .iter()
                .position(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
                .or(if items.is_empty() { None } else { Some(0) });
            match primary {
                Some(i) => {
                    if let Some(obj) = items[i].as_object_mut() {
                        obj.insert("value".into(), Value::String(email.clone()));
                    }
                }
                None => items.push(json!({"value": email, "type": "work", "primary": true})),
            }
        }
    }
    // A push that removed `active` asked for the default (active); the
    // attribute is shown whenever it says something.
    let active = row.deleted_at.is_none() && !row.suspended;
    if !from_push || !active || doc.contains_key("active") {
        doc.insert("active".into(), Value::Bool(active));
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": row.first_seen_at,
            "lastModified": row.updated_at,
            "location": location(base_url, "Users", &row.okta_id),
            "version": etag(row.version),
        }),
    );
    Value::Object(doc)
}

/// One member of a group, as SCIM lists it.
pub struct MemberRef<'a> {
    pub id: &'a str,
}

/// A stored group as a SCIM Group; `members` is `None` when excluded.
pub fn render_group(row: &ScimGroupRow, members: Option<&[MemberRef<'_>]>, base_url: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([GROUP_URN]));
    doc.insert("id".into(), Value::String(row.okta_id.clone()));
    if let Some(e) = &row.external_id {
        doc.insert("externalId".into(), Value::String(e.clone()));
    }
    doc.insert("displayName".into(), Value::String(row.name.clone()));
    if let Some(members) = members {
        doc.insert(
            "members".into(),
            Value::Array(
                members
                    .iter()
                    .map(|m| {
                        // No `display`: the published Group schema (RFC 7643
                        // §8.7.1) has none, and strict clients refuse it.
                        json!({
                            "value": m.id,
                            "type": "User",
                            "$ref": location(base_url, "Users", m.id),
                        })
                    })
                    .collect(),
            ),
        );
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": row.first_seen_at,
            "lastModified": row.updated_at,
            "location": location(base_url, "Groups", &row.okta_id),
            "version": etag(row.version),
        }),
    );
    Value::Object(doc)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9): names in standard
/// attribute notation, compared without case. `id` and `schemas` always stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    include: Vec<(String, Option<String>)>,
    exclude: Vec<(String, Option<String>)>,
}

/// Most names one `attributes` or `excludedAttributes` may list.
const MAX_SELECTED_NAMES: usize = 100;

fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    // `get`: a name is user input, and slicing at a byte that is not a
    // character boundary would panic.
    name.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &name[prefix.len()..])
}

fn parse_names(raw: Option<&str>, urn: &str) -> ScimResult<Vec<(String, Option<String>)>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    if raw.split(',').count() > MAX_SELECTED_NAMES {
        return Err(ScimError::too_many(format!(
            "Select at most {MAX_SELECTED_NAMES} attributes."
        )));
    }
    raw.split(',')
        .map(|name| {
            let name = name.trim();
            // The enterprise extension is one top-level attribute: its URN.
            if let Some(rest) = strip_prefix_ignore_case(name, ENTERPRISE_URN) {
                let sub = rest
                    .strip_prefix(':')
                    .map(|s| s.split('.').next().unwrap_or_default().to_ascii_lowercase());
                return Ok((ENTERPRISE_URN.to_ascii_lowercase(), sub.filter(|s| !s.is_empty())));
            }
            let bare = strip_prefix_ignore_case(name, urn)
                .and_then(|rest| rest.strip_prefix(':'))
                .unwrap_or(name);
            if bare.is_empty() || bare.split('.').count() > 2 {
                return Err(ScimError::invalid_value(format!(
                    "“{name}” is not an attribute name (use e.g. userName or name.familyName)."
                )));
            }
            let mut parts = bare.splitn(2, '.');
            let top = parts.next().unwrap_or_default().to_ascii_lowercase();
            Ok((top, parts.next().map(str::to_ascii_lowercase)))
        })
        .collect()
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>, urn: &str) -> ScimResult<Self> {
        let include = parse_names(attributes, urn)?;
        let exclude = parse_names(excluded, urn)?;
        if !include.is_empty() && !exclude.is_empty() {
            return Err(ScimError::invalid_value(
                "Use attributes or excludedAttributes, not both (RFC 7644 §3.9).",
            ));
        }
        Ok(Self { include, exclude })
    }

    /// Whether a top-level attribute is excluded as a whole.
    pub fn excludes(&self, top: &str) -> bool {
        let top = top.to_ascii_lowercase();
        self.exclude.iter().any(|(t, sub)| *t == top && sub.is_none())
            || (!self.include.is_empty() && !self.include.iter().any(|(t, _)| *t == top))
    }

    pub fn apply(&self, doc: Value) -> Value {
        let Value::Object(mut map) = doc else {
            return doc;
        };
        let always = |k: &str| k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("schemas");
        if !self.include.is_empty() {
            map.retain(|k, v| {
                if always(k) {
                    return true;
                }
                let key = k.to_ascii_lowercase();
                let subs: Vec<&Option<String>> = self
                    .include
                    .iter()
                    .filter(|(t, _)| *t == key)
                    .map(|(_, s)| s)
                    .collect();
                if subs.is_empty() {
                    return false;
                }
                if subs.iter().all(|s| s.is_some()) {
                    keep_subs(v, &subs);
                }
                true
            });
        }
        for (top, sub) in &self.exclude {
            let keys: Vec<String> = map
                .keys()
                .filter(|k| k.to_ascii_lowercase() == *top)
                .cloned()
                .collect();
            for key in keys {
                if always(&key) {
                    continue;
                }
                match sub {
                    None => {
                        map.remove(&key);
                    }
                    Some(sub) => {
                        if let Some(v) = map.get_mut(&key) {
                            drop_sub(v, sub);
                        }
                    }
                }
            }
        }
        Value::Object(map)
    }
}

fn keep_subs(value: &mut Value, subs: &[&Option<String>]) {
    let keep = |obj: &mut Map<String, Value>| {
        obj.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            subs.iter().any(|s| s.as_deref() == Some(k.as_str()))
        })
    };
    match value {
        Value::Object(obj) => keep(obj),
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(keep),
        _ => {}
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    let drop = |obj: &mut Map<String, Value>| obj.retain(|k, _| k.to_ascii_lowercase() != sub);
    match value {
        Value::Object(obj) => drop(obj),
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(drop),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn okta_create() -> Value {
        json!({
            "schemas": [USER_URN],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
            "displayName": "Ada Lovelace",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        })
    }

    #[test]
    fn a_pushed_user_keeps_its_document_but_never_the_password() {
        let doc = UserDocument::read(&okta_create()).unwrap();
        assert_eq!(doc.user_name, "ada@example.com");
        assert_eq!(doc.external_id.as_deref(), Some("00ujl29u0le5T6Aj10h7"));
        assert_eq!(doc.email.as_deref(), Some("ada@example.com"));
        assert!(doc.active);
        assert!(!doc.stored.contains_key("password"));
        assert!(!doc.stored.contains_key("groups"));
        assert_eq!(doc.profile["firstName"], "Ada");
        assert_eq!(doc.profile["locale"], "en-US");
    }

    #[test]
    fn bad_users_say_what_to_fix() {
        let missing = UserDocument::read(&json!({"schemas": [USER_URN]})).unwrap_err();
        assert!(missing.detail.contains("userName"));
        let active = UserDocument::read(&json!({"userName": "a", "active": "maybe"})).unwrap_err();
        assert_eq!(active.scim_type, Some("invalidValue"));
        assert!(UserDocument::read(&json!({"userName": "a", "active": "False"})).is_ok_and(|d| !d.active));
        assert_eq!(
            UserDocument::read(&json!([1])).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
    }

    #[test]
    fn projections_keep_id_and_schemas() {
        let doc = json!({"schemas": [USER_URN], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"}, "emails": [{"value": "a@x", "type": "work"}]});
        let only = Projection::parse(Some("userName,name.familyName"), None, USER_URN).unwrap();
        assert_eq!(
            only.apply(doc.clone()),
            json!({"schemas": [USER_URN], "id": "1", "userName": "a", "name": {"familyName": "B"}})
        );
        let without = Projection::parse(None, Some("emails,name.givenName,id"), USER_URN).unwrap();
        assert_eq!(
            without.apply(doc),
            json!({"schemas": [USER_URN], "id": "1", "userName": "a", "name": {"familyName": "B"}})
        );
        assert!(Projection::parse(Some("a"), Some("b"), USER_URN).is_err());
        assert!(Projection::parse(None, Some("members"), GROUP_URN)
            .unwrap()
            .excludes("members"));
    }
}
