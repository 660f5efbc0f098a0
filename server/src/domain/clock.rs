//! Time as the product states it: stored RFC 3339 text, and the relative
//! wording ("3 minutes ago") that the UI and the CLI both print.

pub use crate::store::parse_timestamp;

/// "3 minutes ago" / "in 2 hours" for a stored timestamp (the text itself if unparsable).
pub fn relative(stored: &str) -> String {
    match parse_timestamp(stored) {
        Ok(at) => relative_to(at, time::OffsetDateTime::now_utc()),
        Err(_) => stored.to_owned(),
    }
}

pub fn relative_to(at: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    let delta = at - now;
    let secs = delta.whole_seconds().abs();
    let unit = |n: i64, name: &str| format!("{n} {name}{}", if n == 1 { "" } else { "s" });
    let amount = match secs {
        0..=59 => {
            return if delta.is_negative() || secs == 0 {
                "just now".into()
            } else {
                "in less than a minute".into()
            }
        }
        60..=3599 => unit(secs / 60, "minute"),
        3600..=86_399 => unit(secs / 3600, "hour"),
        _ => unit(secs / 86_400, "day"),
    };
    if delta.is_negative() {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// `2026-11-22 19:59 UTC`: what an admin reads at a glance.
pub fn human(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// Seconds between two stored timestamps, when both parse.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    let start = parse_timestamp(start).ok()?;
    let end = parse_timestamp(end).ok()?;
    Some((end - start).as_seconds_f64())
}

/// Whether a streak that began at `since` has lasted more than a day.
pub fn over_a_day(since: Option<&str>) -> bool {
    since
        .and_then(|t| parse_timestamp(t).ok())
        .is_some_and(|since| time::OffsetDateTime::now_utc() - since > time::Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn relative_wording_in_both_directions() {
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(relative_to(now - Duration::seconds(5), now), "just now");
        assert_eq!(
            relative_to(now + Duration::seconds(5), now),
            "in less than a minute"
        );
        assert_eq!(relative_to(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(relative_to(now + Duration::hours(2), now), "in 2 hours");
        assert_eq!(relative_to(now - Duration::days(3), now), "3 days ago");
        assert_eq!(relative("not a time"), "not a time");
    }
}
