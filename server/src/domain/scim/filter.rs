//! SCIM filters (parsed by `scim_v2`) mapped onto the store's condition
//! tree. Only attributes Roster keeps as columns may be filtered on; any
//! other is an `invalidFilter` that names the ones that work.

use super::error::{ScimError, ScimResult};
use crate::store::{ScimAttr, ScimCondition, ScimOp, ScimValue};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

/// Longest `filter` query accepted; longer is `tooMany` before parsing.
pub const MAX_FILTER_CHARS: usize = 4096;

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    fn urn(self) -> &'static str {
        match self {
            Resource::User => USER_URN,
            Resource::Group => GROUP_URN,
        }
    }

    fn filterable(self) -> &'static str {
        match self {
            Resource::User => {
                "id, externalId, userName, emails.value, name.givenName, name.familyName, displayName, active, \
                 meta.created, meta.lastModified"
            }
            Resource::Group => "id, externalId, displayName, members.value, meta.created, meta.lastModified",
        }
    }
}

/// Parses and maps a `filter` query parameter.
pub fn parse(raw: &str, resource: Resource) -> ScimResult<ScimCondition> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(ScimCondition::All);
    }
    if raw.len() > MAX_FILTER_CHARS {
        return Err(ScimError::too_many(format!(
            "The filter is {} characters long; at most {MAX_FILTER_CHARS} are accepted.",
            raw.len()
        )));
    }
    let filter: Filter = raw
        .parse()
        .map_err(|e| ScimError::invalid_filter(format!("The filter “{}” does not parse: {e}", clip(raw))))?;
    map(&filter, resource)
}

fn clip(raw: &str) -> String {
    let clipped: String = raw.chars().take(120).collect();
    if clipped.len() < raw.len() {
        format!("{clipped}…")
    } else {
        clipped
    }
}

fn map(filter: &Filter, resource: Resource) -> ScimResult<ScimCondition> {
    Ok(match filter {
        Filter::Attr(exp) => map_exp(exp, None, resource)?,
        Filter::ValuePath(vp) => map_val_filter(&vp.filter, &vp.attr, resource)?,
        Filter::Not(inner) => ScimCondition::Not(Box::new(map(inner, resource)?)),
        Filter::And(items) => ScimCondition::And(
            items
                .as_slice()
                .iter()
                .map(|f| map(f, resource))
                .collect::<ScimResult<_>>()?,
        ),
        Filter::Or(items) => ScimCondition::Or(
            items
                .as_slice()
                .iter()
                .map(|f| map(f, resource))
                .collect::<ScimResult<_>>()?,
        ),
    })
}

/// `emails[value eq "x"]`, `members[value eq "x"]`: the inner filter names
/// sub-attributes of the outer one.
fn map_val_filter(filter: &ValFilter, parent: &AttrPath, resource: Resource) -> ScimResult<ScimCondition> {
    Ok(match filter {
        ValFilter::Attr(exp) => map_exp(exp, Some(parent), resource)?,
        ValFilter::Not(inner) => ScimCondition::Not(Box::new(map_val_filter(inner, parent, resource)?)),
        ValFilter::And(items) => ScimCondition::And(
            items
                .as_slice()
                .iter()
                .map(|f| map_val_filter(f, parent, resource))
                .collect::<ScimResult<_>>()?,
        ),
        ValFilter::Or(items) => ScimCondition::Or(
            items
                .as_slice()
                .iter()
                .map(|f| map_val_filter(f, parent, resource))
                .collect::<ScimResult<_>>()?,
        ),
    })
}

fn map_exp(exp: &AttrExp, parent: Option<&AttrPath>, resource: Resource) -> ScimResult<ScimCondition> {
    let path = match exp {
        AttrExp::Present(p) | AttrExp::Comparison(p, _, _) => p,
    };
    let attr = attribute(path, parent, resource)?;
    Ok(match exp {
        AttrExp::Present(_) => ScimCondition::Present(attr),
        AttrExp::Comparison(_, op, value) => {
            let op = match op {
                CompareOp::Eq => ScimOp::Eq,
                CompareOp::Ne => ScimOp::Ne,
                CompareOp::Co => ScimOp::Co,
                CompareOp::Sw => ScimOp::Sw,
                CompareOp::Ew => ScimOp::Ew,
                CompareOp::Gt => ScimOp::Gt,
                CompareOp::Ge => ScimOp::Ge,
                CompareOp::Lt => ScimOp::Lt,
                CompareOp::Le => ScimOp::Le,
            };
            let value = match (attr, value) {
                (ScimAttr::Active, CompValue::True) => ScimValue::Bool(true),
                (ScimAttr::Active, CompValue::False) => ScimValue::Bool(false),
                (ScimAttr::Active, _) => {
                    return Err(ScimError::invalid_filter("active compares with true or false."))
                }
                (_, CompValue::Str(s)) => ScimValue::Text(s.clone()),
                (_, CompValue::Null) => ScimValue::Null,
                (_, other) => {
                    return Err(ScimError::invalid_filter(format!(
                        "{path} compares with a string, not {other}."
                    )))
                }
            };
            if attr == ScimAttr::Active && !matches!(op, ScimOp::Eq | ScimOp::Ne) {
                return Err(ScimError::invalid_filter("active supports eq and ne only."));
            }
            if attr == ScimAttr::MemberValue && (op != ScimOp::Eq || value == ScimValue::Null) {
                return Err(ScimError::invalid_filter(
                    "members.value supports eq with a user id only.",
                ));
            }
            if matches!(attr, ScimAttr::LastModified | ScimAttr::Created) {
                if let ScimValue::Text(t) = &value {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(
                        |_| {
                            ScimError::invalid_filter(format!(
                                "{path} compares with an RFC 3339 time, not “{}”.",
                                clip(t)
                            ))
                        },
                    )?;
                }
                if matches!(op, ScimOp::Co | ScimOp::Sw | ScimOp::Ew) {
                    return Err(ScimError::invalid_filter(format!(
                        "{path} supports eq, ne, gt, ge, lt and le."
                    )));
                }
            }
            ScimCondition::Compare(attr, op, value)
        }
    })
}

