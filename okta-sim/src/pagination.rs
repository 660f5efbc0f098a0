//! Okta cursor pagination: `limit`/`after` parsing, id-ordered pages and `Link` headers.

use std::collections::HashMap;

use axum::http::HeaderValue;

use crate::errors::OktaError;
use crate::util::{b64url, b64url_decode};

/// Page size bounds of one endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub default: usize,
    pub max: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    pub limit: usize,
    /// Decoded cursor: the id after which this page starts.
    pub after: Option<String>,
    /// The cursor exactly as the client sent it (echoed in the `self` link).
    pub raw_after: Option<String>,
}

/// Cursors are opaque to clients; internally they are the base64url of the last id returned.
pub(crate) fn encode_cursor(id: &str) -> String {
    b64url(id)
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = b64url_decode(cursor)?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

pub(crate) fn parse(query: &HashMap<String, String>, limits: Limits) -> Result<PageRequest, OktaError> {
    let limit = match query.get("limit") {
        None => limits.default,
        Some(raw) => {
            let n: i64 = raw
                .trim()
                .parse()
                .map_err(|_| OktaError::validation("limit", "must be an integer"))?;
            if n < 1 {
                return Err(OktaError::validation("limit", "must be greater than 0"));
            }
            // Okta silently clamps oversized pages to the endpoint's maximum.
            usize::try_from(n).unwrap_or(usize::MAX).min(limits.max)
        }
    };
    let (after, raw_after) = match query.get("after").filter(|a| !a.is_empty()) {
        None => (None, None),
        Some(raw) => {
            let id = decode_cursor(raw).ok_or_else(|| OktaError::validation("after", "invalid cursor"))?;
            (Some(id), Some(raw.clone()))
        }
    };
    Ok(PageRequest {
        limit,
        after,
        raw_after,
    })
}

/// Takes up to `limit` items and reports whether more remain.
pub(crate) fn take_page<T>(mut items: impl Iterator<Item = T>, limit: usize) -> (Vec<T>, bool) {
    let page: Vec<T> = items.by_ref().take(limit).collect();
    let more = page.len() == limit && items.next().is_some();
    (page, more)
}

/// `Link` headers as Okta sends them: a `self` link and, unless this is the last page, a `next`.
pub(crate) fn link_headers(
    base: &str,
    path: &str,
    req: &PageRequest,
    next_after_id: Option<&str>,
    extra: &[(&str, &str)],
) -> Vec<HeaderValue> {
    let build = |after: Option<&str>, rel: &str| {
        let mut params = Vec::new();
        if let Some(a) = after {
            params.push(format!("after={a}"));
        }
        params.push(format!("limit={}", req.limit));
        params.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
        let link = format!("<{base}{path}?{}>; rel=\"{rel}\"", params.join("&"));
        HeaderValue::from_str(&link).ok()
    };
    let mut links: Vec<HeaderValue> = build(req.raw_after.as_deref(), "self").into_iter().collect();
    if let Some(id) = next_after_id {
        links.extend(build(Some(&encode_cursor(id)), "next"));
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const L: Limits = Limits {
        default: 50,
        max: 500,
    };

    #[test]
    fn clamps_and_rejects_limits() {
        assert_eq!(parse(&q(&[]), L).map(|p| p.limit).ok(), Some(50));
        assert_eq!(
            parse(&q(&[("limit", "9999")]), L).map(|p| p.limit).ok(),
            Some(500)
        );
        assert!(parse(&q(&[("limit", "0")]), L).is_err());
        assert!(parse(&q(&[("limit", "abc")]), L).is_err());
        assert!(parse(&q(&[("after", "!!")]), L).is_err());
    }

    #[test]
    fn cursor_round_trips() {
        let c = encode_cursor("00uABC");
        let p = parse(&q(&[("after", &c)]), L).expect("valid cursor");
        assert_eq!(p.after.as_deref(), Some("00uABC"));
    }

    #[test]
    fn link_format_matches_okta() {
        let req = PageRequest {
            limit: 500,
            after: None,
            raw_after: None,
        };
        let links = link_headers(
            "http://h",
            "/api/v1/apps/0oa1/users",
            &req,
            Some("00u9"),
            &[("expand", "user")],
        );
        let c = encode_cursor("00u9");
        assert_eq!(
            links[0],
            "<http://h/api/v1/apps/0oa1/users?limit=500&expand=user>; rel=\"self\""
        );
        assert_eq!(
            links[1],
            format!("<http://h/api/v1/apps/0oa1/users?after={c}&limit=500&expand=user>; rel=\"next\"")
        );
    }

    #[test]
    fn take_page_detects_more() {
        assert_eq!(take_page(0..5, 5), ((0..5).collect::<Vec<_>>(), false));
        assert_eq!(take_page(0..6, 5), ((0..5).collect::<Vec<_>>(), true));
    }
}
