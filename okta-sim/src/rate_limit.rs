//! Fixed-window rate limiting per endpoint family, with Okta's `X-Rate-Limit-*` headers.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue};

use crate::config::RateLimitConfig;

/// Endpoint families that Okta rate-limits separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Bucket {
    Token,
    Apps,
    Users,
    Groups,
    Logs,
    Other,
}

impl Bucket {
    pub fn for_path(path: &str) -> Bucket {
        let family = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if family("/oauth2/v1/token") {
            Bucket::Token
        } else if family("/api/v1/apps") {
            Bucket::Apps
        } else if family("/api/v1/users") {
            Bucket::Users
        } else if family("/api/v1/groups") {
            Bucket::Groups
        } else if family("/api/v1/logs") {
            Bucket::Logs
        } else {
            Bucket::Other
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Bucket::Token => "token",
            Bucket::Apps => "apps",
            Bucket::Users => "users",
            Bucket::Groups => "groups",
            Bucket::Logs => "logs",
            Bucket::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<Bucket> {
        [
            Bucket::Token,
            Bucket::Apps,
            Bucket::Users,
            Bucket::Groups,
            Bucket::Logs,
            Bucket::Other,
        ]
        .into_iter()
        .find(|b| b.name() == name)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Epoch second at or after the end of the current window.
    pub reset: i64,
}

impl Decision {
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert("X-Rate-Limit-Limit", HeaderValue::from(self.limit));
        headers.insert("X-Rate-Limit-Remaining", HeaderValue::from(self.remaining));
        headers.insert("X-Rate-Limit-Reset", HeaderValue::from(self.reset));
    }
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    overrides: HashMap<Bucket, u32>,
    /// Per bucket: (window start in ms, requests counted in that window).
    windows: HashMap<Bucket, (i64, u32)>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            overrides: HashMap::new(),
            windows: HashMap::new(),
        }
    }

    /// Replaces the default limit and window and forgets counts and per-bucket overrides.
    pub fn reconfigure(&mut self, config: RateLimitConfig) {
        *self = RateLimiter::new(config);
    }

    pub fn set_bucket_limit(&mut self, bucket: Bucket, limit: u32) {
        self.overrides.insert(bucket, limit.max(1));
        self.windows.remove(&bucket);
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Counts one request (allowed or not) and decides whether it is within the limit.
    pub fn check(&mut self, bucket: Bucket, now_ms: i64) -> Decision {
        let window_ms = i64::try_from(self.config.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let limit = self
            .overrides
            .get(&bucket)
            .copied()
            .unwrap_or(self.config.per_minute_default);
        // Windows are aligned to multiples of their length, like a wall-clock minute.
        let start = now_ms - now_ms.rem_euclid(window_ms);
        let entry = self.windows.entry(bucket).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let used = entry.1;
        let end_ms = start.saturating_add(window_ms);
        Decision {
            allowed: used <= limit,
            limit,
            remaining: limit.saturating_sub(used),
            // Round up so clients that sleep until `reset` never wake inside the old window.
            reset: (end_ms + 999).div_euclid(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fixed_windows_reset() {
        let mut rl = RateLimiter::new(RateLimitConfig {
            per_minute_default: 2,
            window: Duration::from_millis(500),
        });
        let t = 1_000_000_000_100;
        assert!(rl.check(Bucket::Users, t).allowed);
        let d = rl.check(Bucket::Users, t + 10);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!rl.check(Bucket::Users, t + 20).allowed);
        assert!(
            rl.check(Bucket::Groups, t + 20).allowed,
            "buckets are independent"
        );
        assert_eq!(d.reset, 1_000_000_001);
        assert!(rl.check(Bucket::Users, t + 400).allowed, "next window");
    }

    #[test]
    fn buckets_by_path() {
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/users"), Bucket::Users);
        assert_eq!(Bucket::for_path("/api/v1/groups/00g/users"), Bucket::Groups);
        assert_eq!(Bucket::for_path("/oauth2/v1/token"), Bucket::Token);
        assert_eq!(Bucket::for_path("/api/v1/usersx"), Bucket::Other);
    }
}