/// The column-backed attribute a path names (case-insensitively, with or
/// without the resource's schema URN).
fn attribute(path: &AttrPath, parent: Option<&AttrPath>, resource: Resource) -> ScimResult<ScimAttr> {
    let unknown = || {
        let shown = match parent {
            Some(p) => format!("{p}[{path}]"),
            None => path.to_string(),
        };
        ScimError::invalid_filter(format!(
            "Filtering on “{shown}” is not supported; filter on {}.",
            resource.filterable()
        ))
    };
    if let Some(uri) = path.uri.as_deref().or(parent.and_then(|p| p.uri.as_deref())) {
        if !uri.eq_ignore_ascii_case(resource.urn()) {
            return Err(unknown());
        }
    }
    let (name, sub) = match parent {
        Some(p) if p.sub_attr.is_none() && path.sub_attr.is_none() => {
            (p.name.as_str(), Some(path.name.as_str()))
        }
        Some(_) => return Err(unknown()),
        None => (path.name.as_str(), path.sub_attr.as_deref()),
    };
    let name = name.to_ascii_lowercase();
    let sub = sub.map(str::to_ascii_lowercase);
    let attr = match (resource, name.as_str(), sub.as_deref()) {
        (_, "id", None) => ScimAttr::Id,
        (_, "externalid", None) => ScimAttr::ExternalId,
        (_, "meta", Some("lastmodified")) => ScimAttr::LastModified,
        (_, "meta", Some("created")) => ScimAttr::Created,
        (_, "displayname", None) => ScimAttr::DisplayName,
        (Resource::User, "username", None) => ScimAttr::UserName,
        (Resource::User, "emails", Some("value") | None) => ScimAttr::Email,
        (Resource::User, "name", Some("givenname")) => ScimAttr::GivenName,
        (Resource::User, "name", Some("familyname")) => ScimAttr::FamilyName,
        (Resource::User, "active", None) => ScimAttr::Active,
        (Resource::Group, "members", Some("value") | None) => ScimAttr::MemberValue,
        _ => return Err(unknown()),
    };
    Ok(attr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(raw: &str) -> ScimResult<ScimCondition> {
        parse(raw, Resource::User)
    }

    #[test]
    fn okta_lookups_map_onto_columns() {
        assert_eq!(
            user(r#"userName eq "Ada@Example.com""#).unwrap(),
            ScimCondition::Compare(
                ScimAttr::UserName,
                ScimOp::Eq,
                ScimValue::Text("Ada@Example.com".into())
            )
        );
        assert_eq!(
            user(r#"emails[value eq "a@x"]"#).unwrap(),
            ScimCondition::Compare(ScimAttr::Email, ScimOp::Eq, ScimValue::Text("a@x".into()))
        );
        assert_eq!(
            parse(r#"members[value eq "00u1"]"#, Resource::Group).unwrap(),
            ScimCondition::Compare(ScimAttr::MemberValue, ScimOp::Eq, ScimValue::Text("00u1".into()))
        );
        assert!(matches!(
            user(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a" and active eq true"#).unwrap(),
            ScimCondition::And(items) if items.len() == 2
        ));
        assert!(matches!(
            user("externalId pr or not (id eq \"x\")").unwrap(),
            ScimCondition::Or(_)
        ));
        assert_eq!(
            user(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#).unwrap(),
            ScimCondition::Compare(
                ScimAttr::LastModified,
                ScimOp::Gt,
                ScimValue::Text("2026-01-01T00:00:00Z".into())
            )
        );
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors_that_say_what_works() {
        let unknown = user(r#"title eq "x""#).unwrap_err();
        assert_eq!((unknown.status, unknown.scim_type), (400, Some("invalidFilter")));
        assert!(unknown.detail.contains("userName"), "{}", unknown.detail);
        assert_eq!(user("userName eq").unwrap_err().scim_type, Some("invalidFilter"));
        assert_eq!(
            user("active eq \"yes\"").unwrap_err().scim_type,
            Some("invalidFilter")
        );
        assert_eq!(
            user("meta.lastModified gt \"yesterday\"").unwrap_err().scim_type,
            Some("invalidFilter")
        );
        let deep = format!("{}userName pr{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(user(&deep).unwrap_err().scim_type, Some("invalidFilter"));
        let long = "userName pr or ".repeat(400) + "userName pr";
        assert_eq!(user(&long).unwrap_err().scim_type, Some("tooMany"));
        assert_eq!(
            parse(r#"userName eq "x""#, Resource::Group)
                .unwrap_err()
                .scim_type,
            Some("invalidFilter")
        );
    }
}
