//! Configuration: defaults, then an optional TOML file, then `ROSTER_*`
//! environment variables. Every value is validated here so that the rest of
//! the server only ever sees usable settings.

use serde::Deserialize;
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    FileUnreadable { path: String, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    FileInvalid { path: String, reason: String },
    #[error("{key}={value:?} is not a valid listen address; use host:port, e.g. 127.0.0.1:3000")]
    ListenAddress { key: &'static str, value: String },
    #[error(
        "{key}={value:?} is not usable ({reason}); use sqlite://PATH (e.g. sqlite://./data/roster.db) \
         or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    DatabaseUrl {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("{key}={value:?} is not a valid public URL; use http(s)://host[:port] without a path")]
    PublicUrl { key: &'static str, value: String },
    #[error("ROSTER_OKTA_EXTRA_ORIGINS is not valid: {0}")]
    ExtraOrigins(String),
    #[error("{key}={value:?} is not valid; use a whole number from {min} to {max}")]
    Number {
        key: &'static str,
        value: String,
        min: i64,
        max: i64,
    },
    #[error("{key}={value:?} is not valid; use true or false")]
    Flag { key: &'static str, value: String },
    #[error("{key} is not valid: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("{key}={value:?} is not a log filter; use a level such as info, debug or warn")]
    LogLevel { key: &'static str, value: String },
}

/// Where the server reads its settings from; the real process uses its
/// environment, tests pass a map.
pub trait Source {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    /// `None`: derived from the address actually bound (see `startup`).
    pub public_url: Option<PublicUrl>,
    pub log_filter: String,
    /// Base64 of 32 bytes; when absent the key file in `data_dir` is used.
    pub master_key: Option<String>,
    /// Origins allowed besides Okta's own domains (the simulator in tests and the demo).
    pub okta_extra_origins: Vec<String>,
    /// Where the compiled site (wasm, js, css, public files) is served from.
    pub site_root: PathBuf,
    /// A portal session ends after this long without a request…
    pub session_idle: time::Duration,
    /// …and this long after sign-in, whatever happens.
    pub session_absolute: time::Duration,
    /// How long audit entries are kept.
    pub audit_retention: time::Duration,
    /// How long the event log keeps events.
    pub event_retention: time::Duration,
    /// Take the client address from the last `X-Forwarded-For` entry
    /// (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// How webhooks are delivered: retries, disabling, allowed networks.
    pub webhooks: crate::domain::webhooks::DeliveryPolicy,
    /// Failure notifications: thresholds and e-mail.
    pub notify: crate::domain::notifications::NotifyPolicy,
}

/// The file form: every key optional, same names as the variables without the prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    log: Option<String>,
    site_root: Option<String>,
}

impl Config {
    pub fn load(source: &impl Source) -> Result<Self, ConfigError> {
        let file = match source.var("ROSTER_CONFIG") {
            Some(path) => read_file(Path::new(&path))?,
            None if Path::new("roster.toml").exists() => read_file(Path::new("roster.toml"))?,
            None => FileConfig::default(),
        };
        let pick = |key: &str, from_file: Option<String>| source.var(key).or(from_file);

        let listen_raw = pick("ROSTER_LISTEN", file.listen).unwrap_or_else(|| "127.0.0.1:3000".into());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| ConfigError::ListenAddress {
            key: "ROSTER_LISTEN",
            value: listen_raw.clone(),
        })?;

        let data_dir =
            PathBuf::from(pick("ROSTER_DATA_DIR", file.data_dir).unwrap_or_else(|| "./data".into()));

        let database = match pick("ROSTER_DATABASE_URL", file.database_url) {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("roster.db")),
        };

        let public_url = pick("ROSTER_PUBLIC_URL", file.public_url)
            .map(|url| PublicUrl::parse(&url))
            .transpose()?;

        let log_filter = pick("ROSTER_LOG", file.log).unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError::LogLevel {
                key: "ROSTER_LOG",
                value: log_filter,
            });
        }

        let site_root = source
            .var("LEPTOS_SITE_ROOT")
            .or_else(|| pick("ROSTER_SITE_ROOT", file.site_root))
            .unwrap_or_else(|| "target/site".into());

        let okta_extra_origins = match source.var("ROSTER_OKTA_EXTRA_ORIGINS") {
            Some(raw) => crate::okta::parse_extra_origins(&raw).map_err(ConfigError::ExtraOrigins)?,
            None => Vec::new(),
        };

        let session_idle =
            time::Duration::minutes(number(source, "ROSTER_SESSION_IDLE_MINUTES", 720, 5, 10_080)?);
        let session_absolute = time::Duration::hours(number(source, "ROSTER_SESSION_MAX_HOURS", 24, 1, 720)?);
        let audit_retention =
            time::Duration::days(number(source, "ROSTER_AUDIT_RETENTION_DAYS", 365, 1, 3_650)?);
        let event_retention = time::Duration::days(number(
            source,
            "ROSTER_EVENT_RETENTION_DAYS",
            crate::domain::events::DEFAULT_RETENTION_DAYS,
            1,
            3_650,
        )?);
        let trust_forwarded_for = match source.var("ROSTER_TRUST_FORWARDED_FOR").as_deref().map(str::trim) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError::Flag {
                    key: "ROSTER_TRUST_FORWARDED_FOR",
                    value: other.to_owned(),
                })
            }
        };

        let webhooks = crate::domain::webhooks::DeliveryPolicy {
            allowed_networks: match source.var("ROSTER_WEBHOOK_ALLOWED_NETWORKS") {
                Some(raw) => {
                    crate::domain::webhooks::parse_networks(&raw).map_err(|reason| ConfigError::Invalid {
                        key: "ROSTER_WEBHOOK_ALLOWED_NETWORKS",
                        reason,
                    })?
                }
                None => Vec::new(),
            },
            retry_base: std::time::Duration::from_millis(number(
                source,
                "ROSTER_WEBHOOK_RETRY_BASE_MS",
                10_000,
                10,
                600_000,
            )? as u64),
            retry_cap: std::time::Duration::from_secs(number(
                source,
                "ROSTER_WEBHOOK_RETRY_MAX_SECS",
                3_600,
                1,
                86_400,
            )? as u64),
            disable_after_failures: number(source, "ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES", 10, 1, 1_000)?,
            disable_after: time::Duration::hours(number(
                source,
                "ROSTER_WEBHOOK_DISABLE_AFTER_HOURS",
                24,
                0,
                720,
            )?),
            batch_size: number(source, "ROSTER_WEBHOOK_BATCH_SIZE", 100, 1, 1_000)?,
            timeout: std::time::Duration::from_secs(
                number(source, "ROSTER_WEBHOOK_TIMEOUT_SECS", 10, 1, 60)? as u64,
            ),
        };

        let notify = crate::domain::notifications::NotifyPolicy {
            after_failures: number(source, "ROSTER_NOTIFY_AFTER_FAILURES", 3, 1, 100)?,
            after: time::Duration::hours(number(source, "ROSTER_NOTIFY_AFTER_HOURS", 24, 1, 720)?),
            mail: crate::domain::notifications::MailSettings::parse(
                source.var("ROSTER_SMTP_URL").filter(|u| !u.trim().is_empty()),
                source.var("ROSTER_SMTP_FROM"),
                source.var("ROSTER_NOTIFY_EMAILS"),
            )
            .map_err(|reason| ConfigError::Invalid {
                key: "The e-mail settings",
                reason,
            })?,
        };

        Ok(Self {
            notify,
            webhooks,
            session_idle,
            session_absolute,
            audit_retention,
            event_retention,
            trust_forwarded_for,
            okta_extra_origins,
            listen,
            data_dir,
            database,
            public_url,
            log_filter,
            master_key: source.var("ROSTER_MASTER_KEY"),
            site_root: PathBuf::from(site_root),
        })
    }
}

