//! The OpenID Connect relying party, on the `openidconnect` crate:
//! discovery, the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, ID-token checks (signature, issuer, audience, expiry with a
//! bounded clock skew), and userinfo when the ID token lacks claims.

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim,
        CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
        CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
    },
    AccessToken, AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// How far the issuer's clock may be off from ours.
pub const ALLOWED_CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(120);

/// The `groups` claim Okta adds when the app's Groups claim filter is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupsClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl AdditionalClaims for GroupsClaim {}

type IdFields = IdTokenFields<
    GroupsClaim,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenAnswer = StandardTokenResponse<IdFields, CoreTokenType>;

/// A client built from discovery: authorization endpoint set, token and
/// userinfo endpoints as the issuer published them.
pub type RpClient<HasAuth = EndpointSet, HasToken = EndpointMaybeSet, HasUserInfo = EndpointMaybeSet> =
    Client<
        GroupsClaim,
        CoreAuthDisplay,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJsonWebKey,
        CoreAuthPrompt,
        StandardErrorResponse<CoreErrorResponseType>,
        TokenAnswer,
        CoreTokenIntrospectionResponse,
        CoreRevocableToken,
        CoreRevocationErrorResponse,
        HasAuth,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        HasToken,
        HasUserInfo,
    >;

/// Why a sign-in could not complete; each maps to a page and a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("Okta could not be reached or its discovery document is not valid: {0}")]
    Discovery(String),
    #[error("the sign-in settings are not usable: {0}")]
    Configuration(String),
    #[error("Okta refused the authorization code (expired, already used, or for another client): {0}")]
    CodeRejected(String),
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
    #[error("the userinfo request failed: {0}")]
    UserInfo(String),
}

/// What the callback needs to finish a flow started here; kept server-side
/// in the session, never in the browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowSecrets {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who came back, and what they said about themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// None when neither the ID token nor userinfo carried a `groups` claim.
    pub groups: Option<Vec<String>>,
    /// Whether `groups` came from userinfo rather than the ID token.
    pub groups_from_userinfo: bool,
    pub id_token: String,
}

/// The relying party for one set of settings.
pub struct RelyingParty {
    client: RpClient,
    end_session: Option<String>,
}

impl RelyingParty {
    /// Fetches the issuer's discovery document and keys (no redirects).
    pub async fn discover(
        http: &reqwest::Client,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<Self, OidcError> {
        let issuer =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| OidcError::Configuration(e.to_string()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.url().to_string());
        let redirect =
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| OidcError::Configuration(e.to_string()))?;
        let client = RpClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            Some(ClientSecret::new(client_secret.to_owned())),
        )
        .set_redirect_uri(redirect);
        Ok(Self { client, end_session })
    }

    /// Where to send the browser, and the secrets the callback will need.
    pub fn authorization_url(&self) -> (String, FlowSecrets) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("groups".into()))
            .set_pkce_challenge(challenge)
            .url();
        (
            url.to_string(),
            FlowSecrets {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        )
    }

    /// The issuer's RP-initiated logout endpoint, when it has one.
    pub fn end_session_endpoint(&self) -> Option<&str> {
        self.end_session.as_deref()
    }

    /// Exchanges the code, checks the ID token, and fills missing claims from userinfo.
    pub async fn finish(
        &self,
        http: &reqwest::Client,
        code: &str,
        secrets: &FlowSecrets,
    ) -> Result<Identity, OidcError> {
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Configuration(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(secrets.pkce_verifier.clone()))
            .request_async(http)
            .await
            .map_err(|e| OidcError::CodeRejected(error_chain(&e)))?;
        let id_token = answer
            .id_token()
            .ok_or_else(|| OidcError::IdToken("the token response has no ID token".into()))?;
        let mut identity = verify_id_token(&self.client, id_token, &secrets.nonce)?;
        if identity.email.is_none() || identity.groups.is_none() {
            self.fill_from_userinfo(http, answer.access_token().clone(), &mut identity)
                .await?;
        }
        Ok(identity)
    }

    async fn fill_from_userinfo(
        &self,
        http: &reqwest::Client,
        access_token: AccessToken,
        identity: &mut Identity,
    ) -> Result<(), OidcError> {
        let subject = openidconnect::SubjectIdentifier::new(identity.subject.clone());
        let Ok(request) = self.client.user_info(access_token, Some(subject)) else {
            return Ok(()); // the issuer publishes no userinfo endpoint
        };
        let claims: UserInfoClaims<GroupsClaim, CoreGenderClaim> = request
            .request_async(http)
            .await
            .map_err(|e| OidcError::UserInfo(error_chain(&e)))?;
        if identity.email.is_none() {
            identity.email = claims.email().map(|e| e.to_string());
        }
        if identity.name.is_none() {
            identity.name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
        }
        if identity.groups.is_none() {
            identity.groups = claims.additional_claims().groups.clone();
            identity.groups_from_userinfo = identity.groups.is_some();
        }
        Ok(())
    }
}

