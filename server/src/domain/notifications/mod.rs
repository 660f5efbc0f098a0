//! Failure notifications: what needs an admin (a directory whose syncs keep
//! failing or that went a day without success, a sync held for review, a
//! key rotation left unfinished, a webhook endpoint disabled by failures),
//! shown on the overview and mailed through SMTP with Firezone's back-off:
//! at once, then a day later, then every 3 days, then weekly, for as long as
//! the problem lasts, so a broken directory does not spam. Every process
//! runs the check; a compare-and-set on the problem's row picks the one
//! that sends.

mod mail;

pub use mail::MailSettings;

use super::{
    audit::{Audit, AuditAction},
    directories::{Directories, DirectoryStatus, DirectorySummary},
    webhooks::{WebhookStatus, Webhooks},
    Actor, DomainError, DomainResult,
};
use crate::{
    model::{KeyState, RunStatus, Trigger},
    store::{self, NotificationRow, Store},
};
use serde::Serialize;
use utoipa::ToSchema;

/// When a failing directory becomes a problem.
#[derive(Debug, Clone)]
pub struct NotifyPolicy {
    /// This many failed syncs in a row…
    pub after_failures: i64,
    /// …or failing for this long without a success.
    pub after: time::Duration,
    pub mail: MailSettings,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        Self {
            after_failures: 3,
            after: time::Duration::hours(24),
            mail: MailSettings::default(),
        }
    }
}

/// A mail that could not be sent is tried again after this long.
const FAILED_MAIL_RETRY: time::Duration = time::Duration::minutes(15);

/// A key rotation is mailed about once it has waited this long for Okta.
const KEY_ROTATION_GRACE: time::Duration = time::Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    SyncFailing,
    HeldForReview,
    KeyRotationPending,
    WebhookDisabled,
}

/// Something an admin should act on.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// Stable while the problem lasts: `directory:<id>:failing`, `webhook:<id>:disabled`, …
    pub subject: String,
    pub kind: ProblemKind,
    /// One line: what is wrong, with the directory or endpoint named.
    pub title: String,
    /// What to do about it.
    pub action: String,
    /// Where in the portal to act (a path).
    pub link: String,
    /// When Roster first saw it.
    pub since: String,
    /// Mails sent about it so far (reminders included).
    pub mails_sent: i64,
    pub last_mailed_at: Option<String>,
    /// Why the last mail could not be sent.
    pub mail_error: Option<String>,
}

/// What a check finds; [`Problem::open`] adds what was mailed.
struct OpenProblem {
    subject: String,
    kind: ProblemKind,
    title: String,
    action: String,
    link: String,
}

impl Problem {
    /// A problem as found, before it is matched with its notification row.
    fn open(p: OpenProblem) -> Self {
        Self {
            subject: p.subject,
            kind: p.kind,
            title: p.title,
            action: p.action,
            link: p.link,
            since: String::new(),
            mails_sent: 0,
            last_mailed_at: None,
            mail_error: None,
        }
    }
}

/// E-mail set-up and the open problems, as every front door shows them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NotificationStatus {
    pub email_enabled: bool,
    /// host:port of the SMTP server (never the credentials).
    pub smtp_server: Option<String>,
    pub recipients: Vec<String>,
    pub problems: Vec<Problem>,
}

#[derive(Clone)]
pub struct Notifications {
    store: Store,
    directories: Directories,
    webhooks: Webhooks,
    audit: Audit,
    policy: NotifyPolicy,
    public_url: String,
}

impl Notifications {
    pub fn new(
        store: Store,
        directories: Directories,
        webhooks: Webhooks,
        audit: Audit,
        policy: NotifyPolicy,
        public_url: String,
    ) -> Self {
        Self {
            store,
            directories,
            webhooks,
            audit,
            policy,
            public_url,
        }
    }

    /// The open problems, with what was mailed about them.
    pub async fn status(&self) -> DomainResult<NotificationStatus> {
        // A read: the rows are matched, not brought in line (the checker does that).
        let mut problems = self.find().await?;
        attach(&mut problems, &self.store.notification_rows().await?);
        Ok(NotificationStatus {
            email_enabled: self.policy.mail.enabled(),
            smtp_server: self.policy.mail.server(),
            recipients: self.policy.mail.to.clone(),
            problems,
        })
    }

