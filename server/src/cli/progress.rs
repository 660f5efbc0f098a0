//! `roster directories sync --wait`: follows a run to its end. On a terminal
//! it redraws one status line (phase, pages, users and groups so far);
//! otherwise it prints a plain line whenever the phase changes.

use super::{
    client::{encode, Client},
    error::CliError,
    table::print_json,
    table::text,
};
use serde_json::Value;
use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

const POLL: Duration = Duration::from_millis(500);
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

pub async fn wait_for_run(
    client: &Client,
    directory: &str,
    run_id: &str,
    json: bool,
) -> Result<(), CliError> {
    let (directory, run_id) = (encode(directory), encode(run_id));
    let tty = std::io::stderr().is_terminal() && !json;
    let started = Instant::now();
    let mut last_phase = String::new();
    let mut tick = 0usize;
    let run = loop {
        let run: Value = client
            .get(&format!("/directories/{directory}/runs/{run_id}"))
            .await?;
        if run.get("status").and_then(Value::as_str) != Some("running") {
            break run;
        }
        let d: Value = client.get(&format!("/directories/{directory}")).await?;
        let progress = d.get("progress").filter(|p| !p.is_null());
        let (phase, line) = match progress {
            Some(p) => (
                text(p, "phase"),
                format!(
                    "{} · {} pages · {} users · {} groups",
                    text(p, "phase"),
                    text(p, "pages"),
                    text(p, "users"),
                    text(p, "groups")
                ),
            ),
            None => ("starting".to_owned(), "starting".to_owned()),
        };
        let elapsed = started.elapsed().as_secs();
        if tty {
            eprint!(
                "\r\x1b[2K{} syncing: {line} · {elapsed}s",
                SPINNER[tick % SPINNER.len()]
            );
            let _ = std::io::stderr().flush();
        } else if !json && phase != last_phase {
            eprintln!("syncing: {line} ({elapsed}s)");
        }
        last_phase = phase;
        tick += 1;
        tokio::time::sleep(POLL).await;
    };
    if tty {
        eprint!("\r\x1b[2K");
    }
    let status = text(&run, "status");
    if json {
        print_json(&run);
    } else {
        println!(
            "Sync {status} in {:.1}s: users +{} ~{} -{}, groups +{} ~{} -{}.",
            run.get("duration_secs")
                .and_then(Value::as_f64)
                .unwrap_or_default(),
            text(&run, "users_added"),
            text(&run, "users_updated"),
            text(&run, "users_removed"),
            text(&run, "groups_added"),
            text(&run, "groups_updated"),
            text(&run, "groups_removed"),
        );
    }
    match status.as_str() {
        "succeeded" => Ok(()),
        "needs_confirmation" => Err(CliError::failed(
            "The circuit breaker held this sync's changes for review; nothing was applied.",
        )
        .with_hint(
            "Review them on the directory's card, or apply with POST /api/v1/directories/{id}/pending/apply.",
        )),
        _ => {
            let error = run.get("error").cloned().unwrap_or(Value::Null);
            Err(
                CliError::failed(format!("The sync failed: {}", text(&error, "message")))
                    .with_hint(text(&error, "hint")),
            )
        }
    }
}