/// Checks an ID token as OpenID Connect Core §3.1.3.7 says: signature by
/// the issuer's keys, `iss`, `aud` (and `azp`), `exp` and `iat` within
/// [`ALLOWED_CLOCK_SKEW`], and the `nonce` this flow sent.
pub fn verify_id_token<HA, HT, HU>(
    client: &RpClient<HA, HT, HU>,
    id_token: &openidconnect::IdToken<
        GroupsClaim,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    nonce: &str,
) -> Result<Identity, OidcError>
where
    HA: openidconnect::EndpointState,
    HT: openidconnect::EndpointState,
    HU: openidconnect::EndpointState,
{
    let verifier = client
        .id_token_verifier()
        .set_time_fn(|| chrono::Utc::now() - ALLOWED_CLOCK_SKEW)
        .set_issue_time_verifier_fn(|iat| {
            if iat > chrono::Utc::now() + ALLOWED_CLOCK_SKEW {
                Err(format!(
                    "issued in the future ({iat}); check the clocks of Okta and this server"
                ))
            } else {
                Ok(())
            }
        });
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| OidcError::IdToken(e.to_string()))?;
    Ok(Identity {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
        groups: claims.additional_claims().groups.clone(),
        groups_from_userinfo: false,
        id_token: id_token.to_string(),
    })
}

/// The error and its causes on one line (transport errors hide the useful part).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    //! The ID-token checks against tokens signed here: another audience, an
    //! expired token, clock skew either way, a wrong nonce, a foreign key.
    use super::*;
    use crate::okta::KeyPair;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use openidconnect::{
        core::{CoreJsonWebKey, CoreJsonWebKeySet},
        JsonWebKeyId,
    };

    const ISSUER: &str = "https://acme.okta.com";
    const CLIENT: &str = "0oaroster0000000000x";

    fn client(key: &KeyPair) -> RpClient<EndpointNotSet, EndpointNotSet, EndpointNotSet> {
        let jwk = key.public_jwk();
        let jwks = CoreJsonWebKeySet::new(vec![CoreJsonWebKey::new_rsa(
            URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
            URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
            Some(JsonWebKeyId::new(jwk.kid.clone())),
        )]);
        RpClient::new(
            ClientId::new(CLIENT.into()),
            IssuerUrl::new(ISSUER.into()).unwrap(),
            jwks,
        )
    }

    fn token(
        key: &KeyPair,
        claims: serde_json::Value,
    ) -> openidconnect::IdToken<
        GroupsClaim,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    > {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(key.kid().to_owned());
        let raw = jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap();
        raw.parse().unwrap()
    }

    fn claims(aud: &str, iat_offset: i64, exp_offset: i64, nonce: &str) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        serde_json::json!({
            "iss": ISSUER, "aud": aud, "sub": "00u1", "iat": now + iat_offset, "exp": now + exp_offset,
            "nonce": nonce, "email": "ada@example.com", "groups": ["Roster Admins"],
        })
    }

    #[test]
    fn a_good_token_yields_its_claims() {
        let key = KeyPair::generate().unwrap();
        let identity =
            verify_id_token(&client(&key), &token(&key, claims(CLIENT, 0, 300, "n1")), "n1").unwrap();
        assert_eq!(identity.subject, "00u1");
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert_eq!(identity.groups, Some(vec!["Roster Admins".to_owned()]));
    }

    #[test]
    fn tokens_for_another_audience_expired_or_with_another_nonce_are_refused() {
        let key = KeyPair::generate().unwrap();
        let c = client(&key);
        let other_audience = verify_id_token(
            &c,
            &token(&key, claims("0oasomeoneelse000000", 0, 300, "n1")),
            "n1",
        );
        assert!(
            matches!(other_audience, Err(OidcError::IdToken(ref m)) if m.contains("audience") || m.contains("aud")),
            "{other_audience:?}"
        );
        let expired = verify_id_token(&c, &token(&key, claims(CLIENT, -900, -600, "n1")), "n1");
        assert!(expired.is_err(), "expired ten minutes ago");
        let wrong_nonce = verify_id_token(&c, &token(&key, claims(CLIENT, 0, 300, "n2")), "n1");
        assert!(wrong_nonce.is_err());
        let foreign = KeyPair::generate().unwrap();
        let forged = verify_id_token(&c, &token(&foreign, claims(CLIENT, 0, 300, "n1")), "n1");
        assert!(forged.is_err(), "signed by a key the issuer does not publish");
    }

    #[test]
    fn clock_skew_within_two_minutes_is_tolerated_and_beyond_is_not() {
        let key = KeyPair::generate().unwrap();
        let c = client(&key);
        // The issuer's clock runs a minute ahead: issued "in the future".
        assert!(verify_id_token(&c, &token(&key, claims(CLIENT, 60, 360, "n")), "n").is_ok());
        // Expired 60 s ago by our clock, within the allowed skew.
        assert!(verify_id_token(&c, &token(&key, claims(CLIENT, -400, -60, "n")), "n").is_ok());
        // Issued ten minutes in the future: clocks are too far apart.
        let ahead = verify_id_token(&c, &token(&key, claims(CLIENT, 600, 900, "n")), "n");
        assert!(
            matches!(ahead, Err(OidcError::IdToken(ref m)) if m.contains("future")),
            "{ahead:?}"
        );
    }
}
