//! Failure notifications mailed to a real SMTP server on loopback (PyPI
//! `aiosmtpd`, installed by `scripts/setup.sh`, writing a Maildir): a
//! directory whose syncs keep failing is mailed about once, not again until
//! the back-off allows, and no more once it recovers; a webhook endpoint
//! disabled by failures is mailed about; the test mail works and says why
//! when the server is gone.

use crate::okta_fixture::{ready_with, start_sim, ServiceApp};
use okta_sim::{FaultKind, FaultRule};
use server::{
    domain::{notifications::ProblemKind, webhooks::WebhookSettings, Actor, ErrorKind},
    model::{RunStatus, Trigger},
};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

struct SmtpServer {
    child: Child,
    maildir: tempfile::TempDir,
    port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    async fn start() -> Self {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/smtp-venv/bin/python");
        assert!(
            python.exists(),
            "no aiosmtpd at {}: run scripts/setup.sh (it installs PyPI aiosmtpd in .tools/smtp-venv)",
            python.display()
        );
        let maildir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd starts");
        // Owned at once, so the process is reaped however the test ends.
        let server = Self { child, maildir, port };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received, soft line breaks of quoted-printable undone.
    fn messages(&self) -> Vec<String> {
        self.raw_messages()
            .into_iter()
            .map(|m| m.replace("=\n", "").replace("=3D", "="))
            .collect()
    }

    fn raw_messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail/new");
        let mut files: Vec<_> = std::fs::read_dir(new)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} of {count} mails arrived", self.messages().len());
    }
}

/// The subject line of a raw message (lettre may fold or encode it).
fn subject(raw: &str) -> String {
    let start = raw.find("Subject: ").expect("a subject") + "Subject: ".len();
    raw[start..]
        .lines()
        .take_while(|l| !l.is_empty())
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with(' ') || l.starts_with('\t'))
        .map(|(_, l)| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_failing_directory_is_mailed_about_once_with_back_off_and_not_after_it_recovers() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let f = ready_with(
        start_sim(20, 2, 30).await,
        ServiceApp::default(),
        &[
            ("ROSTER_SMTP_URL", url.as_str()),
            ("ROSTER_SMTP_FROM", "Roster <roster@example.com>"),
            ("ROSTER_NOTIFY_EMAILS", "ops@example.com, it@example.com"),
            ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
            ("ROSTER_WEBHOOK_RETRY_BASE_MS", "20"),
            ("ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES", "2"),
            ("ROSTER_WEBHOOK_DISABLE_AFTER_HOURS", "0"),
        ],
    )
    .await;
    let notifications = &f.app.state.core.notifications;
    let sync = || async {
        f.service
            .engine()
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status
    };
    assert_eq!(sync().await, RunStatus::Succeeded);
    assert_eq!(notifications.notify().await.unwrap(), 0);

    // Okta fails every app request: two failures are not yet a problem…
    f.sim.handle().add_fault(FaultRule {
        path_prefix: "/api/v1/apps".into(),
        kind: FaultKind::Status500,
        count: 100_000,
        after: 0,
    });
    for _ in 0..2 {
        assert_eq!(sync().await, RunStatus::Failed);
    }
    assert!(notifications.status().await.unwrap().problems.is_empty());
    assert_eq!(notifications.notify().await.unwrap(), 0);
    // …the third is: one mail to both recipients.
    assert_eq!(sync().await, RunStatus::Failed);
    let status = notifications.status().await.unwrap();
    assert!(status.email_enabled);
    assert_eq!(status.problems.len(), 1, "{:#?}", status.problems);
    assert_eq!(status.problems[0].kind, ProblemKind::SyncFailing);
    assert_eq!(notifications.notify().await.unwrap(), 1);
    let mails = smtp.wait_for(1).await;
    assert!(
        subject(&mails[0]).contains("Syncs of Acme Okta are failing (3 in a row"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("ops@example.com") && mails[0].contains("it@example.com"));
    assert!(
        mails[0].contains(&format!("/directories/{}", f.directory_id)),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("reminder follows in a day"), "{}", mails[0]);

    // Still failing: no new mail until a day has passed (back-off).
    assert_eq!(sync().await, RunStatus::Failed);
    assert_eq!(notifications.notify().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(notifications.status().await.unwrap().problems[0].mails_sent, 1);

    // Recovered: the problem is gone, and nothing more is sent.
    f.sim.handle().clear_faults();
    assert_eq!(sync().await, RunStatus::Succeeded);
    assert!(notifications.status().await.unwrap().problems.is_empty());
    assert_eq!(notifications.notify().await.unwrap(), 0);

    // A webhook endpoint disabled by failures is a problem too.
    let webhooks = &f.app.state.core.webhooks;
    let created = webhooks
        .create(
            &Actor::host(),
            &WebhookSettings {
                url: "http://127.0.0.1:9/nobody-listens".into(),
                ..WebhookSettings::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sync().await, RunStatus::Succeeded); // sync.succeeded: an event to send
    let id = server::model::WebhookId::parse(&created.webhook.id).unwrap();
    for _ in 0..200 {
        if !webhooks.get(&id).await.unwrap().enabled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !webhooks.get(&id).await.unwrap().enabled,
        "disabled after two failures"
    );
    assert_eq!(notifications.notify().await.unwrap(), 1);
    let mails = smtp.wait_for(2).await;
    assert!(
        subject(&mails[1]).contains("Webhook http://127.0.0.1:9/nobody-listens was disabled"),
        "{}",
        mails[1]
    );
    assert!(mails[1].contains("Settings"), "{}", mails[1]);

    // The test mail, then the same with the SMTP server gone.
    let sent = notifications.send_test(&Actor::host()).await.unwrap();
    assert!(sent.contains("ops@example.com"), "{sent}");
    let mails = smtp.wait_for(3).await;
    assert_eq!(subject(&mails[2]), "Roster test mail");
    drop(smtp);
    let err = notifications.send_test(&Actor::host()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Upstream);
    assert!(err.message.contains("127.0.0.1"), "{}", err.message);
}

#[tokio::test]
async fn without_smtp_the_test_mail_says_what_to_configure() {
    let app = crate::helpers::spawn_app().await;
    let err = app
        .state
        .core
        .notifications
        .send_test(&Actor::host())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("ROSTER_SMTP_URL"), "{}", err.message);
    assert!(!app.state.core.notifications.status().await.unwrap().email_enabled);

    // The same through the CLI (and so the REST API).
    let token = crate::rest::token(&app, server::model::TokenScope::ReadWrite).await;
    let status = crate::cli::roster(&app, Some(&token), &["notifications", "status", "--json"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        (status["email_enabled"].clone(), status["problems"].clone()),
        (false.into(), serde_json::json!([]))
    );
    let test = crate::cli::roster(&app, Some(&token), &["notifications", "test"]).await;
    assert_ne!(test.code, 0);
    assert!(test.stderr.contains("ROSTER_SMTP_URL"), "{}", test.stderr);
}
