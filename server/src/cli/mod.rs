//! The `roster` binary's commands. `serve` runs the server; `admin` works on
//! the local data directory; everything else is a client of the REST API, so
//! the CLI holds no business rule: the server decides, the CLI prints.

mod args;
mod client;
mod error;
mod progress;
mod table;

pub use args::{Cli, Command};
pub use error::{exit_code, CliError, EXIT_FAILED, EXIT_USAGE};

use args::{
    AddCommand, AdminCommand, DirectoriesCommand, EventsCommand, GroupsCommand, NotificationsCommand, Remote,
    RunsCommand, ScimCommand, Scope, SigninCommand, TokensCommand, UsersCommand, WebhookSettingsArgs,
    WebhooksCommand,
};
use client::{encode, Client};
use reqwest::Method;
use serde_json::{json, Value};
use table::{emit, print, print_json, text};

use crate::{
    config::{Config, ProcessEnv},
    model::TokenScope,
};

fn client(remote: &Remote) -> Result<Client, CliError> {
    Client::new(&remote.url, remote.token.as_deref())
}

fn scope(scope: Scope) -> TokenScope {
    match scope {
        Scope::ReadOnly => TokenScope::ReadOnly,
        Scope::ReadWrite => TokenScope::ReadWrite,
    }
}

/// Runs a command other than `serve` (which `main` runs itself).
pub async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve => Err(CliError::failed("`serve` is run by main")),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "roster", &mut std::io::stdout());
            Ok(())
        }
        Command::Admin(admin) => run_admin(admin).await,
        Command::Directories(c) => directories(c).await,
        Command::Users(c) => users(c).await,
        Command::Groups(c) => groups(c).await,
        Command::Runs(c) => runs(c).await,
        Command::Tokens(c) => tokens(c).await,
        Command::Signin(c) => signin(c).await,
        Command::Scim(c) => scim(c).await,
        Command::Events(c) => events(c).await,
        Command::Webhooks(c) => webhooks(c).await,
        Command::Notifications(c) => notifications(c).await,
        Command::Audit {
            action,
            actor,
            failed,
            limit,
            remote,
            output,
        } => audit(action, actor, failed, limit, remote, output.json).await,
    }
}

async fn run_admin(command: AdminCommand) -> Result<(), CliError> {
    let config = Config::load(&ProcessEnv).map_err(|e| CliError::usage(e.to_string()))?;
    let master_key = match &command {
        AdminCommand::Export { .. } | AdminCommand::Import { .. } => Some(
            crate::crypto::MasterKey::load_existing(&config.data_dir, config.master_key.as_deref())
                .map_err(|e| CliError::failed(e.to_string()))?,
        ),
        _ => None,
    };
    let key_id = master_key.as_ref().map(|k| k.id().to_owned()).unwrap_or_default();
    let instance = crate::startup::open_instance(config)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    match command {
        AdminCommand::Export { output } => {
            let mut out: Box<dyn std::io::Write + Send> = if output == "-" {
                Box::new(std::io::BufWriter::new(std::io::stdout()))
            } else {
                Box::new(std::io::BufWriter::new(std::fs::File::create(&output).map_err(
                    |e| CliError::failed(format!("cannot create {output}: {e}")),
                )?))
            };
            let summary = instance
                .export(&crate::domain::Actor::host(), &key_id, &mut out)
                .await?;
            eprintln!(
                "Exported {} rows ({} tables) sealed with master key {key_id}. Import them with `roster admin import` \
                 on the new database, with this master key.",
                summary.total,
                summary.rows.len()
            );
            Ok(())
        }
        AdminCommand::Import { input } => {
            let mut reader: Box<dyn std::io::BufRead + Send> = if input == "-" {
                Box::new(std::io::BufReader::new(std::io::stdin()))
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&input)
                        .map_err(|e| CliError::failed(format!("cannot open {input}: {e}")))?,
                ))
            };
            let summary = instance
                .import(&crate::domain::Actor::host(), &key_id, &mut reader)
                .await?;
            eprintln!(
                "Imported {} rows into {} tables.",
                summary.total,
                summary.rows.len()
            );
            for (table, rows) in &summary.rows {
                eprintln!("  {table:<28} {rows:>9}");
            }
            Ok(())
        }
        AdminCommand::Migrate { output } => {
            // Opening the instance applied the migrations.
            let overview = instance.overview().await?;
            if output.json {
                print_json(&serde_json::json!({
                    "database": overview.database_kind,
                    "location": overview.database_location,
                    "migrations_applied": overview.schema_version,
                }));
            } else {
                println!(
                    "{} database at {}: {} migrations applied; the schema is current.",
                    overview.database_kind, overview.database_location, overview.schema_version
                );
            }
            Ok(())
        }
        AdminCommand::SetupLink => {
            let link = instance
                .setup_links()
                .issue_recovery(&crate::domain::Actor::host())
                .await?;
            crate::auth::print_recovery_link(&link);
            Ok(())
        }
        AdminCommand::CreateToken {
            name,
            scope: s,
            output,
        } => {
            let issued = instance
                .tokens()
                .create(&crate::domain::Actor::host(), &name, scope(s))
                .await?;
            if output.json {
                print_json(&issued);
            } else {
                print_issued(&serde_json::to_value(&issued).unwrap_or_default());
            }
            Ok(())
        }
    }
}

