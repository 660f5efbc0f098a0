//! Export and import of a whole instance, to move it between databases
//! (SQLite → PostgreSQL): a JSON Lines stream with a header that names the
//! master key the sealed secrets need, the tables in batches, and an end
//! line that makes a truncated file detectable.

use super::Instance;
use crate::{
    domain::{access::Actor, audit::AuditAction, DomainError, DomainResult},
    store::TRANSFER_TABLES,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    io::{BufRead, Write},
};

const FORMAT: &str = "roster-export";
const VERSION: u32 = 1;
/// Rows per line: a line is one batch of one table.
const BATCH: i64 = 1_000;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    from: String,
    master_key_id: String,
    exported_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Rows { table: String, rows: Vec<Value> },
    End { end: bool, rows: BTreeMap<String, u64> },
}

/// What an export or import moved, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferSummary {
    pub rows: BTreeMap<String, u64>,
    pub total: u64,
}

fn io_error(e: impl std::fmt::Display) -> DomainError {
    DomainError::invalid(format!("cannot write or read the export: {e}"))
}

impl Instance {
    /// Writes every table to `out`. `master_key_id` names the key the
    /// sealed secrets (private keys, client secrets) were sealed with.
    pub async fn export(
        &self,
        actor: &Actor,
        master_key_id: &str,
        out: &mut (dyn Write + Send),
    ) -> DomainResult<TransferSummary> {
        actor.require_write()?;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            from: self.store.kind().into(),
            master_key_id: master_key_id.into(),
            exported_at: crate::store::timestamp_now(),
        };
        writeln!(out, "{}", serde_json::to_string(&header).map_err(io_error)?).map_err(io_error)?;
        let mut summary = TransferSummary::default();
        for table in TRANSFER_TABLES {
            let mut offset = 0;
            loop {
                let rows = self.store.export_rows(table, offset, BATCH).await?;
                if rows.is_empty() {
                    break;
                }
                let n = rows.len() as u64;
                let line = Line::Rows {
                    table: (*table).into(),
                    rows,
                };
                writeln!(out, "{}", serde_json::to_string(&line).map_err(io_error)?).map_err(io_error)?;
                *summary.rows.entry((*table).into()).or_default() += n;
                summary.total += n;
                offset += BATCH;
            }
        }
        let end = Line::End {
            end: true,
            rows: summary.rows.clone(),
        };
        writeln!(out, "{}", serde_json::to_string(&end).map_err(io_error)?).map_err(io_error)?;
        out.flush().map_err(io_error)?;
        self.audit
            .record(
                actor,
                AuditAction::InstanceExported,
                None,
                serde_json::json!({ "rows": summary.total }),
            )
            .await;
        Ok(summary)
    }

    /// Reads an export into this instance's database, which must be new and
    /// empty, in one transaction: a bad or truncated file changes nothing.
    pub async fn import(
        &self,
        actor: &Actor,
        master_key_id: &str,
        input: &mut (dyn BufRead + Send),
    ) -> DomainResult<TransferSummary> {
        actor.require_write()?;
        let mut lines = input.lines();
        let header: Header = match lines.next() {
            Some(line) => serde_json::from_str(&line.map_err(io_error)?).map_err(|_| {
                DomainError::invalid(
                    "This is not a Roster export: its first line is not the export's header.",
                )
            })?,
            None => return Err(DomainError::invalid("The export is empty.")),
        };
        if header.format != FORMAT || header.version != VERSION {
            return Err(DomainError::invalid(format!(
                "This is not a Roster export this version reads ({} version {}).",
                header.format, header.version
            )));
        }
        if header.master_key_id != master_key_id {
            return Err(DomainError::invalid(format!(
                "The export's secrets are sealed with master key {} but this instance uses {master_key_id}. Copy the old \
                 data directory's master.key into this one (or set ROSTER_MASTER_KEY to the old key), then import again.",
                header.master_key_id
            )));
        }
        if self.store.holds_data().await? {
            return Err(DomainError::conflict(
                "This database already holds directories, admins or tokens. Import into a new, empty database.",
            ));
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let store = self.store.clone();
        let importing = tokio::spawn(async move { store.import_rows(receiver).await });
        let mut summary = TransferSummary::default();
        let mut ended = None;
        for line in lines {
            let line = line.map_err(io_error)?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Line>(&line) {
                Ok(Line::Rows { table, rows }) => {
                    let n = rows.len() as u64;
                    *summary.rows.entry(table.clone()).or_default() += n;
                    summary.total += n;
                    if sender.send(Some((table, rows))).await.is_err() {
                        break; // the import failed; its error is reported below
                    }
                }
                Ok(Line::End { rows, .. }) => {
                    ended = Some(rows);
                    break;
                }
                Err(e) => {
                    drop(sender);
                    let _ = importing.await;
                    return Err(DomainError::invalid(format!(
                        "A line of the export is not valid: {e}. Nothing was imported."
                    )));
                }
            }
        }
        match ended {
            Some(expected) if expected == summary.rows => {
                let _ = sender.send(None).await;
            }
            Some(_) => {
                drop(sender);
                let _ = importing.await;
                return Err(DomainError::invalid(
                    "The export's row counts do not match its end line. Nothing was imported.",
                ));
            }
            None => drop(sender),
        }
        let imported = importing
            .await
            .map_err(|e| DomainError::invalid(format!("the import stopped: {e}")))??;
        if imported != summary.total {
            return Err(DomainError::invalid(format!(
                "{imported} of {} rows were written; the import was rolled back.",
                summary.total
            )));
        }
        self.audit
            .record(
                actor,
                AuditAction::InstanceImported,
                None,
                serde_json::json!({ "rows": summary.total, "from": header.from }),
            )
            .await;
        Ok(summary)
    }
}
