//! Client-side pacing against Okta's rate-limit buckets. Every response says
//! how much of its bucket is left (`X-Rate-Limit-*`); Roster spends at most
//! `share` of each bucket per window, so it normally never sees a 429 and
//! leaves the rest for the org's other integrations.

use reqwest::header::HeaderMap;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// What one response said about its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the bucket refills.
    pub reset: u64,
}

impl RateLimitHeaders {
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        Some(Self {
            limit: u32::try_from(number("x-rate-limit-limit")?).ok()?,
            remaining: u32::try_from(number("x-rate-limit-remaining")?).ok()?,
            reset: number("x-rate-limit-reset")?,
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    limit: u32,
    remaining: u32,
    /// When the current window ends (from headers, or rolled forward by `window`).
    reset: u64,
    /// The latest reset any response reported.
    header_reset: u64,
    /// Window length learned from successive resets; 0 until known.
    window: u64,
    in_flight: u32,
    /// Priority requests waiting for a slot: the others let them go first.
    priority_waiting: u32,
}

/// Okta groups endpoints into buckets by path family; the first three path
/// segments name them well enough (`/api/v1/users`, `/oauth2/v1/token` …).
pub fn bucket_of(url: &str) -> String {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.split('/')
        .filter(|s| !s.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join("/")
}

fn now_epoch_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

pub struct Pacer {
    share: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A reserved slot in a bucket; released when dropped.
pub struct Permit {
    pacer: Arc<Pacer>,
    bucket: String,
    /// How long acquiring it waited.
    pub waited: Duration,
}

/// Marks a priority request waiting on a bucket for as long as it waits.
struct PriorityWaiting {
    pacer: Arc<Pacer>,
    bucket: String,
}

impl PriorityWaiting {
    fn new(pacer: &Arc<Pacer>, bucket: &str) -> Self {
        if let Ok(mut buckets) = pacer.buckets.lock() {
            buckets.entry(bucket.to_owned()).or_default().priority_waiting += 1;
        }
        Self {
            pacer: Arc::clone(pacer),
            bucket: bucket.to_owned(),
        }
    }
}

impl Drop for PriorityWaiting {
    fn drop(&mut self) {
        if let Ok(mut buckets) = self.pacer.buckets.lock() {
            if let Some(b) = buckets.get_mut(&self.bucket) {
                b.priority_waiting = b.priority_waiting.saturating_sub(1);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut buckets) = self.pacer.buckets.lock() {
            if let Some(b) = buckets.get_mut(&self.bucket) {
                b.in_flight = b.in_flight.saturating_sub(1);
            }
        }
    }
}

impl Pacer {
    /// `share` in (0, 1]: the fraction of each bucket Roster may use.
    pub fn new(share: f64) -> Arc<Self> {
        Arc::new(Self {
            share: share.clamp(0.01, 1.0),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Waits until sending one more request keeps the bucket within its share.
    pub async fn acquire(self: &Arc<Self>, bucket: &str) -> Permit {
        self.acquire_as(bucket, false).await
    }

    /// The same; a `priority` request (a targeted refresh) takes the next
    /// free slot before any other request waiting for the bucket (a full
    /// sync's member pages).
    pub async fn acquire_as(self: &Arc<Self>, bucket: &str, priority: bool) -> Permit {
        let _waiting = priority.then(|| PriorityWaiting::new(self, bucket));
        let mut waited = Duration::ZERO;
        loop {
            let wait = self.try_reserve(bucket, priority);
            match wait {
                None => {
                    return Permit {
                        pacer: Arc::clone(self),
                        bucket: bucket.to_owned(),
                        waited,
                    }
                }
                Some(duration) => {
                    tokio::time::sleep(duration).await;
                    waited += duration;
                }
            }
        }
    }

    /// Reserves a slot, or says how long to wait before asking again.
    fn try_reserve(&self, bucket: &str, priority: bool) -> Option<Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return None;
        };
        let now = now_epoch_secs_f64();
        let b = buckets.entry(bucket.to_owned()).or_default();
        if !priority && b.priority_waiting > 0 {
            return Some(Duration::from_millis(10));
        }
        if b.limit == 0 {
            // Unknown bucket: one request at a time until a response tells us its size.
            if b.in_flight == 0 {
                b.in_flight += 1;
                return None;
            }
            return Some(Duration::from_millis(20));
        }
        if now >= b.reset as f64 {
            // A new window: roll the reset forward by the learned window length
            // (1 s until known; a response from the real window corrects it).
            let step = b.window.max(1);
            while b.reset as f64 <= now {
                b.reset += step;
            }
            b.remaining = b.limit;
        }
        let allowed = ((f64::from(b.limit) * self.share).floor() as u32).max(1);
        let used = b.limit.saturating_sub(b.remaining) + b.in_flight;
        if used < allowed {
            b.in_flight += 1;
            return None;
        }
        // Small jitter so concurrent waiters do not stampede at the reset second.
        let jitter = Duration::from_millis(u64::from(rand::random::<u8>() % 50) + 10);
        Some(Duration::from_secs_f64((b.reset as f64 - now).max(0.0)) + jitter)
    }

    /// Records what a response said. Within one window `remaining` only goes
    /// down, so out-of-order responses keep the lowest figure.
    pub fn record(&self, bucket: &str, seen: RateLimitHeaders) {
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        if let Some(b) = buckets.get_mut(bucket) {
            if b.header_reset > 0 && seen.reset > b.header_reset {
                let learned = seen.reset - b.header_reset;
                b.window = if b.window == 0 {
                    learned
                } else {
                    b.window.min(learned)
                };
            }
            b.header_reset = b.header_reset.max(seen.reset);
            if seen.reset > b.reset || b.limit == 0 {
                b.limit = seen.limit;
                b.remaining = seen.remaining;
                b.reset = seen.reset;
            } else if seen.reset == b.reset {
                b.limit = seen.limit;
                b.remaining = b.remaining.min(seen.remaining);
            }
        }
    }
}

/// How long to wait after a 429: until the bucket resets (plus jitter),
/// else `Retry-After`, else a minute; never more than two minutes.
pub fn wait_after_429(headers: &HeaderMap) -> Duration {
    let jitter = Duration::from_millis(u64::from(rand::random::<u8>()) % 250 + 50);
    let from_reset = RateLimitHeaders::parse(headers).map(|h| h.reset as f64 - now_epoch_secs_f64());
    let from_retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let secs = from_reset.or(from_retry_after).unwrap_or(60.0).clamp(0.0, 120.0);
    Duration::from_secs_f64(secs) + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_path_families() {
        assert_eq!(
            bucket_of("https://a.okta.com/api/v1/apps/0oa1/users?limit=500"),
            "api/v1/apps"
        );
        assert_eq!(
            bucket_of("https://a.okta.com/api/v1/groups/00g1/users"),
            "api/v1/groups"
        );
        assert_eq!(
            bucket_of("http://127.0.0.1:4010/oauth2/v1/token"),
            "oauth2/v1/token"
        );
    }

    #[tokio::test]
    async fn a_priority_request_takes_the_next_slot_before_earlier_waiters() {
        let pacer = Pacer::new(1.0);
        let held = pacer.acquire("b").await;
        // One request per window, and this window's is spent.
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 1,
                remaining: 0,
                reset: now_epoch_secs_f64().ceil() as u64 + 1,
            },
        );
        drop(held);
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiter = |priority: bool, name: &'static str| {
            let (pacer, order) = (Arc::clone(&pacer), Arc::clone(&order));
            tokio::spawn(async move {
                let permit = pacer.acquire_as("b", priority).await;
                order.lock().unwrap().push(name);
                // Held: the slot stays used for the rest of the window.
                tokio::time::sleep(Duration::from_millis(1500)).await;
                drop(permit);
            })
        };
        let sync_page = waiter(false, "member page");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refresh = waiter(true, "refresh");
        refresh.await.unwrap();
        sync_page.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["refresh", "member page"]);
    }

    #[tokio::test]
    async fn spends_at_most_the_share_of_a_bucket_per_window() {
        let pacer = Pacer::new(0.5);
        let first = pacer.acquire("b").await;
        let reset = now_epoch_secs_f64().ceil() as u64 + 1;
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 10,
                remaining: 9,
                reset,
            },
        );
        drop(first);
        let mut permits = Vec::new();
        for _ in 0..4 {
            permits.push(pacer.acquire("b").await);
        }
        assert!(
            pacer.try_reserve("b", false).is_some(),
            "5 of 10 used: the sixth must wait"
        );
        drop(permits);
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 10,
                remaining: 5,
                reset,
            },
        );
        assert!(
            pacer.try_reserve("b", false).is_some(),
            "still 5 used in this window"
        );
    }

    #[test]
    fn rolls_into_the_next_window_by_the_learned_length() {
        let pacer = Pacer::new(0.5);
        let now = now_epoch_secs_f64() as u64;
        assert!(
            pacer.try_reserve("b", false).is_none(),
            "an unknown bucket lets one request through"
        );
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 10,
                remaining: 9,
                reset: now - 2,
            },
        );
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 10,
                remaining: 9,
                reset: now - 1,
            },
        );
        assert!(
            pacer.try_reserve("b", false).is_none(),
            "the old window is over: sending is allowed"
        );
        let b = pacer.buckets.lock().unwrap()["b"];
        assert_eq!(b.window, 1);
        assert_eq!(b.reset, now + 1, "rolled to the window that is running now");
        // A response from that window is now taken into account, not ignored.
        pacer.record(
            "b",
            RateLimitHeaders {
                limit: 10,
                remaining: 5,
                reset: now + 1,
            },
        );
        assert!(pacer.try_reserve("b", false).is_some());
    }

    #[test]
    fn wait_after_429_prefers_the_reset_header() {
        let mut headers = HeaderMap::new();
        let reset = (now_epoch_secs_f64() as u64) + 3;
        headers.insert("x-rate-limit-limit", "10".parse().unwrap());
        headers.insert("x-rate-limit-remaining", "0".parse().unwrap());
        headers.insert("x-rate-limit-reset", reset.to_string().parse().unwrap());
        let wait = wait_after_429(&headers);
        assert!(
            wait > Duration::from_millis(1_000) && wait < Duration::from_millis(3_400),
            "{wait:?}"
        );
        let mut retry_after = HeaderMap::new();
        retry_after.insert("retry-after", "2".parse().unwrap());
        assert!(wait_after_429(&retry_after) >= Duration::from_secs(2));
    }
}
