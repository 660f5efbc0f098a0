//! Keyset paging shared by every list: an opaque cursor naming the last row
//! seen (its sort key and id), and a page with the cursor of the next one.

use super::{DomainError, DomainResult};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Serialize;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Where a page starts and how long it is; built by [`PageRequest::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<(String, String)>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// `limit` 1–200 (default 50); `after` a cursor from a previous page.
    pub fn parse(limit: Option<u32>, after: Option<&str>) -> DomainResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}."
            )));
        }
        let after = after.filter(|a| !a.is_empty()).map(decode_cursor).transpose()?;
        Ok(Self { limit, after })
    }

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    pub(crate) fn after_ref(&self) -> Option<(&str, &str)> {
        self.after.as_ref().map(|(k, id)| (k.as_str(), id.as_str()))
    }

    /// One more row than shown, to know whether a next page exists.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Rows matching the filters, across all pages.
    pub total: i64,
    /// The cursor of the next page; absent on the last one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Cuts the extra row off a `fetch_limit` query and makes the next cursor.
    pub(crate) fn from_rows<R>(
        mut rows: Vec<R>,
        request: &PageRequest,
        total: i64,
        key: impl Fn(&R) -> (&str, &str),
        convert: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() > request.limit as usize;
        rows.truncate(request.limit as usize);
        let next = if more {
            rows.last().map(&key).map(|(k, id)| encode_cursor(k, id))
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(convert).collect(),
            total,
            next,
        }
    }
}

pub fn encode_cursor(key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{key}\u{0}{id}"))
}

fn decode_cursor(cursor: &str) -> DomainResult<(String, String)> {
    let bad = || DomainError::invalid("The page cursor is not valid; start again from the first page.");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (key, id) = text.split_once('\u{0}').ok_or_else(bad)?;
    Ok((key.to_owned(), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let cursor = encode_cursor("Ada Lovelace", "00u1");
        let request = PageRequest::parse(Some(10), Some(&cursor)).unwrap();
        assert_eq!(request.after_ref(), Some(("Ada Lovelace", "00u1")));
        assert!(PageRequest::parse(None, Some("%%%")).is_err());
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(201), None).is_err());
    }

    #[test]
    fn a_page_knows_whether_another_follows() {
        let request = PageRequest::first(2);
        let rows = vec![("a", "1"), ("b", "2"), ("c", "3")];
        let page = Page::from_rows(rows, &request, 3, |r| (r.0, r.1), |r| r.0.to_owned());
        assert_eq!(page.items, vec!["a", "b"]);
        assert_eq!(page.next, Some(encode_cursor("b", "2")));
        let last = Page::from_rows(vec![("c", "3")], &request, 3, |r| (r.0, r.1), |r| r);
        assert_eq!(last.next, None);
    }
}
