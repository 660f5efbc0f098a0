//! The per-directory log of recent SCIM requests: method, path, status,
//! time and duration, and an error's scimType and detail. Never a body, a
//! header or a token. Requests are written in batches by one task, so
//! logging never adds a write transaction to a request.

use crate::store::{ScimRequestRow, Store};
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};
use utoipa::ToSchema;

/// One logged request, as every front door shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScimRequest {
    pub at: String,
    pub method: String,
    /// Path and query below the directory's base URL (no secrets go in a URL).
    pub path: String,
    pub status: i64,
    pub duration_ms: i64,
    /// `scimType: detail` of an error answer.
    pub error: Option<String>,
}

impl From<ScimRequestRow> for ScimRequest {
    fn from(r: ScimRequestRow) -> Self {
        Self {
            at: r.at,
            method: r.method,
            path: r.path,
            status: r.status,
            duration_ms: r.duration_ms,
            error: r.error,
        }
    }
}

enum Message {
    Row(ScimRequestRow),
    Flush(oneshot::Sender<()>),
}

/// Most rows one batch writes.
const BATCH: usize = 500;
/// Most rows waiting; beyond it the log drops rows rather than slow requests.
const QUEUE: usize = 10_000;
/// Longest path kept.
const MAX_PATH_CHARS: usize = 300;

/// Refused (unauthenticated) requests logged per directory and minute:
/// anyone who knows a directory id can send them, and must not be able to
/// push the real requests out of the log.
const REFUSED_PER_MINUTE: u32 = 10;

#[derive(Clone)]
pub struct RequestLog {
    store: Store,
    sender: Arc<OnceLock<mpsc::Sender<Message>>>,
    /// Per directory: the minute counted and how many refused requests were logged in it.
    refused: Arc<std::sync::Mutex<std::collections::HashMap<String, (u64, u32)>>>,
}

impl RequestLog {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            sender: Arc::new(OnceLock::new()),
            refused: Arc::default(),
        }
    }

    /// The writer task starts with the first request (inside the runtime).
    fn sender(&self) -> &mpsc::Sender<Message> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.store.clone(), rx));
            tx
        })
    }

    pub fn record(&self, mut row: ScimRequestRow) {
        if row.path.chars().count() > MAX_PATH_CHARS {
            row.path = row.path.chars().take(MAX_PATH_CHARS).collect::<String>() + "…";
        }
        if self.sender().try_send(Message::Row(row)).is_err() {
            tracing::warn!("the SCIM request log is behind; a request was not logged");
        }
    }

    /// Logs a request refused before its token was accepted, within
    /// [`REFUSED_PER_MINUTE`] per directory.
    pub fn record_refused(&self, row: ScimRequestRow) {
        let minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 60)
            .unwrap_or_default();
        let allowed = match self.refused.lock() {
            Ok(mut counts) => {
                if counts.len() > 10_000 {
                    counts.retain(|_, (m, _)| *m == minute);
                }
                let entry = counts.entry(row.directory_id.clone()).or_insert((minute, 0));
                if entry.0 != minute {
                    *entry = (minute, 0);
                }
                entry.1 += 1;
                entry.1 <= REFUSED_PER_MINUTE
            }
            Err(_) => false,
        };
        if allowed {
            self.record(row);
        }
    }

    /// Waits until every request recorded so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender().send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Message>) {
    let mut rows = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        // Take what is queued (up to a batch); a short pause gathers more.
        loop {
            match next.take() {
                Some(Message::Row(r)) => rows.push(r),
                Some(Message::Flush(done)) => waiting.push(done),
                None => {}
            }
            if rows.len() >= BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(m) => next = Some(m),
                Err(_) => break,
            }
        }
        if waiting.is_empty() && rows.len() < BATCH {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            while rows.len() < BATCH {
                match rx.try_recv() {
                    Ok(Message::Row(r)) => rows.push(r),
                    Ok(Message::Flush(done)) => waiting.push(done),
                    Err(_) => break,
                }
            }
        }
        if let Err(e) = store.append_scim_requests(&rows).await {
            tracing::warn!(error = %e, dropped = rows.len(), "could not write the SCIM request log");
        }
        rows.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
