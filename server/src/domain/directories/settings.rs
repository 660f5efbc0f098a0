//! A directory's sync settings as the admin edits them, validated at the edge
//! so the store and the engine only ever see sensible values.

/// Validated settings; build with [`SyncSettings::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    pub name: String,
    pub interval_secs: i64,
    pub rate_limit_share: f64,
    pub breaker_threshold: f64,
}

/// The raw form values (minutes and percentages as typed).
#[derive(Debug, Clone, Default)]
pub struct RawSyncSettings<'a> {
    pub name: &'a str,
    pub interval_minutes: &'a str,
    pub rate_limit_percent: &'a str,
    pub breaker_percent: &'a str,
}

pub const MIN_INTERVAL_MINUTES: i64 = 15;
pub const MAX_INTERVAL_MINUTES: i64 = 24 * 60;

fn whole_number(raw: &str, field: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64, String> {
    let value: i64 = raw.trim().parse().map_err(|_| {
        format!(
            "{field}: enter a whole number from {} to {}.",
            range.start(),
            range.end()
        )
    })?;
    if !range.contains(&value) {
        return Err(format!(
            "{field} must be between {} and {}.",
            range.start(),
            range.end()
        ));
    }
    Ok(value)
}

impl SyncSettings {
    pub fn parse(raw: &RawSyncSettings<'_>) -> Result<Self, String> {
        let name = raw.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err("Give the directory a name of 1 to 80 characters.".into());
        }
        let minutes = whole_number(
            raw.interval_minutes,
            "Sync interval (minutes)",
            MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES,
        )?;
        // Above 90 % other integrations of the org would starve; below 10 % a
        // large org could not finish within the interval.
        let share = whole_number(raw.rate_limit_percent, "Rate-limit share (%)", 10..=90)?;
        let breaker = whole_number(raw.breaker_percent, "Removal safety threshold (%)", 1..=100)?;
        Ok(Self {
            name: name.to_owned(),
            interval_secs: minutes * 60,
            rate_limit_share: share as f64 / 100.0,
            breaker_threshold: breaker as f64 / 100.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(name: &'a str, interval: &'a str, share: &'a str, breaker: &'a str) -> RawSyncSettings<'a> {
        RawSyncSettings {
            name,
            interval_minutes: interval,
            rate_limit_percent: share,
            breaker_percent: breaker,
        }
    }

    #[test]
    fn accepts_sensible_values_and_converts_units() {
        let s = SyncSettings::parse(&raw(" Acme ", "120", "50", "20")).unwrap();
        assert_eq!(s.name, "Acme");
        assert_eq!(s.interval_secs, 7200);
        assert!((s.rate_limit_share - 0.5).abs() < f64::EPSILON);
        assert!((s.breaker_threshold - 0.2).abs() < f64::EPSILON);
    }

    #[test]
    fn explains_what_is_wrong() {
        assert!(SyncSettings::parse(&raw("", "120", "50", "20"))
            .unwrap_err()
            .contains("name"));
        assert!(SyncSettings::parse(&raw("A", "5", "50", "20"))
            .unwrap_err()
            .contains("between 15 and 1440"));
        assert!(SyncSettings::parse(&raw("A", "two hours", "50", "20"))
            .unwrap_err()
            .contains("whole number"));
        assert!(SyncSettings::parse(&raw("A", "120", "95", "20"))
            .unwrap_err()
            .contains("Rate-limit share"));
        assert!(SyncSettings::parse(&raw("A", "120", "50", "0"))
            .unwrap_err()
            .contains("threshold"));
    }
}
