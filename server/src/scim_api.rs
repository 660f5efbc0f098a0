//! The SCIM 2.0 front door: `/scim/v2/{directory_id}/…`. It reads the
//! request (token, JSON, query, `If-Match`), calls one function of the
//! core's SCIM service, and writes the answer as `application/scim+json`,
//! errors as RFC 7644 §3.12 Error bodies. Every request is logged for the
//! directory's SCIM page (method, path, status, duration; no bodies).

use crate::{
    domain::scim::{
        discovery,
        error::{ScimError, ScimResult},
        resource, ListParams, ScimClient, ScimService, Written,
    },
    state::AppState,
    store::ScimRequestRow,
};
use axum::{
    body::Bytes,
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

/// Largest SCIM body: a Group PUT with thousands of members fits.
pub const MAX_SCIM_BODY_BYTES: usize = 4 * 1024 * 1024;
const SCIM_JSON: &str = "application/scim+json";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{directory}", any(dispatch_root))
        .route("/{directory}/", any(dispatch_root))
        .route("/{directory}/{*rest}", any(dispatch))
}

async fn dispatch_root(state: State<AppState>, Path(directory): Path<String>, request: Request) -> Response {
    handle(state, directory, String::new(), request).await
}

async fn dispatch(
    state: State<AppState>,
    Path((directory, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    handle(state, directory, rest, request).await
}

async fn handle(
    State(state): State<AppState>,
    directory: String,
    rest: String,
    request: Request,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let logged_path = {
        let uri = request.uri();
        let query = uri.query().map(|q| format!("?{}", decode(q))).unwrap_or_default();
        format!("/{rest}{query}")
    };
    let service = &state.core.scim;
    let (directory_id, authenticated, answer) = match service
        .authenticate(&directory, bearer(request.headers()).as_deref())
        .await
    {
        Ok(client) => {
            let answer = serve(service, &client, &rest, request).await;
            (Some(client.directory_id.to_string()), true, answer)
        }
        Err(e) => {
            let known = crate::model::DirectoryId::parse(&directory)
                .ok()
                .map(|d| d.to_string());
            (known, false, Err(e))
        }
    };
    let response = match answer {
        Ok(response) => response,
        Err(e) => error_response(&e),
    };
    if let Some(directory_id) = directory_id {
        let error = response.extensions().get::<LoggedError>().map(|e| e.0.clone());
        let row = ScimRequestRow {
            directory_id,
            at: crate::store::timestamp_now(),
            method: method.to_string(),
            path: logged_path,
            status: i64::from(response.status().as_u16()),
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            error,
        };
        if authenticated {
            service.log.record(row);
        } else {
            service.log.record_refused(row);
        }
    }
    response
}

/// What an error answer said, for the request log.
#[derive(Clone)]
struct LoggedError(String);

fn decode(query: &str) -> String {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

fn list_params(request: &Request) -> ScimResult<ListParams> {
    let raw: RawQuery = match request.uri().query() {
        None => RawQuery::default(),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ScimError::invalid_value(format!("The query string does not parse: {e}")))?,
    };
    let int = |name: &str, v: Option<String>| -> ScimResult<Option<i64>> {
        v.map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not “{s}”.")))
        })
        .transpose()
    };
    Ok(ListParams {
        filter: raw.filter,
        start_index: int("startIndex", raw.start_index)?,
        count: int("count", raw.count)?,
        attributes: raw.attributes,
        excluded_attributes: raw.excluded_attributes,
    })
}

fn if_match(request: &Request) -> ScimResult<Option<i64>> {
    match request.headers().get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => resource::parse_etag(v.to_str().unwrap_or_default()),
    }
}

async fn json_body(request: Request) -> ScimResult<Value> {
    if let Some(ct) = request.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if essence != SCIM_JSON && essence != "application/json" {
            return Err(ScimError::unsupported_media(format!(
                "Send the body as {SCIM_JSON} (or application/json), not “{essence}”."
            )));
        }
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_SCIM_BODY_BYTES) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(request.into_body(), MAX_SCIM_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(ScimError::invalid_syntax("The request needs a JSON body."));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}")))
}

fn too_large() -> ScimError {
    ScimError::too_large(format!(
        "The body is larger than {} MiB; send fewer members per request.",
        MAX_SCIM_BODY_BYTES / (1024 * 1024)
    ))
}

fn not_allowed(allowed: &str) -> ScimError {
    ScimError::method_not_allowed(format!("Use {allowed} here."))
}

