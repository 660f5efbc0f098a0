//! E-mail through SMTP (`lettre`). The URL is lettre's: `smtps://user:pass@host:465`
//! (TLS), `smtp://user:pass@host:587?tls=required` (STARTTLS), or
//! `smtp://host:25` (plain, for a relay on the same host). It holds a
//! password: it is never logged or shown, only its host.

use lettre::{
    message::{header::ContentType, Mailbox},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::time::Duration;

/// Where mail goes and how; checked when the configuration is loaded.
#[derive(Clone, Default)]
pub struct MailSettings {
    /// `None`: e-mail is off.
    pub smtp_url: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// Prints the server, never the URL (it may hold a password).
impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("server", &self.server())
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl MailSettings {
    /// Checks the values an operator set, with the fix in the message
    /// (which never repeats the URL: it may hold a password).
    pub fn parse(smtp_url: Option<String>, from: Option<String>, to: Option<String>) -> Result<Self, String> {
        let from = from.unwrap_or_else(|| "Roster <roster@localhost>".into());
        from.parse::<Mailbox>().map_err(|e| {
            format!("ROSTER_SMTP_FROM is not an address ({e}); use e.g. Roster <roster@example.com>")
        })?;
        let to: Vec<String> = to
            .iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        for address in &to {
            address.parse::<Mailbox>().map_err(|e| {
                format!(
                    "ROSTER_NOTIFY_EMAILS: {address:?} is not an address ({e}); separate several with commas"
                )
            })?;
        }
        if let Some(url) = &smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
                format!(
                    "ROSTER_SMTP_URL is not usable ({e}); use smtps://USER:PASSWORD@HOST:465, \
                     smtp://USER:PASSWORD@HOST:587?tls=required or smtp://HOST:25"
                )
            })?;
            if to.is_empty() {
                return Err(
                    "ROSTER_SMTP_URL is set but ROSTER_NOTIFY_EMAILS is empty: say who receives the mail"
                        .into(),
                );
            }
        }
        Ok(Self { smtp_url, from, to })
    }

    pub fn enabled(&self) -> bool {
        self.smtp_url.is_some()
    }

    /// The SMTP server's host and port, for pages (never the credentials).
    pub fn server(&self) -> Option<String> {
        let url = url::Url::parse(self.smtp_url.as_deref()?).ok()?;
        Some(format!(
            "{}:{}",
            url.host_str()?,
            url.port()
                .unwrap_or(if url.scheme() == "smtps" { 465 } else { 25 })
        ))
    }

    /// Sends one plain-text message to every recipient.
    pub async fn send(&self, subject: &str, body: &str) -> Result<(), String> {
        let Some(url) = &self.smtp_url else {
            return Err("e-mail is not configured (set ROSTER_SMTP_URL and ROSTER_NOTIFY_EMAILS)".into());
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("ROSTER_SMTP_URL is not usable: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let mut message = Message::builder()
            .from(self.from.parse::<Mailbox>().map_err(|e| e.to_string())?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.parse::<Mailbox>().map_err(|e| e.to_string())?);
        }
        let message = message.body(body.to_owned()).map_err(|e| e.to_string())?;
        transport.send(message).await.map(|_| ()).map_err(|e| {
            format!(
                "the SMTP server {} refused or could not be reached: {e}",
                self.server().unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_without_echoing_the_password() {
        assert!(!MailSettings::parse(None, None, None).unwrap().enabled());
        let ok = MailSettings::parse(
            Some("smtps://roster:hunter2@mail.example.com:465".into()),
            Some("Roster <roster@example.com>".into()),
            Some("ops@example.com, it@example.com".into()),
        )
        .unwrap();
        assert_eq!(ok.to.len(), 2);
        assert_eq!(ok.server().as_deref(), Some("mail.example.com:465"));
        let err = MailSettings::parse(
            Some("mailto://roster:hunter2@x".into()),
            None,
            Some("a@example.com".into()),
        )
        .unwrap_err();
        assert!(
            !err.contains("hunter2") && err.contains("ROSTER_SMTP_URL"),
            "{err}"
        );
        assert!(MailSettings::parse(Some("smtp://localhost:25".into()), None, None).is_err());
        assert!(MailSettings::parse(None, None, Some("not an address".into())).is_err());
    }
}
