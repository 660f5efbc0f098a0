//! Start-up configuration.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::errors::SimError;

/// What org to seed and where to listen.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Same seed, same org (ids, names, statuses, memberships, assignments).
    pub seed: u64,
    pub users: usize,
    pub groups: usize,
    /// Target number of (group, user) memberships; capped at `users * groups`.
    pub memberships: usize,
    /// Port 0 picks a free port; see `RunningSim::base_url`.
    pub listen: SocketAddr,
    pub rate_limit: RateLimitConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            users: 50,
            groups: 10,
            memberships: 150,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            // Generous so ordinary tests never trip it; rate-limit tests lower it.
            rate_limit: RateLimitConfig {
                per_minute_default: 100_000,
                window: Duration::from_secs(60),
            },
        }
    }
}

impl SimConfig {
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        self.rate_limit.validate()?;
        if self.users > 5_000_000 || self.groups > 1_000_000 {
            return Err(SimError::Config("org too large for the simulator".into()));
        }
        Ok(())
    }
}

/// Fixed-window rate limits, one window per endpoint family (bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Requests allowed per bucket per window (the name reflects Okta's per-minute limits).
    pub per_minute_default: u32,
    /// Window length; 60 s like Okta, tests shrink it.
    pub window: Duration,
}

impl Default for RateLimitConfig {
    /// Okta-like: 600 requests per minute per endpoint family.
    fn default() -> Self {
        RateLimitConfig {
            per_minute_default: 600,
            window: Duration::from_secs(60),
        }
    }
}

impl RateLimitConfig {
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        if self.per_minute_default == 0 {
            return Err(SimError::Config(
                "rate limit must be at least 1 request per window".into(),
            ));
        }
        if self.window.as_millis() == 0 {
            return Err(SimError::Config("rate-limit window must be at least 1 ms".into()));
        }
        Ok(())
    }
}
