//! Okta paginates with `Link: <url>; rel="next"` headers (one header per link,
//! or several links in one header).

use reqwest::header::HeaderMap;

pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_links)
        .find(|(_, params)| {
            params.split(';').any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            })
        })
        .map(|(url, _)| url.to_owned())
}

/// Splits `<a>; rel="self", <b>; rel="next"` into (url, params) pairs.
fn split_links(value: &str) -> Vec<(&str, &str)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else { break };
        let url = &rest[start + 1..start + end];
        let after = &rest[start + end + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        links.push((url, after[..params_end].trim_end_matches([',', ' '])));
        rest = &after[params_end..];
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_in_separate_or_combined_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            "link",
            r#"<https://a.okta.com/api/v1/users?limit=2>; rel="self""#
                .parse()
                .unwrap(),
        );
        headers.append(
            "link",
            r#"<https://a.okta.com/api/v1/users?after=00u2&limit=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://a.okta.com/api/v1/users?after=00u2&limit=2")
        );

        let mut combined = HeaderMap::new();
        combined.insert(
            "link",
            r#"<https://x/self>; rel="self", <https://x/next?a=1>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&combined).as_deref(), Some("https://x/next?a=1"));

        let mut last = HeaderMap::new();
        last.insert("link", r#"<https://x/self>; rel="self""#.parse().unwrap());
        assert_eq!(next_link(&last), None);
    }
}
