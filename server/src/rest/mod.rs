//! The REST API (`/api/v1`): JSON resources over the core, API-token
//! authentication, RFC 9457 problems, and an OpenAPI 3.1 document generated
//! from these handlers (`/api/v1/openapi.json`). Handlers parse, call one
//! domain function and serialise the domain's read models.

mod access;
mod auth;
mod directories;
mod events;
mod log_polling;
mod notifications;
mod okta_hooks;
mod problem;
mod records;
mod scim;
mod tokens;
mod webhooks;

pub use problem::{status_of, Problem};

use crate::state::AppState;
use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
    routing::get,
    Json, Router,
};
use serde::de::DeserializeOwned;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster API",
        description = "Directories synced from Okta, their runs, users, groups and memberships. \
                       Authenticate with `Authorization: Bearer <API token>`; errors are RFC 9457 problems.",
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "directories", description = "Set-up and settings of Okta directories"),
        (name = "sync", description = "Sync Now, runs and held changes"),
        (name = "identities", description = "Users, groups and memberships (present records only)"),
        (name = "tokens", description = "API tokens"),
        (name = "access", description = "Okta sign-in settings and the audit log"),
        (name = "scim", description = "SCIM push set-up: on/off, tokens, the request log, SCIM-only directories"),
        (name = "events", description = "The event log: every change, in commit order, behind a cursor"),
        (name = "webhooks", description = "Endpoints sent the event log: signed, in order, at least once"),
        (name = "notifications", description = "Problems that need an admin, and the e-mail that tells them"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`roster_…`) from Settings → API tokens or the CLI.",
                    ))
                    .build(),
            ),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "api_token",
            Vec::<String>::new(),
        )]);
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(directories::list, directories::create_draft))
        .routes(routes!(directories::drafts))
        .routes(routes!(directories::get, directories::delete))
        .routes(routes!(directories::set_connection))
        .routes(routes!(directories::verify))
        .routes(routes!(directories::preview))
        .routes(routes!(directories::create))
        .routes(routes!(directories::settings))
        .routes(routes!(directories::pause))
        .routes(routes!(directories::resume))
        .routes(routes!(directories::sync_now))
        .routes(routes!(directories::rotate_key))
        .routes(routes!(okta_hooks::get, okta_hooks::create))
        .routes(routes!(log_polling::get, log_polling::put))
        .routes(routes!(records::runs))
        .routes(routes!(records::run))
        .routes(routes!(records::apply_pending))
        .routes(routes!(records::discard_pending))
        .routes(routes!(records::users))
        .routes(routes!(records::user))
        .routes(routes!(records::groups))
        .routes(routes!(records::group))
        .routes(routes!(records::members))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(access::get, access::put, access::delete))
        .routes(routes!(access::audit))
        .routes(routes!(scim::get, scim::put))
        .routes(routes!(scim::create_token))
        .routes(routes!(scim::revoke_token))
        .routes(routes!(scim::requests))
        .routes(routes!(scim::create_push_directory))
        .routes(routes!(events::list))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::put, webhooks::delete))
        .routes(routes!(webhooks::enable))
        .routes(routes!(webhooks::disable))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::replay))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(notifications::status))
        .routes(routes!(notifications::test))
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// `/api/v1`: every resource behind an API token; the document is public.
pub fn router(state: AppState) -> Router<AppState> {
    let (routes, doc) = api().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    routes
        .layer(axum::middleware::from_fn_with_state(state, auth::require_token))
        .route(
            "/openapi.json",
            get(move || {
                let doc = std::sync::Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such API route; the routes are listed in /api/v1/openapi.json.",
            )
        })
}

/// A path parameter; one that does not parse (a malformed id) names nothing.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| Problem::new(StatusCode::NOT_FOUND, "not_found", e.body_text()))
    }
}

/// Query parameters, with a problem naming the bad one.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| problem::rejection(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))
    }
}

/// A JSON body; an empty body reads as `{}` (so optional-only bodies may be left out).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| problem::rejection(e.status(), e.body_text()))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text).map(Body).map_err(|e| {
            problem::rejection(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The JSON body is not valid: {e}."),
            )
        })
    }
}