async fn serve(
    service: &ScimService,
    client: &ScimClient,
    rest: &str,
    request: Request,
) -> ScimResult<Response> {
    let method = request.method().clone();
    let segments: Vec<&str> = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let base = &client.base_url;
    match (segments.as_slice(), &method) {
        (["ServiceProviderConfig"], &Method::GET) => Ok(ok(discovery::service_provider_config(base))),
        (["ResourceTypes"], &Method::GET) => Ok(ok(discovery::resource_types(base))),
        (["ResourceTypes", id], &Method::GET) => Ok(ok(discovery::resource_type_by_id(base, id)?)),
        (["Schemas"], &Method::GET) => Ok(ok(discovery::schemas(base)?)),
        (["Schemas", id], &Method::GET) => Ok(ok(discovery::schema_by_id(base, id)?)),
        (["ServiceProviderConfig" | "ResourceTypes" | "Schemas", ..], _) => Err(not_allowed("GET")),

        (["Users"], &Method::GET) => Ok(ok(service.list_users(client, &list_params(&request)?).await?)),
        (["Users"], &Method::POST) => Ok(written(service.create_user(client, &json_body(request).await?).await?)),
        (["Users", ".search"], &Method::POST) => {
            let params = ListParams::from_search(&json_body(request).await?)?;
            Ok(ok(service.list_users(client, &params).await?))
        }
        (["Users"], _) => Err(not_allowed("GET or POST")),
        (["Users", id], &Method::GET) => Ok(written(service.get_user(client, id, &list_params(&request)?).await?)),
        (["Users", id], &Method::PUT) => {
            let expected = if_match(&request)?;
            let body = json_body(request).await?;
            Ok(written(service.replace_user(client, id, &body, expected).await?))
        }
        (["Users", id], &Method::PATCH) => {
            let expected = if_match(&request)?;
            let body = json_body(request).await?;
            Ok(written(service.patch_user(client, id, &body, expected).await?))
        }
        (["Users", id], &Method::DELETE) => {
            service.delete_user(client, id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (["Users", _], _) => Err(not_allowed("GET, PUT, PATCH or DELETE")),

        (["Groups"], &Method::GET) => Ok(ok(service.list_groups(client, &list_params(&request)?).await?)),
        (["Groups"], &Method::POST) => Ok(written(service.create_group(client, &json_body(request).await?).await?)),
        (["Groups", ".search"], &Method::POST) => {
            let params = ListParams::from_search(&json_body(request).await?)?;
            Ok(ok(service.list_groups(client, &params).await?))
        }
        (["Groups"], _) => Err(not_allowed("GET or POST")),
        (["Groups", id], &Method::GET) => Ok(written(service.get_group(client, id, &list_params(&request)?).await?)),
        (["Groups", id], &Method::PUT) => {
            let expected = if_match(&request)?;
            let body = json_body(request).await?;
            Ok(written(service.replace_group(client, id, &body, expected).await?))
        }
        (["Groups", id], &Method::PATCH) => {
            let expected = if_match(&request)?;
            let body = json_body(request).await?;
            match service.patch_group(client, id, &body, expected).await? {
                Some(w) => Ok(written(w)),
                None => Ok(StatusCode::NO_CONTENT.into_response()),
            }
        }
        (["Groups", id], &Method::DELETE) => {
            service.delete_group(client, id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (["Groups", _], _) => Err(not_allowed("GET, PUT, PATCH or DELETE")),

        ([".search"], &Method::POST) => {
            let params = ListParams::from_search(&json_body(request).await?)?;
            Ok(ok(service.search_all(client, &params).await?))
        }
        ([".search"], _) => Err(not_allowed("POST")),
        ([], _) => Err(ScimError::not_found(
            "This is the SCIM base URL; Okta calls /Users and /Groups below it.",
        )),
        _ => Err(ScimError::not_found(format!(
            "There is no SCIM endpoint “/{}”; use /Users, /Groups, /ServiceProviderConfig, /ResourceTypes or /Schemas.",
            rest.chars().take(80).collect::<String>()
        ))),
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn ok(body: Value) -> Response {
    scim_json(StatusCode::OK, &body)
}

fn written(w: Written) -> Response {
    let status = if w.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = scim_json(status, &w.resource);
    if let Ok(etag) = HeaderValue::from_str(&resource::etag(w.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if w.created {
        if let Ok(location) = HeaderValue::from_str(&w.location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

fn error_response(e: &ScimError) -> Response {
    let mut body = json!({
        "schemas": [ERROR_URN],
        "status": e.status.to_string(),
        "detail": e.detail,
    });
    if let Some(t) = e.scim_type {
        body["scimType"] = Value::String(t.to_owned());
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = scim_json(status, &body);
    if e.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"roster-scim\""),
        );
    }
    let logged = match e.scim_type {
        Some(t) => format!("{t}: {}", e.detail),
        None => e.detail.clone(),
    };
    response.extensions_mut().insert(LoggedError(logged));
    response
}