fn number(
    source: &impl Source,
    key: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match source.var(key) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(ConfigError::Number {
                key,
                value: raw,
                min,
                max,
            }),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::FileUnreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::FileInvalid {
        path: path.display().to_string(),
        reason: e.message().to_string(),
    })
}

/// The database to use: an embedded SQLite file (the default) or a
/// PostgreSQL 15+ server.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    /// The URL as given. It may hold a password: never print it, print
    /// [`DatabaseUrl::location`] (which leaves the password out).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.kind(), self.location())
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::DatabaseUrl {
            key: "ROSTER_DATABASE_URL",
            value: redact_password(raw),
            reason: reason.to_owned(),
        };
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let options = raw
                .parse::<sqlx::postgres::PgConnectOptions>()
                .map_err(|e| invalid(&first_line(&e.to_string())))?;
            if options.get_database().is_none() {
                return Err(invalid("it names no database; end it with /DATABASE"));
            }
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .ok_or_else(|| invalid("it is neither sqlite:// nor postgres://"))?;
        // Query options would be silently ignored by our own pool settings.
        if path.is_empty() || path.contains('?') || path == ":memory:" {
            return Err(invalid("a SQLite URL takes a file path and no options"));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// Where the database is, without any password.
    pub fn location(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// The URL admins use to reach Roster; decides cookie security and printed links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::PublicUrl {
            key: "ROSTER_PUBLIC_URL",
            value: raw.to_owned(),
        };
        let trimmed = raw.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
            .ok_or_else(invalid)?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(invalid());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a browser should open when Roster listens on `addr` with no public URL set.
    pub fn for_listen_address(addr: std::net::SocketAddr) -> Self {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
            format!("[{host}]")
        } else {
            host
        };
        Self(format!("http://{host}:{}", addr.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&map)
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = load(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            config.database,
            DatabaseUrl::Sqlite(PathBuf::from("./data/roster.db"))
        );
        assert_eq!(config.public_url, None);
    }

    #[test]
    fn environment_overrides_are_validated() {
        let config = load(&[
            ("ROSTER_LISTEN", "0.0.0.0:8080"),
            ("ROSTER_DATABASE_URL", "sqlite:///var/lib/roster/db.sqlite"),
            ("ROSTER_PUBLIC_URL", "https://roster.example.com/"),
        ])
        .unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.database.location(), "/var/lib/roster/db.sqlite");
        let public_url = config.public_url.unwrap();
        assert!(public_url.is_https());
        assert_eq!(public_url.as_str(), "https://roster.example.com");
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        let err = load(&[("ROSTER_DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ROSTER_DATABASE_URL") && err.contains("sqlite://"),
            "{err}"
        );
        let err = load(&[("ROSTER_LISTEN", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("ROSTER_LISTEN"), "{err}");
        assert!(load(&[("ROSTER_PUBLIC_URL", "https://x.example.com/roster")]).is_err());
        assert!(load(&[("ROSTER_LOG", "info,[[")]).is_err());
        let err = load(&[("ROSTER_SESSION_IDLE_MINUTES", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ROSTER_SESSION_IDLE_MINUTES") && err.contains("5 to"),
            "{err}"
        );
        assert!(load(&[("ROSTER_TRUST_FORWARDED_FOR", "yes please")]).is_err());
        let config = load(&[("ROSTER_SESSION_MAX_HOURS", "8")]).unwrap();
        assert_eq!(config.session_absolute, time::Duration::hours(8));
    }

    #[test]
    fn postgres_urls_are_accepted_and_their_passwords_never_shown() {
        let url =
            DatabaseUrl::parse("postgres://roster:s3cret@db.internal:5433/roster?sslmode=require").unwrap();
        assert_eq!(url.kind(), "PostgreSQL");
        assert_eq!(
            url.location(),
            "postgres://roster:***@db.internal:5433/roster?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(DatabaseUrl::parse("postgresql://localhost/roster").is_ok());
        let err = DatabaseUrl::parse("postgres://roster:s3cret@db.internal:5433").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("names no database"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        let err = DatabaseUrl::parse("mysql://x/y").unwrap_err().to_string();
        assert!(
            err.contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
            "{err}"
        );
    }
}
