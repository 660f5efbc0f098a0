//! Sign in with Okta: its settings (tested before saved), the OIDC flow,
//! the sign-ins behind sessions, and their revocation when Okta says a
//! person is gone.
//!
//! Which groups decide a role: the ID token's `groups` claim (or userinfo's)
//! at sign-in. Only when the issuer sends no `groups` claim at all are the
//! person's groups in a synced directory used. After sign-in a sync can only
//! take access away (deprovisioned, or out of every group that granted the
//! role), never grant more; a new role needs a new sign-in.

mod oidc;
mod settings;

pub use oidc::{
    verify_id_token, FlowSecrets, GroupsClaim, Identity, OidcError, RelyingParty, RpClient,
    ALLOWED_CLOCK_SKEW,
};
pub use settings::{parse_issuer, role_for, OktaAppValues, SettingsInput, ValidSettings, CALLBACK_PATH};

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    clock, DomainError, DomainResult,
};
use crate::{
    crypto::MasterKey,
    model::{DirectoryState, Role, SignInMethod},
    store::{NewSignin, OktaPerson, SigninSettingsRow, Store},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use zeroize::Zeroizing;

const SECRET_PURPOSE: &str = "oidc-client-secret";
/// How long a started Test sign-in may take.
const TEST_VALIDITY: time::Duration = time::Duration::minutes(15);
/// How long the browser may take between leaving for Okta and coming back.
const FLOW_VALIDITY: time::Duration = time::Duration::minutes(10);

/// The settings as shown back: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SigninSettingsView {
    pub configured: bool,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub admin_groups: Vec<String>,
    pub viewer_groups: Vec<String>,
    /// When the saved settings passed Test sign-in, and who ran it; None
    /// when saved with "save anyway".
    pub tested_at: Option<String>,
    pub tested_by: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    /// Whether anyone has signed in through Okta yet.
    pub okta_admin_signed_in: bool,
    pub okta_app: OktaAppValues,
}

/// What a Test sign-in found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestReport {
    /// `pending` until the other tab comes back, then `passed` or `failed`.
    pub state: String,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// `id-token`, `userinfo`, `directory` or `none`.
    pub groups_source: String,
    /// `admin`, `viewer` or `refused`.
    pub verdict: Option<String>,
    pub error: Option<String>,
}

impl TestReport {
    fn pending() -> Self {
        Self {
            state: "pending".into(),
            subject: None,
            email: None,
            name: None,
            groups: Vec::new(),
            groups_source: "none".into(),
            verdict: None,
            error: None,
        }
    }
}

/// A Test sign-in as kept in the database (every replica sees it).
struct TestRun {
    settings: ValidSettings,
    started_by: String,
    started_at: time::OffsetDateTime,
    report: TestReport,
}

/// The settings under test, as sealed into the database.
#[derive(Serialize, Deserialize)]
struct TestedSettings {
    issuer: String,
    client_id: String,
    client_secret: String,
    admin_groups: Vec<String>,
    viewer_groups: Vec<String>,
}

fn test_purpose(test_id: &str) -> String {
    format!("signin-test:{test_id}")
}

/// Why a browser is at Okta: to sign in, or to test unsaved settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowPurpose {
    SignIn,
    Test { test_id: String },
}

/// Kept in the session while the browser is at Okta.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingFlow {
    pub purpose: FlowPurpose,
    pub secrets: FlowSecrets,
    pub started_at: i64,
}

/// The callback's query, as Okta sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A started flow: where to send the browser, and what to keep.
pub struct StartedFlow {
    pub url: String,
    pub pending: PendingFlow,
}

/// What the callback did.
#[derive(Debug)]
pub enum CallbackOutcome {
    SignedIn(Box<SignedIn>),
    /// Authenticated, but in none of the groups that give access.
    Refused {
        who: String,
        needed: Vec<String>,
    },
    /// A Test sign-in finished; the settings tab shows the report.
    Tested(TestReport),
    /// Nothing signed in: a title and a message for the page (the reason is logged).
    Failed {
        title: String,
        message: String,
    },
}

#[derive(Debug)]
pub struct SignedIn {
    pub signin_id: String,
    pub role: Role,
    pub name: String,
    /// For RP-initiated logout.
    pub id_token: String,
    pub end_session_endpoint: Option<String>,
}

