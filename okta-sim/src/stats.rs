//! Request counters for tests and the demo (admin endpoints are not counted).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rate_limit::Bucket;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BucketStats {
    pub requests: u64,
    pub rate_limited: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub total_requests: u64,
    /// Keyed by bucket name: `token`, `apps`, `users`, `groups`, `other`.
    pub buckets: BTreeMap<String, BucketStats>,
    /// Keyed by method and normalised path, e.g. `GET /api/v1/apps/{id}/users`.
    pub paths: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    snapshot: StatsSnapshot,
}

impl Stats {
    pub fn record(&mut self, bucket: Bucket, method: &str, path: &str) {
        self.snapshot.total_requests += 1;
        self.snapshot
            .buckets
            .entry(bucket.name().to_owned())
            .or_default()
            .requests += 1;
        *self
            .snapshot
            .paths
            .entry(format!("{method} {}", path_family(path)))
            .or_default() += 1;
    }

    pub fn record_rate_limited(&mut self, bucket: Bucket) {
        self.snapshot
            .buckets
            .entry(bucket.name().to_owned())
            .or_default()
            .rate_limited += 1;
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        self.snapshot.clone()
    }

    pub fn reset(&mut self) {
        self.snapshot = StatsSnapshot::default();
    }
}

/// Replaces id-like path segments with `{id}` so counts group by endpoint.
fn path_family(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let id_like = seg.len() >= 15 && seg.chars().all(|c| c.is_ascii_alphanumeric());
            if id_like {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_hide_ids() {
        assert_eq!(
            path_family("/api/v1/apps/0oaRosterSsoClient01/users"),
            "/api/v1/apps/{id}/users"
        );
        assert_eq!(path_family("/api/v1/users"), "/api/v1/users");
    }
}