    /// Mails every problem whose next reminder is due; returns how many
    /// mails went out. The background task calls this every minute.
    pub async fn notify(&self) -> DomainResult<usize> {
        let problems = self.reconcile().await?;
        if !self.policy.mail.enabled() {
            return Ok(0);
        }
        let now = store::now();
        let mut sent = 0;
        for problem in problems {
            let first_seen = store::parse_timestamp(&problem.since).unwrap_or(now);
            if problem.kind == ProblemKind::KeyRotationPending && now - first_seen < KEY_ROTATION_GRACE {
                continue;
            }
            let last = problem
                .last_mailed_at
                .as_deref()
                .and_then(|t| store::parse_timestamp(t).ok());
            let due = match (&problem.mail_error, last) {
                // The last try failed: again after a pause, not every minute
                // (a wrong password would otherwise lock the mail account).
                (Some(_), Some(tried)) => now - tried >= FAILED_MAIL_RETRY,
                _ => reminder_due(problem.mails_sent, last, now),
            };
            if !due {
                continue;
            }
            if !self
                .store
                .claim_notification(&problem.subject, problem.mails_sent, &store::timestamp(now))
                .await?
            {
                continue; // another process sends this one
            }
            let (subject, body) = self.compose(&problem);
            match self.policy.mail.send(&subject, &body).await {
                Ok(()) => sent += 1,
                Err(error) => {
                    tracing::warn!(problem = %problem.subject, %error, "could not mail a notification");
                    if let Err(e) = self
                        .store
                        .notification_failed(&problem.subject, problem.mails_sent + 1, &error)
                        .await
                    {
                        tracing::warn!(problem = %problem.subject, error = %e, "could not record a failed notification");
                    }
                }
            }
        }
        Ok(sent)
    }

    /// Sends a test mail to the recipients now and says how it went.
    pub async fn send_test(&self, actor: &Actor) -> DomainResult<String> {
        actor.require_write()?;
        if !self.policy.mail.enabled() {
            return Err(DomainError::invalid(
                "E-mail is not configured: set ROSTER_SMTP_URL and ROSTER_NOTIFY_EMAILS (and ROSTER_SMTP_FROM) and restart Roster.",
            ));
        }
        let outcome = self
            .policy
            .mail
            .send(
                "Roster test mail",
                &format!(
                    "This is a test mail from Roster at {}.\n\nFailure notifications will arrive like this one.\n",
                    self.public_url
                ),
            )
            .await;
        let detail = serde_json::json!({"recipients": self.policy.mail.to, "error": outcome.as_ref().err()});
        match outcome {
            Ok(()) => {
                self.audit
                    .record(actor, AuditAction::TestMailSent, None, detail)
                    .await;
                Ok(format!("Sent to {}.", self.policy.mail.to.join(", ")))
            }
            Err(error) => {
                self.audit
                    .record_failure(actor, AuditAction::TestMailSent, None, detail)
                    .await;
                Err(DomainError::upstream(format!("The test mail was not sent: {error}."))
                    .with_hint("Check ROSTER_SMTP_URL (host, port, TLS mode, user and password) and that Roster may reach the server."))
            }
        }
    }

    /// Works out the open problems and brings the notification rows in line.
    async fn reconcile(&self) -> DomainResult<Vec<Problem>> {
        let mut problems = self.find().await?;
        let subjects: Vec<String> = problems.iter().map(|p| p.subject.clone()).collect();
        let rows = self
            .store
            .sync_notifications(&subjects, &store::timestamp(store::now()))
            .await?;
        attach(&mut problems, &rows);
        Ok(problems)
    }

    /// The open problems, as the directories and endpoints are now.
    async fn find(&self) -> DomainResult<Vec<Problem>> {
        let mut problems = Vec::new();
        for directory in self.directories.list().await? {
            problems.extend(self.directory_problems(&directory).await?);
        }
        for webhook in self.webhooks.troubled().await? {
            if webhook.status != WebhookStatus::Disabled {
                continue;
            }
            problems.push(Problem::open(OpenProblem {
                subject: format!("webhook:{}:disabled", webhook.id),
                kind: ProblemKind::WebhookDisabled,
                title: format!("Webhook {} was disabled after repeated failures", webhook.url),
                action: format!(
                    "{} Fix the receiver, then Enable it on Settings → Webhooks: what waited is sent from where it stopped.",
                    webhook.disabled_reason.unwrap_or_default()
                ),
                link: "/settings/webhooks".into(),
            }));
        }
        Ok(problems)
    }

