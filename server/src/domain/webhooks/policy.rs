//! How hard Roster tries: exponential backoff with jitter between attempts,
//! and when an endpoint that keeps failing is disabled. The defaults retry
//! for more than a day (10 s doubling to an hour) and disable only after
//! ten failures in a row spanning at least 24 hours.

use ipnet::IpNet;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Private networks webhooks may target (the operator's choice).
    pub allowed_networks: Vec<IpNet>,
    /// The first retry waits about this long…
    pub retry_base: Duration,
    /// …doubling up to this.
    pub retry_cap: Duration,
    /// Disabled after this many consecutive failures…
    pub disable_after_failures: i64,
    /// …once it has been failing at least this long.
    pub disable_after: time::Duration,
    /// Events per request, at most.
    pub batch_size: i64,
    /// A receiver must answer within this.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            allowed_networks: Vec::new(),
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(3_600),
            disable_after_failures: 10,
            disable_after: time::Duration::hours(24),
            batch_size: 100,
            timeout: Duration::from_secs(10),
        }
    }
}

impl DeliveryPolicy {
    /// The wait after the `failures`-th consecutive failure (1-based):
    /// base·2^(failures−1), capped, then between half and all of it
    /// (`jitter` in 0..1), so endpoints that failed together do not retry
    /// together.
    pub fn retry_delay(&self, failures: i64, jitter: f64) -> Duration {
        let exponent = failures.clamp(1, 32) as u32 - 1;
        let full = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.retry_cap);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Whether an endpoint that has now failed `failures` times in a row,
    /// since `failing_for`, is disabled.
    pub fn should_disable(&self, failures: i64, failing_for: time::Duration) -> bool {
        failures >= self.disable_after_failures && failing_for >= self.disable_after
    }

    /// How long one process holds an endpoint while it delivers a batch:
    /// past the request timeout, so a lease never lapses mid-request.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_with_jitter_and_retries_for_over_a_day() {
        let policy = DeliveryPolicy::default();
        assert_eq!(policy.retry_delay(1, 1.0), Duration::from_secs(10));
        assert_eq!(policy.retry_delay(1, 0.0), Duration::from_secs(5));
        assert_eq!(policy.retry_delay(3, 1.0), Duration::from_secs(40));
        assert_eq!(policy.retry_delay(30, 1.0), Duration::from_secs(3_600));
        // The shortest possible schedule (all jitter 0) up to the disabling
        // failure still spans 24 hours, since disabling also needs the time.
        assert!(!policy.should_disable(9, time::Duration::hours(30)));
        assert!(!policy.should_disable(10, time::Duration::hours(2)));
        assert!(policy.should_disable(10, time::Duration::hours(24)));
    }
}
