//! A small client of Roster's REST API: bearer token, JSON in and out, and
//! problems turned into CLI errors carrying the server's message and hint.

use super::error::{exit_code, CliError};
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Deserialize)]
struct ProblemBody {
    detail: Option<String>,
    title: Option<String>,
    kind: Option<String>,
    hint: Option<String>,
}

impl Client {
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, CliError> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            CliError::usage("No API token.").with_hint(
                "Set ROSTER_TOKEN (or pass --token). Create one under Settings → API tokens, \
                 or on the server with `roster admin create-token --name cli --scope read-write`.",
            )
        })?;
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::usage(format!(
                "ROSTER_URL “{url}” is not an http(s) URL, e.g. https://roster.example.com."
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .user_agent(concat!("roster-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::failed(format!("cannot create an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: format!("{base}/api/v1"),
            token: token.to_owned(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), CliError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            CliError::failed(format!(
                "cannot reach Roster at {}: {e}",
                self.base.trim_end_matches("/api/v1")
            ))
            .with_hint("Check ROSTER_URL (or --url) and that the server is running.")
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CliError::failed(format!("the response was cut off: {e}")))?
            .to_vec();
        if status.is_success() {
            return Ok((status, bytes));
        }
        let problem: Option<ProblemBody> = serde_json::from_slice(&bytes).ok();
        let (message, kind, hint) = match problem {
            Some(p) => (
                p.detail.or(p.title).unwrap_or_else(|| status.to_string()),
                p.kind.unwrap_or_default(),
                p.hint,
            ),
            None => (format!("the server answered {status}"), String::new(), None),
        };
        Err(CliError {
            message,
            hint,
            exit: exit_code(&kind),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        let (_, bytes) = self.send(Method::GET, path, None).await?;
        decode(&bytes)
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, CliError> {
        let (_, bytes) = self.send(Method::POST, path, Some(body)).await?;
        decode(&bytes)
    }

    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, CliError> {
        let (_, bytes) = self.send(Method::PUT, path, Some(body)).await?;
        decode(&bytes)
    }

    /// For endpoints that answer 204.
    pub async fn call(&self, method: Method, path: &str) -> Result<(), CliError> {
        self.send(method, path, None).await.map(|_| ())
    }

    /// Follows `next` cursors until the end or `limit` items.
    pub async fn all_pages(&self, path: &str, limit: Option<usize>) -> Result<Vec<Value>, CliError> {
        let mut items = Vec::new();
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut after: Option<String> = None;
        loop {
            let page_path = match &after {
                Some(cursor) => format!("{path}{separator}limit=200&after={cursor}"),
                None => format!("{path}{separator}limit=200"),
            };
            let page: Value = self.get(&page_path).await?;
            if let Some(list) = page.get("items").and_then(Value::as_array) {
                items.extend(list.iter().cloned());
            }
            if limit.is_some_and(|l| items.len() >= l) {
                items.truncate(limit.unwrap_or(usize::MAX));
                return Ok(items);
            }
            match page.get("next").and_then(Value::as_str) {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CliError> {
    let bytes = if bytes.is_empty() {
        b"null".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| CliError::failed(format!("unexpected answer from the server: {e}")))
}

pub use crate::web::encode_query_value as encode;