    async fn directory_problems(&self, d: &DirectorySummary) -> DomainResult<Vec<Problem>> {
        let mut problems = Vec::new();
        let link = format!("/directories/{}", d.id);
        if d.status == DirectoryStatus::NeedsConfirmation {
            problems.push(Problem::open(OpenProblem {
                subject: format!("directory:{}:held", d.id),
                kind: ProblemKind::HeldForReview,
                title: format!("A sync of {} is held for review", d.name),
                action: "It would remove more than the safety threshold allows. Review the changes on the directory card, then Apply or Discard; nothing syncs until then.".into(),
                link: link.clone(),
            }));
        }
        if d.paused.is_none() && d.pull_enabled {
            let failures = self.failures_in_a_row(d).await?;
            let failing_long = d
                .failing_since
                .as_deref()
                .and_then(|t| store::parse_timestamp(t).ok())
                .is_some_and(|since| store::now() - since >= self.policy.after);
            if failures >= self.policy.after_failures || failing_long {
                let error = d
                    .last_error
                    .as_ref()
                    .map(|e| format!(" The last error: {} {}", e.message, e.hint))
                    .unwrap_or_default();
                problems.push(Problem::open(OpenProblem {
                    subject: format!("directory:{}:failing", d.id),
                    kind: ProblemKind::SyncFailing,
                    title: format!(
                        "Syncs of {} are failing ({failures} in a row{})",
                        d.name,
                        d.failing_since
                            .as_deref()
                            .map(|s| format!(", since {}", minutes(s)))
                            .unwrap_or_default()
                    ),
                    action: format!(
                        "Roster's copy of the directory is getting stale: deprovisioned people may still look present.{error}"
                    ),
                    link: link.clone(),
                }));
            }
        }
        if d.pull_enabled
            && self
                .store
                .live_keys(d.id.as_str())
                .await?
                .iter()
                .any(|k| k.state == KeyState::Next)
        {
            problems.push(Problem::open(OpenProblem {
                subject: format!("directory:{}:key_rotation", d.id),
                kind: ProblemKind::KeyRotationPending,
                title: format!("The key rotation of {} is not finished", d.name),
                action: "Add the new public key to the Okta API Services app (General → Public keys); Roster switches to it once Okta knows it, and the current key is then retired.".into(),
                link,
            }));
        }
        Ok(problems)
    }

    /// Failed syncs since the last success (previews and running ones aside).
    async fn failures_in_a_row(&self, d: &DirectorySummary) -> DomainResult<i64> {
        let window = self.policy.after_failures.max(1) + 1;
        let runs = self.store.runs(d.id.as_str(), window * 3).await?;
        Ok(runs
            .iter()
            .filter(|r| r.trigger != Trigger::Preview && r.status != RunStatus::Running)
            .take_while(|r| r.status == RunStatus::Failed)
            .count() as i64)
    }

    fn compose(&self, problem: &Problem) -> (String, String) {
        let reminder = if problem.mails_sent > 0 {
            format!(
                "\n\nThis is reminder {} about this problem; the next comes in {}.",
                problem.mails_sent,
                next_interval_words(problem.mails_sent + 1)
            )
        } else {
            format!(
                "\n\nIf it lasts, a reminder follows in {}, then every 3 days, then weekly.",
                next_interval_words(1)
            )
        };
        (
            format!("[Roster] {}", problem.title),
            format!(
                "{}.\n\n{}\n\nOpen: {}{}{reminder}\n",
                problem.title,
                problem.action,
                self.public_url.trim_end_matches('/'),
                problem.link
            ),
        )
    }
}

/// Adds to each problem what its notification row says was mailed.
fn attach(problems: &mut [Problem], rows: &[NotificationRow]) {
    for problem in problems {
        if let Some(row) = rows.iter().find(|r| r.subject == problem.subject) {
            problem.since = row.first_seen_at.clone();
            problem.mails_sent = row.sent_count;
            problem.last_mailed_at = row.last_sent_at.clone();
            problem.mail_error = row.last_error.clone();
        }
    }
}

/// A stored timestamp as people read it in a mail: `2026-12-06 04:23 UTC`.
fn minutes(stored: &str) -> String {
    match store::parse_timestamp(stored) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => stored.to_owned(),
    }
}

/// Firezone's schedule: the first mail at once, then after a day, after 3
/// more days, then weekly.
fn reminder_due(sent: i64, last: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> bool {
    match (sent, last) {
        (0, _) | (_, None) => true,
        (n, Some(last)) => now - last >= interval_after(n),
    }
}

fn interval_after(sent: i64) -> time::Duration {
    match sent {
        ..=1 => time::Duration::days(1),
        2 => time::Duration::days(3),
        _ => time::Duration::days(7),
    }
}

fn next_interval_words(sent: i64) -> &'static str {
    match sent {
        ..=1 => "a day",
        2 => "3 days",
        _ => "a week",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_back_off_daily_then_every_three_days_then_weekly() {
        let t0 = time::OffsetDateTime::UNIX_EPOCH;
        let h = time::Duration::hours;
        assert!(reminder_due(0, None, t0));
        assert!(!reminder_due(1, Some(t0), t0 + h(23)));
        assert!(reminder_due(1, Some(t0), t0 + h(24)));
        assert!(!reminder_due(2, Some(t0), t0 + h(71)));
        assert!(reminder_due(2, Some(t0), t0 + h(72)));
        assert!(!reminder_due(3, Some(t0), t0 + h(167)));
        assert!(reminder_due(9, Some(t0), t0 + h(168)));
    }
}
