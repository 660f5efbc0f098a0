//! Discovery documents (RFC 7644 §4): what Roster's SCIM endpoint supports.
//! The schemas are RFC 7643's own definitions (shipped by `scim_v2`), with
//! Group `displayName` required as the RFC's prose says.

use super::error::{ScimError, ScimResult};
use super::filter::MAX_FILTER_CHARS;
use super::resource::{ENTERPRISE_URN, GROUP_URN, USER_URN};
use serde_json::{json, Value};

/// Most resources one list page returns.
pub const MAX_RESULTS: i64 = 1000;

const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn service_provider_config(base_url: &str) -> Value {
    let _ = MAX_FILTER_CHARS;
    json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://github.com/roster/roster#scim-push",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token generated on the directory's SCIM page, sent as Authorization: Bearer <token>.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig")}
    })
}

fn resource_type(base_url: &str, id: &str) -> Option<Value> {
    let (endpoint, schema, extensions) = match id {
        "User" => (
            "/Users",
            USER_URN,
            json!([{"schema": ENTERPRISE_URN, "required": false}]),
        ),
        "Group" => ("/Groups", GROUP_URN, json!([])),
        _ => return None,
    };
    Some(json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": format!("{id}s of this Roster directory"),
        "schema": schema,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{id}")}
    }))
}

pub fn resource_types(base_url: &str) -> Value {
    let all: Vec<Value> = ["User", "Group"]
        .iter()
        .filter_map(|id| resource_type(base_url, id))
        .collect();
    list(all)
}

pub fn resource_type_by_id(base_url: &str, id: &str) -> ScimResult<Value> {
    resource_type(base_url, id)
        .ok_or_else(|| ScimError::not_found(format!("There is no resource type “{id}”; use User or Group.")))
}

fn schema_docs(base_url: &str) -> ScimResult<Vec<Value>> {
    let schemas = scim_v2::models::scim_schema::get_schemas(vec!["user", "enterprise_user", "group"])
        .map_err(|e| {
            tracing::error!(error = %e, "the built-in SCIM schemas do not load");
            ScimError::internal()
        })?;
    schemas
        .into_iter()
        .map(|schema| {
            let mut doc = serde_json::to_value(&schema).map_err(|_| ScimError::internal())?;
            let id = doc
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("schemas".into(), json!([SCHEMA_URN]));
                obj.insert(
                    "meta".into(),
                    json!({"resourceType": "Schema", "location": format!("{base_url}/Schemas/{id}")}),
                );
            }
            if id == GROUP_URN {
                require_group_display_name(&mut doc);
            }
            Ok(doc)
        })
        .collect()
}

/// RFC 7643 §4.1 calls a group's displayName REQUIRED; its schema listing says otherwise.
fn require_group_display_name(doc: &mut Value) {
    if let Some(attrs) = doc.get_mut("attributes").and_then(Value::as_array_mut) {
        for attr in attrs {
            if attr.get("name").and_then(Value::as_str) == Some("displayName") {
                attr["required"] = Value::Bool(true);
            }
        }
    }
}

pub fn schemas(base_url: &str) -> ScimResult<Value> {
    Ok(list(schema_docs(base_url)?))
}

pub fn schema_by_id(base_url: &str, id: &str) -> ScimResult<Value> {
    schema_docs(base_url)?
        .into_iter()
        .find(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(id))
        })
        .ok_or_else(|| ScimError::not_found(format!("There is no schema “{id}”.")))
}

/// A ListResponse of everything given, on one page.
pub fn list(resources: Vec<Value>) -> Value {
    let n = resources.len();
    json!({
        "schemas": [LIST_URN],
        "totalResults": n,
        "startIndex": 1,
        "itemsPerPage": n,
        "Resources": resources,
    })
}

/// A page of a ListResponse.
pub fn page(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