/// The person behind a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub signin_id: String,
    pub admin_id: uuid::Uuid,
    pub name: String,
    pub role: Role,
    pub method: SignInMethod,
}

/// Why a session is not (or no longer) valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    Valid,
    Revoked,
    Expired,
    Unknown,
}

#[derive(Clone)]
pub struct SignInService {
    store: Store,
    master_key: Arc<MasterKey>,
    http: reqwest::Client,
    extra_origins: Vec<String>,
    public_url: String,
    audit: Audit,
    /// A sign-in's absolute lifetime (the idle timeout is the session layer's).
    max_session: time::Duration,
}

fn random_id() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use rand::RngCore;
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    tracing::error!(error = %e, "sign-in settings could not be read");
    DomainError::new(
        super::ErrorKind::Internal,
        "The sign-in settings could not be read.",
    )
}

impl SignInService {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        http: reqwest::Client,
        extra_origins: Vec<String>,
        public_url: String,
        audit: Audit,
        max_session: time::Duration,
    ) -> Self {
        Self {
            store,
            master_key,
            http,
            extra_origins,
            public_url,
            audit,
            max_session,
        }
    }

    fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }

    pub fn okta_app_values(&self) -> OktaAppValues {
        OktaAppValues::for_public_url(&self.public_url)
    }

    async fn stored(&self) -> DomainResult<Option<(SigninSettingsRow, ValidSettings)>> {
        let Some(row) = self.store.signin_settings().await? else {
            return Ok(None);
        };
        let secret = self
            .master_key
            .open(&row.client_secret_sealed, SECRET_PURPOSE)
            .map_err(internal)?;
        let secret = Zeroizing::new(String::from_utf8(secret.to_vec()).map_err(internal)?);
        let valid = ValidSettings {
            issuer: row.issuer.clone(),
            client_id: row.client_id.clone(),
            client_secret: secret,
            admin_groups: row.admin_groups.clone(),
            viewer_groups: row.viewer_groups.clone(),
        };
        Ok(Some((row, valid)))
    }

    pub async fn settings(&self) -> DomainResult<SigninSettingsView> {
        let row = self.store.signin_settings().await?;
        let okta_admin_signed_in = self.store.count_okta_admins().await? > 0;
        let (admin_groups, viewer_groups) = row
            .as_ref()
            .map(|r| (r.admin_groups.clone(), r.viewer_groups.clone()))
            .unwrap_or_default();
        Ok(SigninSettingsView {
            configured: row.is_some(),
            client_secret_set: row.is_some(),
            admin_groups,
            viewer_groups,
            tested_at: row.as_ref().and_then(|r| r.tested_at.clone()),
            tested_by: row.as_ref().and_then(|r| r.tested_by.clone()),
            updated_at: row.as_ref().map(|r| r.updated_at.clone()),
            updated_by: row.as_ref().map(|r| r.updated_by.clone()),
            issuer: row.as_ref().map(|r| r.issuer.clone()),
            client_id: row.map(|r| r.client_id),
            okta_admin_signed_in,
            okta_app: self.okta_app_values(),
        })
    }

    async fn validate(&self, input: &SettingsInput) -> DomainResult<ValidSettings> {
        let stored_secret = self.stored().await?.map(|(_, v)| v.client_secret);
        ValidSettings::parse(input, stored_secret, &self.extra_origins).map_err(DomainError::invalid)
    }

    /// Saves settings. Without a passed Test sign-in of these exact values
    /// (`test_id`), only an explicit `save_anyway` saves them.
    pub async fn save(
        &self,
        actor: &Actor,
        input: &SettingsInput,
        test_id: Option<&str>,
        save_anyway: bool,
    ) -> DomainResult<SigninSettingsView> {
        actor.require_write()?;
        let valid = self.validate(input).await?;
        let tested_by = match test_id {
            Some(id) => self.passed_test_of(id, &valid).await,
            None => None,
        };
        if tested_by.is_none() && !save_anyway {
            return Err(DomainError::conflict("These settings have not passed Test sign-in.").with_hint(
                "Run Test sign-in and sign in with an admin account, or choose “Save anyway” if you are sure.",
            ));
        }
        let row = SigninSettingsRow {
            issuer: valid.issuer.clone(),
            client_id: valid.client_id.clone(),
            client_secret_sealed: self
                .master_key
                .seal(valid.client_secret.as_bytes(), SECRET_PURPOSE),
            admin_groups: valid.admin_groups.clone(),
            viewer_groups: valid.viewer_groups.clone(),
            tested_at: tested_by
                .as_ref()
                .map(|_| clock::human(time::OffsetDateTime::now_utc())),
            tested_by: tested_by.clone(),
            updated_at: String::new(),
            updated_by: actor.name.clone(),
        };
        self.store.save_signin_settings(&row).await?;
        tracing::warn!(issuer = %valid.issuer, client_id = %valid.client_id, tested = tested_by.is_some(), "Okta sign-in settings saved");
        self.audit
            .record(
                actor,
                AuditAction::SignInSettingsSaved,
                Some(&valid.issuer),
                serde_json::json!({
                    "client_id": valid.client_id,
                    "admin_groups": valid.admin_groups,
                    "viewer_groups": valid.viewer_groups,
                    "secret_replaced": input.client_secret.as_deref().is_some_and(|s| !s.trim().is_empty()),
                    "tested": tested_by.is_some(),
                }),
            )
            .await;
        self.settings().await
    }

    /// Turns Okta sign-in off (setup and recovery links keep working).
    pub async fn remove(&self, actor: &Actor) -> DomainResult<()> {
        actor.require_write()?;
        if !self.store.delete_signin_settings().await? {
            return Err(DomainError::not_found("Okta sign-in configuration"));
        }
        tracing::warn!("Okta sign-in settings removed");
        self.audit
            .record(
                actor,
                AuditAction::SignInSettingsRemoved,
                None,
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }

    async fn passed_test_of(&self, test_id: &str, valid: &ValidSettings) -> Option<String> {
        let run = self.test_run(test_id).await.ok()??;
        (run.report.state == "passed"
            && run.report.verdict.as_deref() == Some("admin")
            && run.settings.fingerprint() == valid.fingerprint())
        .then_some(run.started_by)
    }

    /// Starts a Test sign-in of unsaved settings; the browser opens
    /// `/auth/test/{id}` in a new tab, which any replica may serve: the test
    /// (its settings sealed) is in the database.
    pub async fn start_test(&self, actor: &Actor, input: &SettingsInput) -> DomainResult<String> {
        actor.require_write()?;
        let valid = self.validate(input).await?;
        let id = random_id();
        let tested = TestedSettings {
            issuer: valid.issuer.clone(),
            client_id: valid.client_id.clone(),
            client_secret: valid.client_secret.as_str().to_owned(),
            admin_groups: valid.admin_groups.clone(),
            viewer_groups: valid.viewer_groups.clone(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&tested).map_err(internal)?);
        drop(tested);
        let sealed = self.master_key.seal(&plain, &test_purpose(&id));
        let report = serde_json::to_string(&TestReport::pending()).map_err(internal)?;
        self.store
            .insert_signin_test(&id, &sealed, &actor.name, &report, TEST_VALIDITY)
            .await?;
        Ok(id)
    }

    async fn test_run(&self, test_id: &str) -> DomainResult<Option<TestRun>> {
        let Some(row) = self.store.signin_test(test_id).await? else {
            return Ok(None);
        };
        let plain = self
            .master_key
            .open(&row.settings_sealed, &test_purpose(test_id))
            .map_err(internal)?;
        let tested: TestedSettings = serde_json::from_slice(&plain).map_err(internal)?;
        Ok(Some(TestRun {
            settings: ValidSettings {
                issuer: tested.issuer,
                client_id: tested.client_id,
                client_secret: Zeroizing::new(tested.client_secret),
                admin_groups: tested.admin_groups,
                viewer_groups: tested.viewer_groups,
            },
            started_by: row.started_by,
            started_at: crate::store::parse_timestamp(&row.started_at)?,
            report: serde_json::from_str(&row.report).map_err(internal)?,
        }))
    }

    pub async fn test_report(&self, test_id: &str) -> DomainResult<TestReport> {
        self.test_run(test_id)
            .await?
            .map(|t| t.report)
            .ok_or_else(|| DomainError::not_found("The test sign-in").with_hint("Start Test sign-in again."))
    }

    async fn test_settings(&self, test_id: &str) -> Option<ValidSettings> {
        self.test_run(test_id)
            .await
            .ok()
            .flatten()
            .filter(|t| time::OffsetDateTime::now_utc() - t.started_at < TEST_VALIDITY)
            .map(|t| t.settings)
    }

    async fn finish_test(&self, test_id: &str, report: &TestReport) {
        let stored = match serde_json::to_string(report) {
            Ok(json) => self
                .store
                .set_signin_test_report(test_id, &json)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "could not record a Test sign-in's result");
        }
    }

    async fn relying_party(&self, settings: &ValidSettings) -> Result<RelyingParty, OidcError> {
        RelyingParty::discover(
            &self.http,
            &settings.issuer,
            &settings.client_id,
            &settings.client_secret,
            &self.redirect_uri(),
        )
        .await
    }

    /// Starts a flow: discovery, then the authorization URL with PKCE,
    /// `state` and `nonce`.
    pub async fn begin(&self, purpose: FlowPurpose) -> DomainResult<StartedFlow> {
        let settings = match &purpose {
            FlowPurpose::SignIn => self.stored().await?.map(|(_, v)| v).ok_or_else(|| {
                DomainError::not_found("Okta sign-in configuration").with_hint(
                    "Sign in with a setup link, then configure Okta sign-in under Settings → Sign-in.",
                )
            })?,
            FlowPurpose::Test { test_id } => self.test_settings(test_id).await.ok_or_else(|| {
                DomainError::not_found("The test sign-in")
                    .with_hint("Start Test sign-in again from Settings → Sign-in.")
            })?,
        };
        let rp = self.relying_party(&settings).await.map_err(|e| {
            tracing::warn!(error = %e, "OIDC discovery failed");
            DomainError::new(
                super::ErrorKind::Upstream,
                format!("Cannot start sign-in with Okta: {e}"),
            )
            .with_hint("Check the Okta domain or issuer URL under Settings → Sign-in.")
        })?;
        let (url, secrets) = rp.authorization_url();
        Ok(StartedFlow {
            url,
            pending: PendingFlow {
                purpose,
                secrets,
                started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        })
    }

    /// Finishes a flow. Nothing is signed in unless every check passed.
    pub async fn complete(
        &self,
        pending: Option<PendingFlow>,
        params: &CallbackParams,
        ip: Option<String>,
    ) -> CallbackOutcome {
        let anonymous = Actor::anonymous(ip.clone());
        let fail = |reason: &str, title: &str, message: &str| {
            tracing::warn!(reason, "Okta sign-in failed");
            CallbackOutcome::Failed {
                title: title.into(),
                message: message.into(),
            }
        };
        let Some(pending) = pending else {
            self.audit_failure(&anonymous, "no sign-in in progress (replayed or foreign state)")
                .await;
            return fail(
                "callback without a pending flow in the session (replayed, or started in another browser)",
                "Sign-in link not valid",
                "This sign-in was not started in this browser, or it was already used. Start again from the sign-in page.",
            );
        };
        if let FlowPurpose::Test { test_id } = &pending.purpose {
            let outcome = self.complete_test(test_id, &pending, params).await;
            return CallbackOutcome::Tested(outcome);
        }
        if params.state.as_deref() != Some(pending.secrets.state.as_str()) {
            self.audit_failure(&anonymous, "state mismatch").await;
            return fail(
                "the state parameter does not match this session's flow",
                "Sign-in link not valid",
                "The answer from Okta does not belong to the sign-in this browser started. Start again from the sign-in page.",
            );
        }
        if let Some(error) = &params.error {
            let description = params.error_description.clone().unwrap_or_default();
            self.audit_failure(&anonymous, &format!("{error}: {description}"))
                .await;
            return fail(
                &format!("Okta answered {error}: {description}"),
                "Sign-in cancelled",
                &format!(
                    "Okta did not sign you in ({}). If you were not asked, your account may not be assigned to Roster's app in Okta.",
                    if description.is_empty() { error.as_str() } else { description.as_str() }
                ),
            );
        }
        if time::OffsetDateTime::now_utc().unix_timestamp() - pending.started_at
            > FLOW_VALIDITY.whole_seconds()
        {
            self.audit_failure(&anonymous, "sign-in took too long").await;
            return fail(
                "the flow is older than 10 minutes",
                "Sign-in expired",
                "The sign-in took too long. Start again.",
            );
        }
        let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
            self.audit_failure(&anonymous, "no code").await;
            return fail(
                "no code in the callback",
                "Sign-in failed",
                "Okta sent no authorization code. Start again.",
            );
        };
        let settings = match self.stored().await {
            Ok(Some((_, s))) => s,
            Ok(None) => {
                return fail(
                    "settings removed during the flow",
                    "Sign-in failed",
                    "Okta sign-in is no longer configured.",
                )
            }
            Err(e) => {
                return fail(
                    &e.to_string(),
                    "Sign-in failed",
                    "Roster could not read its sign-in settings.",
                )
            }
        };
        let (identity, end_session_endpoint) = match self.identify(&settings, code, &pending.secrets).await {
            Ok(found) => found,
            Err(e) => {
                self.audit_failure(&anonymous, &e.to_string()).await;
                return fail(
                    &e.to_string(),
                    "Sign-in failed",
                    "Roster could not confirm your sign-in with Okta (the answer was expired, already used, or not meant for Roster). Start again; if it keeps failing, an administrator can find the reason in Roster's log.",
                );
            }
        };
        let (groups, groups_source) = self.groups_of(&identity).await;
        let who = identity.email.clone().unwrap_or_else(|| identity.subject.clone());
        let Some(role) = settings.role_for(&groups) else {
            let actor = Actor::anonymous(ip.clone());
            self.audit
                .record_failure(
                    &Actor {
                        name: who.clone(),
                        ..actor
                    },
                    AuditAction::SignInRefused,
                    Some(&identity.subject),
                    serde_json::json!({"reason": "not in an admin or viewer group", "groups": groups, "groups_source": groups_source}),
                )
                .await;
            tracing::warn!(subject = %identity.subject, "Okta sign-in refused: not in an admin or viewer group");
            return CallbackOutcome::Refused {
                who,
                needed: settings.admin_groups.clone(),
            };
        };
        match self
            .open_session(&settings.issuer, &identity, (&groups, groups_source), role, ip)
            .await
        {
            Ok(signed_in) => CallbackOutcome::SignedIn(Box::new(SignedIn {
                end_session_endpoint,
                ..signed_in
            })),
            Err(e) => fail(
                &e.to_string(),
                "Sign-in failed",
                "Roster could not record the sign-in. Try again.",
            ),
        }
    }

    /// Who came back, and the issuer's end-session endpoint (for sign-out).
    async fn identify(
        &self,
        settings: &ValidSettings,
        code: &str,
        secrets: &FlowSecrets,
    ) -> Result<(Identity, Option<String>), OidcError> {
        let rp = self.relying_party(settings).await?;
        let identity = rp.finish(&self.http, code, secrets).await?;
        Ok((identity, rp.end_session_endpoint().map(str::to_owned)))
    }

    async fn open_session(
        &self,
        issuer: &str,
        identity: &Identity,
        (groups, groups_source): (&[String], &str),
        role: Role,
        ip: Option<String>,
    ) -> DomainResult<SignedIn> {
        let name = identity
            .name
            .clone()
            .or_else(|| identity.email.clone())
            .unwrap_or_else(|| identity.subject.clone());
        let admin = self
            .store
            .upsert_okta_admin(&OktaPerson {
                issuer,
                subject: &identity.subject,
                email: identity.email.as_deref(),
                display_name: &name,
            })
            .await?;
        let signin_id = self
            .store
            .insert_signin(&NewSignin {
                admin_id: admin.id,
                role,
                method: SignInMethod::Okta,
                subject: Some(&identity.subject),
                email: identity.email.as_deref(),
                groups,
                ip: ip.as_deref(),
                lifetime: self.max_session,
            })
            .await?;
        let actor = Actor::person(admin.id, role, name.clone(), ip);
        self.audit
            .record(
                &actor,
                AuditAction::SignIn,
                Some(&identity.subject),
                serde_json::json!({
                    "method": "okta", "role": role.as_str(), "email": identity.email,
                    "groups": groups, "groups_source": groups_source,
                }),
            )
            .await;
        tracing::info!(admin_id = %admin.id, role = role.as_str(), "signed in with Okta");
        Ok(SignedIn {
            signin_id,
            role,
            name,
            id_token: identity.id_token.clone(),
            end_session_endpoint: None,
        })
    }

    async fn complete_test(
        &self,
        test_id: &str,
        pending: &PendingFlow,
        params: &CallbackParams,
    ) -> TestReport {
        let failed = |error: String| TestReport {
            state: "failed".into(),
            error: Some(error),
            ..TestReport::pending()
        };
        let report = match (self.test_settings(test_id).await, &params.error) {
            (None, _) => failed("The test expired; start Test sign-in again.".into()),
            (Some(_), _) if params.state.as_deref() != Some(pending.secrets.state.as_str()) => {
                failed("The answer's state does not match the test this browser started.".into())
            }
            (_, Some(error)) => failed(format!(
                "Okta answered {error}: {}",
                params.error_description.clone().unwrap_or_default()
            )),
            (Some(settings), None) => match self
                .identify(
                    &settings,
                    params.code.as_deref().unwrap_or_default(),
                    &pending.secrets,
                )
                .await
            {
                Err(e) => failed(e.to_string()),
                Ok((identity, _)) => {
                    let (groups, source) = self.groups_of(&identity).await;
                    let verdict = settings.role_for(&groups).map_or("refused", Role::as_str);
                    TestReport {
                        state: "passed".into(),
                        subject: Some(identity.subject),
                        email: identity.email,
                        name: identity.name,
                        groups,
                        groups_source: source.into(),
                        verdict: Some(verdict.into()),
                        error: None,
                    }
                }
            },
        };
        tracing::info!(state = %report.state, verdict = ?report.verdict, "Okta sign-in test finished");
        self.audit
            .record(
                &Actor::anonymous(None),
                AuditAction::SignInTested,
                report.subject.as_deref(),
                serde_json::json!({"state": report.state, "verdict": report.verdict, "error": report.error}),
            )
            .await;
        self.finish_test(test_id, &report).await;
        report
    }

    /// The person's groups and where they came from: the token (or
    /// userinfo) wins; a synced directory only fills a missing claim.
    async fn groups_of(&self, identity: &Identity) -> (Vec<String>, &'static str) {
        if let Some(groups) = &identity.groups {
            let source = if identity.groups_from_userinfo {
                "userinfo"
            } else {
                "id-token"
            };
            return (groups.clone(), source);
        }
        if let Ok(directories) = self.store.list_directories().await {
            for d in directories.iter().filter(|d| d.state != DirectoryState::Draft) {
                if let Ok(Some(groups)) = self
                    .store
                    .present_groups_of_person(&d.id, Some(&identity.subject), identity.email.as_deref())
                    .await
                {
                    return (groups, "directory");
                }
            }
        }
        (Vec::new(), "none")
    }

    async fn audit_failure(&self, actor: &Actor, reason: &str) {
        self.audit
            .record_failure(
                actor,
                AuditAction::SignInRefused,
                None,
                serde_json::json!({"reason": reason}),
            )
            .await;
    }

    /// A sign-in row for a setup or recovery link (admin role).
    pub async fn open_link_session(
        &self,
        admin_id: uuid::Uuid,
        name: &str,
        method: SignInMethod,
        ip: Option<String>,
    ) -> DomainResult<String> {
        let id = self
            .store
            .insert_signin(&NewSignin {
                admin_id,
                role: Role::Admin,
                method,
                subject: None,
                email: None,
                groups: &[],
                ip: ip.as_deref(),
                lifetime: self.max_session,
            })
            .await?;
        let action = match method {
            SignInMethod::RecoveryLink => AuditAction::RecoveryLinkUsed,
            _ => AuditAction::SetupLinkUsed,
        };
        self.audit
            .record(
                &Actor::person(admin_id, Role::Admin, name, ip),
                action,
                None,
                serde_json::json!({}),
            )
            .await;
        Ok(id)
    }

    /// The person behind a session, if it is still valid.
    pub async fn check(&self, signin_id: &str) -> DomainResult<(SessionCheck, Option<SessionUser>)> {
        let Some(row) = self.store.signin(signin_id).await? else {
            return Ok((SessionCheck::Unknown, None));
        };
        if row.revoked {
            return Ok((SessionCheck::Revoked, None));
        }
        if row.expires_at <= time::OffsetDateTime::now_utc() {
            return Ok((SessionCheck::Expired, None));
        }
        Ok((
            SessionCheck::Valid,
            Some(SessionUser {
                signin_id: row.id,
                admin_id: row.admin.id,
                name: row.admin.display_name,
                role: row.role,
                method: row.method,
            }),
        ))
    }

    /// Ends a sign-in (the caller clears the browser's session).
    pub async fn sign_out(&self, actor: &Actor, signin_id: &str) -> DomainResult<()> {
        self.store.revoke_signin(signin_id, "signed out").await?;
        self.audit
            .record(actor, AuditAction::SignOut, None, serde_json::json!({}))
            .await;
        Ok(())
    }

    /// After a sync committed: revokes the sessions of people it removed,
    /// and of people no longer in any group that gave them their role
    /// (judged only by groups the directory actually holds).
    pub async fn revoke_after_sync(
        &self,
        directory_id: &str,
        removed_okta_ids: &[String],
    ) -> DomainResult<usize> {
        let mut revoked = self
            .store
            .revoke_signins_of_users(directory_id, removed_okta_ids, "deprovisioned in Okta")
            .await?;
        revoked.extend(
            self.store
                .revoke_signins_of_suspended(directory_id, "suspended in Okta")
                .await?,
        );
        if let Some((_, settings)) = self.stored().await? {
            revoked.extend(self.revoke_lost_roles(directory_id, &settings).await?);
        }
        if !revoked.is_empty() {
            tracing::warn!(
                directory_id,
                sessions = revoked.len(),
                "revoked sessions of people Okta deprovisioned or removed from Roster's groups"
            );
            self.audit
                .record(
                    &Actor::system(),
                    AuditAction::SessionsRevoked,
                    Some(directory_id),
                    serde_json::json!({"sessions": revoked.len(), "reason": "deprovisioned or left the admin group"}),
                )
                .await;
        }
        Ok(revoked.len())
    }

    async fn revoke_lost_roles(
        &self,
        directory_id: &str,
        settings: &ValidSettings,
    ) -> DomainResult<Vec<String>> {
        let mut revoked = Vec::new();
        for signin in self.store.live_signins().await? {
            if signin.method != SignInMethod::Okta {
                continue;
            }
            let granting: Vec<String> = match signin.role {
                Role::Admin => settings.admin_groups.clone(),
                Role::Viewer => settings.viewer_groups.clone(),
            };
            let known = self.store.known_group_names(directory_id, &granting).await?;
            if known.is_empty() {
                continue; // this directory cannot say anything about the role
            }
            let Some(groups) = self
                .store
                .present_groups_of_person(directory_id, signin.subject.as_deref(), signin.email.as_deref())
                .await?
            else {
                continue; // not a person of this directory
            };
            if !groups.iter().any(|g| known.contains(g))
                && self
                    .store
                    .revoke_signin(&signin.id, "removed from Roster's groups in Okta")
                    .await?
            {
                revoked.push(signin.id);
            }
        }
        Ok(revoked)
    }

    /// Deletes dead sign-ins; the session store prunes its own rows.
    pub async fn prune(&self) -> DomainResult<u64> {
        Ok(self.store.prune_signins().await?)
    }
}

/// The sync engine's hook: revocation after every applied sync.
pub struct RevokeOnDeprovision(pub SignInService);

impl crate::sync::DeprovisionHook for RevokeOnDeprovision {
    fn after_apply<'a>(
        &'a self,
        directory_id: &'a str,
        removed_okta_ids: &'a [String],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if let Err(e) = self.0.revoke_after_sync(directory_id, removed_okta_ids).await {
                tracing::error!(directory_id, error = %e, "could not revoke the sessions of deprovisioned people");
            }
        })
    }
}