fn print_issued(token: &Value) {
    println!(
        "Created {} token “{}” ({}). Its secret is shown this once:\n\n    {}\n\nexport ROSTER_TOKEN={}",
        text(token, "scope"),
        text(token, "name"),
        text(token, "id"),
        text(token, "secret"),
        text(token, "secret"),
    );
}

fn directory_rows(list: &[Value]) -> Vec<Vec<String>> {
    list.iter()
        .map(|d| {
            vec![
                text(d, "id"),
                text(d, "name"),
                text(d, "status"),
                text(d, "/counts/users_active"),
                text(d, "/counts/users_suspended"),
                text(d, "/counts/groups"),
                d.get("last_success_at")
                    .and_then(Value::as_str)
                    .map(crate::domain::clock::relative)
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect()
}

const DIRECTORY_HEADERS: [&str; 7] = [
    "ID",
    "NAME",
    "STATUS",
    "ACTIVE",
    "SUSPENDED",
    "GROUPS",
    "LAST SYNC",
];

async fn directories(command: DirectoriesCommand) -> Result<(), CliError> {
    match command {
        DirectoriesCommand::List {
            remote,
            output,
            drafts,
        } => {
            let c = client(&remote)?;
            let path = if drafts {
                "/directories/drafts"
            } else {
                "/directories"
            };
            let list: Vec<Value> = c.get(path).await?;
            if output.json {
                print_json(&list);
            } else if drafts {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|d| {
                        vec![
                            text(d, "id"),
                            text(d, "okta_domain"),
                            text(d, "client_id"),
                            text(d, "verified"),
                            text(d, "created_at"),
                        ]
                    })
                    .collect();
                print(&["ID", "OKTA DOMAIN", "CLIENT ID", "VERIFIED", "CREATED"], &rows);
            } else if list.is_empty() {
                println!("No directories yet. Start one with `roster directories add okta --domain … --client-id …`.");
            } else {
                print(&DIRECTORY_HEADERS, &directory_rows(&list));
            }
            Ok(())
        }
        DirectoriesCommand::Show { id, remote, output } => {
            let d: Value = client(&remote)?
                .get(&format!("/directories/{}", encode(&id)))
                .await?;
            if output.json {
                print_json(&d);
            } else if d.get("state").and_then(Value::as_str) == Some("draft") {
                print_draft(&d);
            } else {
                print(&DIRECTORY_HEADERS, &directory_rows(std::slice::from_ref(&d)));
                println!();
                println!("Okta domain   {}", text(&d, "okta_domain"));
                println!("App           {}", text(&d, "app_label"));
                println!("Interval      {} minutes", text(&d, "/settings/interval_minutes"));
                println!("JWKS URL      {}", text(&d, "/keys/jwks_url"));
                if let Some(e) = d.get("last_error").filter(|e| !e.is_null()) {
                    println!("Last error    {} — {}", text(e, "message"), text(e, "hint"));
                }
            }
            Ok(())
        }
        DirectoriesCommand::Add(AddCommand::Okta {
            domain,
            client_id,
            name,
            app,
            remote,
            output,
        }) => {
            let c = client(&remote)?;
            let draft: Value = c
                .post(
                    "/directories",
                    &json!({ "okta_domain": domain, "client_id": client_id }),
                )
                .await?;
            if output.json {
                print_json(&draft);
            } else {
                print_draft(&draft);
            }
            let id = text(&draft, "id");
            if let Some(name) = name {
                // Verify, then create: the same steps as the wizard's.
                let report: Value = c
                    .post(&format!("/directories/{id}/verify"), &json!({ "app_id": app }))
                    .await?;
                if report.get("ok") != Some(&Value::Bool(true)) {
                    print_checklist(&report);
                    return Err(CliError::failed("Verify failed; the directory was not created.")
                        .with_hint(format!("Fix the items above, then `roster directories verify {id}` and `roster directories create {id} --name …`.")));
                }
                let created: Value = c
                    .post(&format!("/directories/{id}/create"), &json!({ "name": name }))
                    .await?;
                if !output.json {
                    println!(
                        "Created “{}”; its first sync has started.",
                        text(&created, "name")
                    );
                }
            }
            Ok(())
        }
        DirectoriesCommand::Verify {
            id,
            app,
            remote,
            output,
        } => {
            let report: Value = client(&remote)?
                .post(
                    &format!("/directories/{}/verify", encode(&id)),
                    &json!({ "app_id": app }),
                )
                .await?;
            if output.json {
                print_json(&report);
            } else {
                print_checklist(&report);
            }
            if report.get("ok") == Some(&Value::Bool(true)) {
                Ok(())
            } else {
                Err(CliError::failed(
                    "Verify failed: fix the items marked FAIL (each has a hint) and run it again.",
                ))
            }
        }
        DirectoriesCommand::Create {
            id,
            name,
            remote,
            output,
        } => {
            let created: Value = client(&remote)?
                .post(
                    &format!("/directories/{}/create", encode(&id)),
                    &json!({ "name": name }),
                )
                .await?;
            if output.json {
                print_json(&created);
            } else {
                println!(
                    "Created “{}” ({}); its first sync has started.",
                    text(&created, "name"),
                    text(&created, "id")
                );
            }
            Ok(())
        }
        DirectoriesCommand::Sync {
            id,
            wait,
            remote,
            output,
        } => {
            let c = client(&remote)?;
            let started: Value = c
                .post(&format!("/directories/{}/sync", encode(&id)), &json!({}))
                .await?;
            let run_id = text(&started, "run_id");
            if !wait {
                if output.json {
                    print_json(&started);
                } else {
                    println!(
                        "Sync started: run {run_id}. Follow it with `roster runs show {run_id} -d {id}`."
                    );
                }
                return Ok(());
            }
            progress::wait_for_run(&c, &id, &run_id, output.json).await
        }
        DirectoriesCommand::OktaHook { id, remote, output } => {
            let v: Value = client(&remote)?
                .get(&format!("/directories/{}/okta-hook", encode(&id)))
                .await?;
            if output.json {
                print_json(&v);
            } else {
                print_okta_hook(&v);
            }
            Ok(())
        }
        DirectoriesCommand::OktaHookCreate {
            id,
            header,
            remote,
            output,
        } => {
            let v: Value = client(&remote)?
                .post(
                    &format!("/directories/{}/okta-hook", encode(&id)),
                    &json!({ "header_name": header }),
                )
                .await?;
            if output.json {
                print_json(&v);
            } else {
                println!("In Okta: Workflow → Event Hooks → Create Event Hook, with:\n");
                print_okta_hook(&v);
            }
            Ok(())
        }
        DirectoriesCommand::LogPolling { id, remote, output } => {
            let v: Value = client(&remote)?
                .get(&format!("/directories/{}/log-polling", encode(&id)))
                .await?;
            if output.json {
                print_json(&v);
            } else {
                print_log_polling(&v);
            }
            Ok(())
        }
        DirectoriesCommand::LogPollingSet {
            id,
            on,
            off: _,
            interval,
            reconcile_hours,
            remote,
            output,
        } => {
            let v: Value = client(&remote)?
                .put(
                    &format!("/directories/{}/log-polling", encode(&id)),
                    &json!({ "enabled": on, "interval_secs": interval, "reconcile_hours": reconcile_hours }),
                )
                .await?;
            if output.json {
                print_json(&v);
            } else {
                print_log_polling(&v);
            }
            Ok(())
        }
        DirectoriesCommand::Pause { id, remote } => {
            client(&remote)?
                .call(Method::POST, &format!("/directories/{}/pause", encode(&id)))
                .await?;
            println!("Paused: no scheduled syncs until `roster directories resume {id}`.");
            Ok(())
        }
        DirectoriesCommand::Resume { id, remote } => {
            client(&remote)?
                .call(Method::POST, &format!("/directories/{}/resume", encode(&id)))
                .await?;
            println!("Resumed: scheduled syncs continue.");
            Ok(())
        }
        DirectoriesCommand::Delete { id, confirm, remote } => {
            let query = confirm
                .map(|n| format!("?confirm_name={}", encode(&n)))
                .unwrap_or_default();
            client(&remote)?
                .call(Method::DELETE, &format!("/directories/{}{query}", encode(&id)))
                .await?;
            println!("Deleted.");
            Ok(())
        }
    }
}

fn print_draft(d: &Value) {
    let id = text(d, "id");
    println!("Draft directory {id}");
    println!();
    println!("Register this public key in Okta (the API Services app → General → Public keys → Add key),");
    println!("or choose “Use a URL to fetch keys dynamically” with the JWKS URL.");
    println!();
    println!(
        "{}",
        serde_json::to_string_pretty(d.get("key").and_then(|k| k.get("jwk")).unwrap_or(&Value::Null))
            .unwrap_or_default()
    );
    println!();
    println!("JWKS URL: {}", text(d, "jwks_url"));
    println!();
    println!("Then: roster directories verify {id}  →  roster directories create {id} --name …");
}

fn print_checklist(report: &Value) {
    let items = report
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in &items {
        let mark = match item.get("status").and_then(Value::as_str) {
            Some("pass") => "PASS",
            Some("fail") => "FAIL",
            _ => "SKIP",
        };
        println!("{mark}  {} — {}", text(item, "label"), text(item, "detail"));
        if let Some(hint) = item.get("hint").and_then(Value::as_str) {
            if mark == "FAIL" {
                println!("      fix: {hint}");
            }
        }
    }
}

async fn users(command: UsersCommand) -> Result<(), CliError> {
    match command {
        UsersCommand::List {
            directory,
            search,
            status,
            group,
            sort,
            limit,
            remote,
            output,
        } => {
            let path = format!(
                "/directories/{}/users?search={}&status={}&sort={}{}",
                encode(&directory.directory),
                encode(&search),
                encode(&status),
                encode(&sort),
                group
                    .map(|g| format!("&group={}", encode(&g)))
                    .unwrap_or_default()
            );
            let list = client(&remote)?.all_pages(&path, limit).await?;
            emit(
                &list,
                output.json,
                &["ID", "NAME", "LOGIN", "STATUS", "GROUPS"],
                &["id", "display_name", "login", "status", "groups"],
            );
            Ok(())
        }
        UsersCommand::Show {
            user,
            directory,
            remote,
            output,
        } => {
            let u: Value = client(&remote)?
                .get(&format!(
                    "/directories/{}/users/{}",
                    encode(&directory.directory),
                    encode(&user)
                ))
                .await?;
            if output.json {
                print_json(&u);
            } else {
                println!(
                    "{} <{}>  {}",
                    text(&u, "display_name"),
                    text(&u, "login"),
                    text(&u, "status")
                );
                println!("Okta id  {}", text(&u, "id"));
                let groups: Vec<String> = u
                    .get("groups")
                    .and_then(Value::as_array)
                    .map(|g| g.iter().map(|g| text(g, "name")).collect())
                    .unwrap_or_default();
                println!(
                    "Groups   {}",
                    if groups.is_empty() {
                        "–".into()
                    } else {
                        groups.join(", ")
                    }
                );
                if let Some(traits) = u.get("traits").and_then(Value::as_object) {
                    for (k, v) in traits {
                        println!("  {k}: {}", v.as_str().unwrap_or_default());
                    }
                }
            }
            Ok(())
        }
    }
}

async fn groups(command: GroupsCommand) -> Result<(), CliError> {
    match command {
        GroupsCommand::List {
            directory,
            search,
            limit,
            remote,
            output,
        } => {
            let path = format!(
                "/directories/{}/groups?search={}",
                encode(&directory.directory),
                encode(&search)
            );
            let list = client(&remote)?.all_pages(&path, limit).await?;
            emit(
                &list,
                output.json,
                &["ID", "NAME", "KIND", "MEMBERS"],
                &["id", "name", "kind", "members"],
            );
            Ok(())
        }
        GroupsCommand::Members {
            group,
            directory,
            limit,
            remote,
            output,
        } => {
            let path = format!(
                "/directories/{}/groups/{}/members",
                encode(&directory.directory),
                encode(&group)
            );
            let list = client(&remote)?.all_pages(&path, limit).await?;
            emit(
                &list,
                output.json,
                &["ID", "NAME", "LOGIN", "STATUS"],
                &["id", "display_name", "login", "status"],
            );
            Ok(())
        }
    }
}

fn run_row(r: &Value) -> Vec<String> {
    vec![
        text(r, "id"),
        text(r, "trigger"),
        text(r, "status"),
        text(r, "started_at"),
        r.get("duration_secs")
            .and_then(Value::as_f64)
            .map(|s| format!("{s:.1}s"))
            .unwrap_or_else(|| "–".into()),
        format!(
            "+{} ~{} -{}",
            text(r, "users_added"),
            text(r, "users_updated"),
            text(r, "users_removed")
        ),
    ]
}

const RUN_HEADERS: [&str; 6] = ["ID", "TRIGGER", "STATUS", "STARTED", "TOOK", "USERS +/~/-"];

async fn runs(command: RunsCommand) -> Result<(), CliError> {
    match command {
        RunsCommand::List {
            directory,
            limit,
            remote,
            output,
        } => {
            let list: Vec<Value> = client(&remote)?
                .get(&format!(
                    "/directories/{}/runs?limit={limit}",
                    encode(&directory.directory)
                ))
                .await?;
            if output.json {
                print_json(&list);
            } else {
                print(&RUN_HEADERS, &list.iter().map(run_row).collect::<Vec<_>>());
            }
            Ok(())
        }
        RunsCommand::Show {
            run,
            directory,
            remote,
            output,
        } => {
            let r: Value = client(&remote)?
                .get(&format!(
                    "/directories/{}/runs/{}",
                    encode(&directory.directory),
                    encode(&run)
                ))
                .await?;
            if output.json {
                print_json(&r);
            } else {
                print(&RUN_HEADERS, &[run_row(&r)]);
                println!(
                    "\n{} API calls, {} pages, {} users and {} groups fetched",
                    text(&r, "api_calls"),
                    text(&r, "pages"),
                    text(&r, "users_fetched"),
                    text(&r, "groups_fetched")
                );
                if let Some(e) = r.get("error").filter(|e| !e.is_null()) {
                    println!("Error: {}\nFix: {}", text(e, "message"), text(e, "hint"));
                }
            }
            Ok(())
        }
    }
}

async fn tokens(command: TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::Create {
            name,
            scope: s,
            remote,
            output,
        } => {
            let issued: Value = client(&remote)?
                .post("/tokens", &json!({ "name": name, "scope": scope(s).as_str() }))
                .await?;
            if output.json {
                print_json(&issued);
            } else {
                print_issued(&issued);
            }
            Ok(())
        }
        TokensCommand::List { remote, output } => {
            let list: Vec<Value> = client(&remote)?.get("/tokens").await?;
            emit(
                &list,
                output.json,
                &["ID", "NAME", "SCOPE", "PREFIX", "CREATED", "LAST USED", "REVOKED"],
                &[
                    "id",
                    "name",
                    "scope",
                    "prefix",
                    "created_at",
                    "last_used_at",
                    "revoked_at",
                ],
            );
            Ok(())
        }
        TokensCommand::Revoke { id, remote } => {
            client(&remote)?
                .call(Method::DELETE, &format!("/tokens/{}", encode(&id)))
                .await?;
            println!("Revoked: the token stops working now.");
            Ok(())
        }
    }
}

fn print_scim(v: &Value) {
    println!(
        "{} — SCIM {}\n",
        text(v, "directory_name"),
        if v["enabled"].as_bool() == Some(true) {
            "on"
        } else {
            "off"
        }
    );
    if let Some(settings) = v["okta_settings"].as_array() {
        for s in settings {
            println!("  {:<36} {}", text(s, "label"), text(s, "value"));
        }
    }
    let tokens = v["tokens"].as_array().cloned().unwrap_or_default();
    println!("\nTokens:");
    emit(
        &tokens,
        false,
        &["ID", "NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"],
        &["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"],
    );
}

/// System Log polling's state, one line per fact.
fn print_log_polling(v: &Value) {
    let on = v["enabled"].as_bool().unwrap_or(false);
    println!("  {:<16} {}", "Polling", if on { "on" } else { "off" });
    println!("  {:<16} {}", "State", text(v, "state"));
    println!("  {:<16} {}", "", text(v, "summary"));
    println!(
        "  {:<16} every {} s",
        "Interval",
        v["interval_secs"].as_i64().unwrap_or(0)
    );
    println!(
        "  {:<16} every {} h",
        "Full sync",
        v["reconcile_hours"].as_i64().unwrap_or(0)
    );
    println!(
        "  {:<16} {}",
        "Read up to",
        v["cursor_at"].as_str().unwrap_or("not yet")
    );
    println!(
        "  {:<16} {} ({} polls, {} events in the last)",
        "Last poll",
        v["last_poll_ago"].as_str().unwrap_or("never"),
        v["polls"].as_i64().unwrap_or(0),
        v["last_events"].as_i64().unwrap_or(0)
    );
    println!(
        "  {:<16} {}",
        "Next sync",
        if v["next_sync_incremental"].as_bool().unwrap_or(false) {
            "incremental (only what the log names)"
        } else {
            "full"
        }
    );
    for (label, key) in [("Last error", "last_error"), ("Gap", "gap_reason")] {
        if let Some(message) = v[key].as_str() {
            println!("  {label:<16} {message}");
        }
    }
}

/// An event hook's set-up, in the order Okta's form asks for it.
fn print_okta_hook(v: &Value) {
    println!("  {:<14} {}", "URL", text(v, "url"));
    println!("  {:<14} {}", "Header", text(v, "header_name"));
    println!(
        "  {:<14} {}",
        "Value",
        v["secret"].as_str().unwrap_or("(shown to admins only)")
    );
    let types: Vec<&str> = v["event_types"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!("  {:<14} {}", "Event types", types.join(", "));
    println!(
        "  {:<14} {}",
        "Verified",
        v["verified_at"]
            .as_str()
            .unwrap_or("not yet: click Verify in Okta")
    );
    println!(
        "  {:<14} {} ({} received)",
        "Last delivery",
        v["last_delivery_at"].as_str().unwrap_or("none yet"),
        v["deliveries"].as_i64().unwrap_or(0)
    );
    println!(
        "\nWith Okta's API (ROSTER_HOOK_SECRET set to the value):\n{}",
        text(v, "curl")
    );
    println!("\nWith Terraform:\n{}", text(v, "terraform"));
}

async fn scim(command: ScimCommand) -> Result<(), CliError> {
    let base = |d: &str| format!("/directories/{}/scim", encode(d));
    match command {
        ScimCommand::Show {
            directory,
            remote,
            output,
        } => {
            let v: Value = client(&remote)?.get(&base(&directory)).await?;
            if output.json {
                print_json(&v);
            } else {
                print_scim(&v);
            }
        }
        ScimCommand::Enable { directory, remote } => {
            let v: Value = client(&remote)?
                .put(&base(&directory), &json!({ "enabled": true }))
                .await?;
            println!("SCIM is on. In Okta, use:\n");
            print_scim(&v);
        }
        ScimCommand::Disable { directory, remote } => {
            client(&remote)?
                .put::<Value>(&base(&directory), &json!({ "enabled": false }))
                .await?;
            println!("SCIM is off: Okta's next request gets 403 until it is turned on again.");
        }
        ScimCommand::CreateDirectory { name, remote, output } => {
            let v: Value = client(&remote)?
                .post("/directories/scim", &json!({ "name": name }))
                .await?;
            if output.json {
                print_json(&v);
            } else {
                println!(
                    "Created “{}” ({}).\n",
                    text(&v, "directory_name"),
                    text(&v, "directory_id")
                );
                println!(
                    "Next: roster scim token-create {} --name \"Okta\"",
                    text(&v, "directory_id")
                );
            }
        }
        ScimCommand::TokenCreate {
            directory,
            name,
            remote,
            output,
        } => {
            let v: Value = client(&remote)?
                .post(&format!("{}/tokens", base(&directory)), &json!({ "name": name }))
                .await?;
            if output.json {
                print_json(&v);
            } else {
                println!(
                    "Created SCIM token “{}” ({}). Paste it into Okta (Provisioning → Integration → Authorization: Bearer). It is shown this once:\n\n    {}\n",
                    text(&v["token"], "name"),
                    text(&v["token"], "id"),
                    text(&v, "secret"),
                );
            }
        }
        ScimCommand::TokenRevoke {
            directory,
            token_id,
            remote,
        } => {
            client(&remote)?
                .call(
                    Method::DELETE,
                    &format!("{}/tokens/{}", base(&directory), encode(&token_id)),
                )
                .await?;
            println!("Revoked: Okta's next request with this token gets 401.");
        }
        ScimCommand::Log {
            directory,
            limit,
            remote,
            output,
        } => {
            let list: Vec<Value> = client(&remote)?
                .get(&format!("{}/requests?limit={limit}", base(&directory)))
                .await?;
            emit(
                &list,
                output.json,
                &["AT", "METHOD", "PATH", "STATUS", "MS", "ERROR"],
                &["at", "method", "path", "status", "duration_ms", "error"],
            );
        }
    }
    Ok(())
}

async fn signin(command: SigninCommand) -> Result<(), CliError> {
    let show = |v: &Value, json: bool| {
        if json {
            print_json(v);
            return;
        }
        let groups = |key: &str| {
            v[key]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let configured = v["configured"].as_bool().unwrap_or(false);
        print(
            &["SETTING", "VALUE"],
            &[
                vec!["configured".into(), configured.to_string()],
                vec!["issuer".into(), text(v, "issuer")],
                vec!["client id".into(), text(v, "client_id")],
                vec![
                    "client secret".into(),
                    if v["client_secret_set"].as_bool().unwrap_or(false) {
                        "saved (sealed)".into()
                    } else {
                        "-".into()
                    },
                ],
                vec!["admin groups".into(), groups("admin_groups")],
                vec!["viewer groups".into(), groups("viewer_groups")],
                vec![
                    "tested".into(),
                    match (v["tested_by"].as_str(), v["tested_at"].as_str()) {
                        (Some(by), Some(at)) => format!("by {by} on {at}"),
                        _ if configured => "no: run Test sign-in in Settings → Sign-in".into(),
                        _ => "-".into(),
                    },
                ],
                vec![
                    "sign-in redirect URI".into(),
                    text(&v["okta_app"], "sign_in_redirect_uri"),
                ],
                vec![
                    "sign-out redirect URI".into(),
                    text(&v["okta_app"], "sign_out_redirect_uri"),
                ],
            ],
        );
    };
    match command {
        SigninCommand::Show { remote, output } => {
            let v: Value = client(&remote)?.get("/signin").await?;
            show(&v, output.json);
            Ok(())
        }
        SigninCommand::Set {
            issuer,
            client_id,
            client_secret_stdin,
            admin_groups,
            viewer_groups,
            remote,
            output,
        } => {
            let secret = if client_secret_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| {
                    CliError::usage(format!("cannot read the client secret from standard input: {e}"))
                })?;
                Some(line.trim().to_owned()).filter(|s| !s.is_empty())
            } else {
                None
            };
            let body = json!({
                "issuer": issuer,
                "client_id": client_id,
                "client_secret": secret,
                "admin_groups": admin_groups.join("\n"),
                "viewer_groups": viewer_groups.join("\n"),
                "save_anyway": true,
            });
            let v: Value = client(&remote)?.put("/signin", &body).await?;
            if !output.json {
                eprintln!("Saved without Test sign-in: open Settings → Sign-in and run Test sign-in before relying on it.");
            }
            show(&v, output.json);
            Ok(())
        }
        SigninCommand::Remove { remote } => {
            client(&remote)?.call(Method::DELETE, "/signin").await?;
            println!("Okta sign-in is off. Setup links (roster admin setup-link) still work.");
            Ok(())
        }
    }
}

fn webhook_body(settings: &WebhookSettingsArgs) -> Value {
    let list = |raw: &Option<String>| -> Vec<String> {
        raw.iter()
            .flat_map(|r| r.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    json!({
        "url": settings.endpoint,
        "description": settings.description,
        "event_types": list(&settings.types),
        "directory_ids": list(&settings.directories),
    })
}

fn print_webhook(w: &Value) {
    let all = |key: &str, none: &str| {
        let items: Vec<&str> = w[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if items.is_empty() {
            none.to_owned()
        } else {
            items.join(", ")
        }
    };
    println!("{}  {}", text(w, "id"), text(w, "url"));
    println!("  status:       {}", text(w, "status"));
    if let Some(reason) = w["disabled_reason"].as_str() {
        println!("  disabled:     {reason}");
    }
    if w["failures"].as_i64().unwrap_or(0) > 0 {
        println!(
            "  failing:      {} attempts since {}; next at {}",
            text(w, "failures"),
            text(w, "failing_since"),
            text(w, "next_attempt_at")
        );
    }
    println!("  event types:  {}", all("event_types", "all"));
    println!("  directories:  {}", all("directory_ids", "all"));
    println!("  sent through: cursor {}", text(w, "delivered_through"));
    println!("  last success: {}", text(w, "last_success_at"));
    if let Some(until) = w["previous_secret_expires_at"].as_str() {
        println!("  old secret:   still signs until {until}");
    }
}

fn print_webhook_secret(created: &Value) {
    print_webhook(&created["webhook"]);
    println!(
        "\nSigning secret (shown once; store it where the receiver reads it):\n\n  {}\n\n\
         Verify each request: HMAC-SHA256(secret, \"<t>.<raw body>\") must equal a v1= of the Roster-Signature header.",
        text(created, "secret")
    );
}

async fn webhooks(command: WebhooksCommand) -> Result<(), CliError> {
    match command {
        WebhooksCommand::List { remote, output } => {
            let list: Vec<Value> = client(&remote)?.get("/webhooks").await?;
            emit(
                &list,
                output.json,
                &["ID", "URL", "STATUS", "FAILURES", "SENT THROUGH", "LAST SUCCESS"],
                &[
                    "id",
                    "url",
                    "status",
                    "failures",
                    "delivered_through",
                    "last_success_at",
                ],
            );
        }
        WebhooksCommand::Show { id, remote, output } => {
            let w: Value = client(&remote)?
                .get(&format!("/webhooks/{}", encode(&id)))
                .await?;
            if output.json {
                print_json(&w);
            } else {
                print_webhook(&w);
            }
        }
        WebhooksCommand::Create {
            settings,
            remote,
            output,
        } => {
            let created: Value = client(&remote)?
                .post("/webhooks", &webhook_body(&settings))
                .await?;
            if output.json {
                print_json(&created);
            } else {
                print_webhook_secret(&created);
            }
        }
        WebhooksCommand::Update {
            id,
            settings,
            remote,
            output,
        } => {
            let w: Value = client(&remote)?
                .put(&format!("/webhooks/{}", encode(&id)), &webhook_body(&settings))
                .await?;
            if output.json {
                print_json(&w);
            } else {
                print_webhook(&w);
            }
        }
        WebhooksCommand::Enable { id, remote } => {
            let w: Value = client(&remote)?
                .post(&format!("/webhooks/{}/enable", encode(&id)), &json!({}))
                .await?;
            println!("Enabled; sending from cursor {}.", text(&w, "delivered_through"));
        }
        WebhooksCommand::Disable { id, remote } => {
            let _: Value = client(&remote)?
                .post(&format!("/webhooks/{}/disable", encode(&id)), &json!({}))
                .await?;
            println!("Disabled: nothing is sent until `roster webhooks enable {id}`.");
        }
        WebhooksCommand::RotateSecret {
            id,
            overlap_hours,
            remote,
            output,
        } => {
            let rotated: Value = client(&remote)?
                .post(
                    &format!("/webhooks/{}/rotate-secret", encode(&id)),
                    &json!({ "overlap_hours": overlap_hours }),
                )
                .await?;
            if output.json {
                print_json(&rotated);
            } else {
                print_webhook_secret(&rotated);
            }
        }
        WebhooksCommand::Test { id, remote, output } => {
            let d: Value = client(&remote)?
                .post(&format!("/webhooks/{}/test", encode(&id)), &json!({}))
                .await?;
            if output.json {
                print_json(&d);
            } else if d["outcome"] == "delivered" {
                println!(
                    "Delivered: the receiver answered {} in {} ms.",
                    text(&d, "status_code"),
                    text(&d, "latency_ms")
                );
            } else {
                println!("Not delivered: {}", text(&d, "error"));
            }
            if d["outcome"] != "delivered" {
                return Err(CliError::failed("the test event was not delivered"));
            }
        }
        WebhooksCommand::Replay { id, after, remote } => {
            let _: Value = client(&remote)?
                .post(
                    &format!("/webhooks/{}/replay", encode(&id)),
                    &json!({ "after": after }),
                )
                .await?;
            println!("Every event after cursor {after} will be sent again, in order.");
        }
        WebhooksCommand::Deliveries {
            id,
            limit,
            remote,
            output,
        } => {
            let list: Vec<Value> = client(&remote)?
                .get(&format!("/webhooks/{}/deliveries?limit={limit}", encode(&id)))
                .await?;
            emit(
                &list,
                output.json,
                &[
                    "AT", "KIND", "ATTEMPT", "EVENTS", "OUTCOME", "STATUS", "MS", "ERROR",
                ],
                &[
                    "attempted_at",
                    "kind",
                    "attempt",
                    "event_count",
                    "outcome",
                    "status_code",
                    "latency_ms",
                    "error",
                ],
            );
        }
        WebhooksCommand::Delete { id, remote } => {
            client(&remote)?
                .call(Method::DELETE, &format!("/webhooks/{}", encode(&id)))
                .await?;
            println!("Deleted: nothing more is sent to it.");
        }
    }
    Ok(())
}

async fn notifications(command: NotificationsCommand) -> Result<(), CliError> {
    match command {
        NotificationsCommand::Status { remote, output } => {
            let status: Value = client(&remote)?.get("/notifications").await?;
            if output.json {
                print_json(&status);
                return Ok(());
            }
            if status["email_enabled"] == true {
                let recipients: Vec<&str> = status["recipients"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "E-mail: on, through {} to {}",
                    text(&status, "smtp_server"),
                    recipients.join(", ")
                );
            } else {
                println!("E-mail: off (set ROSTER_SMTP_URL and ROSTER_NOTIFY_EMAILS on the server)");
            }
            let problems = status["problems"].as_array().cloned().unwrap_or_default();
            if problems.is_empty() {
                println!("No problems need an admin.");
            }
            for p in &problems {
                println!(
                    "\n{}\n  {}\n  mailed {} time(s){}",
                    text(p, "title"),
                    text(p, "action"),
                    text(p, "mails_sent"),
                    p["mail_error"]
                        .as_str()
                        .map(|e| format!("; the last mail failed: {e}"))
                        .unwrap_or_default()
                );
            }
        }
        NotificationsCommand::Test { remote } => {
            let sent: Value = client(&remote)?.post("/notifications/test", &json!({})).await?;
            println!("{}", text(&sent, "message"));
        }
    }
    Ok(())
}

/// How often `events tail --follow` asks for what committed since.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

async fn events(command: EventsCommand) -> Result<(), CliError> {
    let EventsCommand::Tail {
        after,
        last,
        follow,
        types,
        directory,
        remote,
        output,
    } = command;
    let client = client(&remote)?;
    let mut filter = String::new();
    if let Some(t) = &types {
        filter.push_str(&format!("&types={}", encode(t)));
    }
    if let Some(d) = &directory {
        filter.push_str(&format!("&directory={}", encode(d)));
    }
    let mut cursor = match after {
        Some(c) => c,
        None => {
            let page: Value = client.get(&format!("/events?last={last}{filter}")).await?;
            print_events(&page, output.json);
            page["next_cursor"].as_str().unwrap_or("0").to_owned()
        }
    };
    loop {
        let page: Value = client
            .get(&format!("/events?after={}&limit=1000{filter}", encode(&cursor)))
            .await?;
        print_events(&page, output.json);
        if let Some(next) = page["next_cursor"].as_str() {
            cursor = next.to_owned();
        }
        if page["has_more"].as_bool() == Some(true) {
            continue;
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

/// One line per event: JSON Lines with --json (a stream a tool can read as
/// it comes), else the cursor, time, type, directory, entity and version.
fn print_events(page: &Value, json: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for event in page["items"].as_array().into_iter().flatten() {
        let line = if json {
            event.to_string()
        } else {
            format!(
                "{:>8}  {}  {:<22} {}  {}  v{}",
                text(event, "cursor"),
                text(event, "occurred_at"),
                text(event, "type"),
                text(event, "directory_id"),
                text(event, "entity_id"),
                text(event, "version")
            )
        };
        // A closed pipe (`| head`) ends the command quietly.
        if writeln!(out, "{line}").is_err() {
            std::process::exit(0);
        }
    }
    let _ = out.flush();
}

async fn audit(
    action: Option<String>,
    actor: Option<String>,
    failed: bool,
    limit: usize,
    remote: Remote,
    json: bool,
) -> Result<(), CliError> {
    let mut query = vec![format!("failed_only={failed}")];
    if let Some(a) = action {
        query.push(format!("action={}", encode(&a)));
    }
    if let Some(a) = actor {
        query.push(format!("actor={}", encode(&a)));
    }
    let client = client(&remote)?;
    let mut entries: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    while entries.len() < limit {
        let page_size = (limit - entries.len()).min(200);
        let mut path = format!("/audit?{}&limit={page_size}", query.join("&"));
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode(c)));
        }
        let page: Value = client.get(&path).await?;
        entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
        cursor = page["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    emit(
        &entries,
        json,
        &["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "IP"],
        &["at", "actor_name", "action", "target", "outcome", "ip"],
    );
    Ok(())
}
