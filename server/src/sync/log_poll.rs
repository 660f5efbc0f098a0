//! One System Log poll: reads a directory's log from its cursor, the way
//! Okta's polling model asks — oldest first, following `next` links until a
//! page comes back empty — and queues the users and groups the events name
//! for a targeted refresh, recording the events' uuids and the cursor's
//! move in the same transaction.
//!
//! Okta's log is eventually consistent: an event can show up after events
//! published later. Each poll therefore starts an overlap before the newest
//! event read; the uuids already recorded tell the repeats apart (hook
//! deliveries share them, so an event that arrives both ways counts once).
//!
//! Some things a poll cannot bridge; it reports a **gap** and the caller
//! starts the full sync that closes it: a cursor older than the log keeps
//! events (Okta keeps 90 days), or more changes at once than a targeted
//! refresh should take on.

use super::triggers::{LogEvent, EVENT_TYPES};
use crate::{
    okta::{OktaClient, OktaError},
    store::{parse_timestamp, sortable, LogPollRow, PollAdvance, Store, StoreError},
};
use std::collections::BTreeSet;

/// The only scope polling asks for: a key that can read the log need not
/// be able to read anything else through this client.
pub const LOG_SCOPES: [&str; 1] = ["okta.logs.read"];
/// How far back each poll re-reads for late-arriving events.
pub const OVERLAP: time::Duration = time::Duration::minutes(5);
/// How long Okta keeps System Log events…
pub const LOG_RETENTION: time::Duration = time::Duration::days(90);
/// …less a day's margin for clocks and a poll that takes long.
const TRUSTED_FOR: time::Duration = time::Duration::days(89);
/// Past this many users and groups in one poll, a full sync (about two
/// hundred calls for a large org) is cheaper than a refresh each.
pub const MAX_RECORDS_PER_POLL: usize = 1000;
/// Okta's largest page of log events.
const PAGE_LIMIT: usize = 1000;
/// A poll reads at most this many pages before calling it a gap.
const MAX_PAGES: usize = 100;

/// Whether Okta still keeps every event since `reread_from`.
pub fn still_kept(reread_from: time::OffsetDateTime, now: time::OffsetDateTime) -> bool {
    reread_from >= now - TRUSTED_FOR
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollEnd {
    Read {
        /// Events read, repeats included.
        events: usize,
        /// Events not seen before.
        new_events: usize,
        /// Users and groups they name.
        records: usize,
    },
    /// Changes may have been missed; the reason, for the admin.
    Gap(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The `GET /api/v1/logs` query of a poll starting at `since`.
pub fn first_url(client: &OktaClient, since: time::OffsetDateTime) -> Result<String, OktaError> {
    let filter = EVENT_TYPES
        .iter()
        .map(|t| format!("eventType eq \"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    // Milliseconds, as Okta writes `published` (rounded down: a bound that
    // is a little early only re-reads what the uuids tell apart).
    let since = since.to_offset(time::UtcOffset::UTC);
    let since = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        since.year(),
        u8::from(since.month()),
        since.day(),
        since.hour(),
        since.minute(),
        since.second(),
        since.millisecond()
    );
    let mut url = reqwest::Url::parse(&client.origin().url("/api/v1/logs"))
        .map_err(|e| OktaError::Protocol(format!("the System Log's URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("since", &since)
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", &PAGE_LIMIT.to_string())
        .append_pair("filter", &filter);
    Ok(url.into())
}

/// Reads the log from `row`'s cursor and queues what it names, due at
/// `due` (an incremental sync queues for itself: later than the refresh
/// worker looks).
pub async fn poll(
    store: &Store,
    client: &OktaClient,
    row: &LogPollRow,
    now: time::OffsetDateTime,
    due: time::OffsetDateTime,
) -> Result<PollEnd, PollError> {
    let Some(reread_from) = row.reread_from.as_deref().map(parse_timestamp).transpose()? else {
        return Ok(PollEnd::Gap("The System Log cursor is missing.".into()));
    };
    if !still_kept(reread_from, now) {
        return Ok(PollEnd::Gap(format!(
            "Roster last read the System Log up to {}; Okta keeps events for {} days, so changes since may be gone.",
            reread_from.date(),
            LOG_RETENTION.whole_days()
        )));
    }
    let mut events: Vec<LogEvent> = Vec::new();
    let mut url = first_url(client, reread_from)?;
    let mut pages = 0;
    loop {
        if pages == MAX_PAGES {
            return Ok(PollEnd::Gap(format!(
                "More than {} System Log events since the last poll.",
                MAX_PAGES * PAGE_LIMIT
            )));
        }
        let page = client.get_page::<LogEvent>(&url, "the System Log").await?;
        pages += 1;
        if page.items.is_empty() {
            break;
        }
        events.extend(page.items);
        match page.next {
            Some(next) => url = next,
            None => break,
        }
    }
    // Okta sorts by time; ties and late arrivals keep the refreshes' order sensible.
    events.sort_by(|a, b| a.published.cmp(&b.published));
    let seen: Vec<_> = events.iter().map(LogEvent::seen).collect();
    let records: BTreeSet<_> = seen.iter().flat_map(|e| e.items.iter()).collect();
    // What changed since the last poll: the overlap's events were counted then.
    let old_cursor = row.cursor_at.as_deref().map(parse_timestamp).transpose()?;
    let changed: BTreeSet<_> = events
        .iter()
        .zip(&seen)
        .filter(|(e, _)| match (old_cursor, e.published_at()) {
            (Some(cursor), Some(published)) => published > cursor,
            _ => true,
        })
        .flat_map(|(_, s)| s.items.iter())
        .collect();
    if changed.len() > MAX_RECORDS_PER_POLL {
        return Ok(PollEnd::Gap(format!(
            "{} users and groups changed at once; a full sync reads them for less.",
            changed.len()
        )));
    }
    let newest = events.iter().filter_map(LogEvent::published_at).max();
    let cursor = match (old_cursor, newest) {
        (Some(old), Some(new)) => Some(old.max(new)),
        (old, new) => old.or(new),
    };
    let reread = cursor.map_or(reread_from, |c| (c - OVERLAP).max(reread_from));
    let at = sortable(now);
    let new_events = store
        .receive_okta_events(
            &row.directory_id,
            &seen,
            &at,
            &sortable(due),
            &sortable(due),
            Some(&PollAdvance {
                cursor_at: cursor.map(sortable),
                reread_from: Some(sortable(reread)),
                next_poll_at: sortable(now + time::Duration::seconds(row.interval_secs.max(1))),
            }),
        )
        .await?;
    Ok(PollEnd::Read {
        events: events.len(),
        new_events,
        records: records.len(),
    })
}
