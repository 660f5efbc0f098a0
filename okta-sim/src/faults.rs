//! Fault injection: scripted 500/503s, slow responses and connections dropped mid-body.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::errors::OktaError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    #[serde(alias = "Status500", alias = "500")]
    Status500,
    #[serde(alias = "Status503", alias = "503")]
    Status503,
    /// Delays the response by `ms` without blocking other requests.
    #[serde(alias = "Slow")]
    Slow { ms: u64 },
    /// Sends the real status, headers and part of the body, then closes the connection.
    #[serde(alias = "DropConnection")]
    DropConnection,
}

/// Applies `kind` to the next `count` requests whose path starts with `path_prefix`, after letting
/// `after` matching requests through untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub path_prefix: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub after: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<(FaultRule, u32 /* skipped */, u32 /* applied */)>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        if rule.count > 0 {
            self.rules.push((rule, 0, 0));
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(r, _, _)| r.clone()).collect()
    }

    /// The fault to apply to this request, if any. Every matching rule counts the request.
    pub fn next(&mut self, path: &str) -> Option<FaultKind> {
        let mut chosen = None;
        for (rule, skipped, applied) in self.rules.iter_mut() {
            if !path.starts_with(&rule.path_prefix) {
                continue;
            }
            if *skipped < rule.after {
                *skipped += 1;
            } else if chosen.is_none() {
                *applied += 1;
                chosen = Some(rule.kind.clone());
            }
        }
        self.rules.retain(|(rule, _, applied)| *applied < rule.count);
        chosen
    }
}

pub(crate) fn error_response(kind: &FaultKind) -> Option<Response> {
    use axum::response::IntoResponse;
    match kind {
        FaultKind::Status500 => Some(
            OktaError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "E0000009",
                "Internal Server Error",
            )
            .into_response(),
        ),
        FaultKind::Status503 => Some(
            OktaError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "E0000010",
                "Service is temporarily unavailable",
            )
            .into_response(),
        ),
        FaultKind::Slow { .. } | FaultKind::DropConnection => None,
    }
}

pub(crate) fn slow_delay(kind: &FaultKind) -> Option<Duration> {
    match kind {
        FaultKind::Slow { ms } => Some(Duration::from_millis(*ms)),
        _ => None,
    }
}

/// Re-sends `resp` with only the first half of its body, then fails the body stream, which makes
/// hyper abort the connection after the client has seen the status and headers.
pub(crate) async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let head = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let head = head.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(head), 1)),
                1 => {
                    // Give hyper a moment to flush the head before the failure closes the socket.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::other("okta-sim: injected connection drop")),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_skip_then_apply_count_times() {
        let mut f = Faults::default();
        f.add(FaultRule {
            path_prefix: "/api/v1/groups".into(),
            kind: FaultKind::Status500,
            count: 2,
            after: 1,
        });
        assert_eq!(f.next("/api/v1/users"), None);
        assert_eq!(f.next("/api/v1/groups"), None);
        assert_eq!(f.next("/api/v1/groups/00g/users"), Some(FaultKind::Status500));
        assert_eq!(f.next("/api/v1/groups"), Some(FaultKind::Status500));
        assert_eq!(f.next("/api/v1/groups"), None);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn rule_json_shape() {
        let r: FaultRule =
            serde_json::from_str(r#"{"path_prefix":"/api","kind":"slow","ms":50}"#).expect("parses");
        assert_eq!(r.kind, FaultKind::Slow { ms: 50 });
        assert_eq!((r.count, r.after), (1, 0));
    }
}
