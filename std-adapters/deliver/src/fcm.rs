//! FCM HTTP v1 (vendors.md §2): `messages:send` with an OAuth2 access token
//! from a Google service account; the answer → [`Outcome`] table is
//! [`RESPONSES`].
//!
//! Auth (§2.1, two-legged OAuth): an RS256 JWT assertion (`iss` = the
//! account's `client_email`, `scope` = [`SCOPE`], `aud` = the token
//! endpoint, `iat`, `exp` = `iat` + [`ASSERTION_LIFETIME`]) signed with the
//! account's `private_key`, exchanged at the token endpoint for an access
//! token. The token is cached in a [`TokenCache`] shared by every send,
//! refreshed [`TOKEN_REFRESH_BEFORE`] ahead of its `expires_in`, one fetch
//! at a time; a 401 `UNAUTHENTICATED` drops it and the push is sent once
//! more with a fresh one.
//!
//! The body is the core's render, sent byte for byte (the device token is
//! in it, `message.token`). Sends go over HTTP/2 only
//! ([`crate::https::client_http2_only`]): every Google endpoint speaks it, and
//! concurrent sends then share one connection.
//!
//! Decisions where vendors.md is silent:
//! - `aud` is the token endpoint actually used (the `[fcm] token_endpoint`
//!   override, else the key file's `token_uri`, else [`TOKEN_URL`]): Google
//!   documents `aud` as the `token_uri` the request goes to.
//! - The assertion's header carries `kid` = `private_key_id` when the key
//!   file has one (Google's client libraries do; it lets Google pick the
//!   key without trying each).
//! - `INVALID_ARGUMENT` is a rejection, except when the error names the
//!   device token (a `fieldViolations[].field` of `message.token`, or FCM's
//!   message "…registration token…"): then the token is dropped (§2.4: "a
//!   bad token here means drop it").
//! - The code classified is `details[].errorCode` (the `FcmError` detail);
//!   without one, the canonical `error.status` (§2.4). A row is looked up
//!   by status and code, then by code alone, then by status class.
//! - Refused credentials ([`Outcome::CredentialsRefused`]):
//!   `THIRD_PARTY_AUTH_ERROR` (the project's APNs or web-push credentials
//!   are the sender's, and only the operator can fix them), `PERMISSION_DENIED`
//!   (the account may not send for this project), and a second 401
//!   (`UNAUTHENTICATED`, or any 401) right after a fresh access token.
//!   `SENDER_ID_MISMATCH` stays a dead token: it is about the device token.
//! - The token endpoint's own answers go through the shared cache
//!   ([`crate::token`]): a 4xx (`invalid_grant`, `invalid_scope`, …: a bad
//!   key file or clock) is [`Outcome::CredentialsRefused`] with reason
//!   `OAuth2:<error>`; 429, 5xx and an unreachable endpoint are a retry at
//!   the end of the token backoff (1 s doubling to 60 s, `Retry-After`
//!   winning), the same for every send until then.
//! - `Delivered.id` is the `name` FCM answers
//!   (`projects/<id>/messages/<message id>`), whole.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, FcmSection};

use crate::http2::SendError;
use crate::https::{client_http2_only, exchange, Answer};
use crate::jwt::Rs256Key;
use crate::kit::config;
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::token::{self, TokenCache, TokenError, TokenFailure};
use crate::Push;

/// Production host; the path is `/v1/projects/<project_id>/messages:send`
/// (vendors.md §2.1).
pub const PRODUCTION_URL: &str = "https://fcm.googleapis.com";
/// Google's token endpoint, when the key file names none (§2.1 step 4).
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The OAuth scope asked for (§2.1; sygnal asks for the same).
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The JWT-bearer grant (RFC 7523), form-encoded (§2.1 step 4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `exp - iat` of an assertion: the most Google allows (§2.1 step 2, §2.5).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// An access token is refreshed this long before its `expires_in` runs out
/// (style anchors: OAuth renewed 180 s early), so a send never carries one
/// that expires in flight.
pub const TOKEN_REFRESH_BEFORE: Duration = Duration::from_secs(180);
/// The lifetime assumed when the token answer has no `expires_in` (§2.1
/// step 5: about one hour), as every OAuth answer is read
/// ([`token::read_oauth_answer`]).
pub const DEFAULT_TOKEN_LIFETIME: Duration = token::DEFAULT_TOKEN_LIFETIME;
/// A send's whole budget: connect, (token), answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = crate::kit::config::DEFAULT_REQUEST_TIMEOUT;
/// 500 `INTERNAL` / 503 `UNAVAILABLE` (§2.4, §2.5 retry policy: exponential
/// backoff; Firebase advises at least 10 s to start).
pub const SERVER_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(10),
    cap: Duration::from_secs(30 * 60),
};
/// 429 `QUOTA_EXCEEDED` (§2.4: exponential backoff starting at ≥ 1 minute).
pub const QUOTA_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;

// ---------------------------------------------------------------- config

/// A Google service-account key (the JSON file Google issues). The private
/// key never appears in `Debug` (its type prints `RS256Key(..)`) or in an
/// error.
#[derive(Debug)]
pub struct ServiceAccount {
    pub project_id: Option<String>,
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub token_uri: Option<String>,
    pub key: Rs256Key,
}

impl ServiceAccount {
    /// Reads the key file's JSON: `type` = `service_account`,
    /// `client_email`, `private_key` (PKCS#8 PEM RSA); `project_id`,
    /// `private_key_id`, `token_uri` when present. The error says which
    /// field is wrong, never its value.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|_| "not JSON".to_owned())?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match value.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{name} is not a string")),
            }
        };
        match text("type")?.as_deref() {
            Some("service_account") => {}
            Some(_) => return Err("type is not \"service_account\"".into()),
            None => return Err("no type (\"service_account\")".into()),
        }
        let client_email = text("client_email")?.ok_or("no client_email")?;
        let pem = text("private_key")?.ok_or("no private_key")?;
        let key =
            Rs256Key::from_pkcs8_pem(pem.as_bytes()).map_err(|e| format!("private_key: {e}"))?;
        Ok(Self {
            project_id: text("project_id")?,
            client_email,
            private_key_id: text("private_key_id")?,
            token_uri: text("token_uri")?,
            key,
        })
    }
}

#[derive(Debug)]
pub struct FcmConfig {
    /// The project in the send URL.
    pub project_id: String,
    pub account: ServiceAccount,
    /// `production` or any `https://host:port`.
    pub endpoint: String,
    /// Where assertions are exchanged (and their `aud`).
    pub token_endpoint: String,
    /// An extra CA to trust beside the system's (a stand-in's).
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
    /// An idle connection is pinged this often (HTTP/2 PING), as APNs'
    /// are: [`crate::http2::DEFAULT_PING_INTERVAL`] from the config table.
    pub ping_interval: Duration,
}

pub use crate::kit::InitError;

impl FcmConfig {
    /// Reads `[fcm]`: loads the service-account key file. `project_id`
    /// defaults to the file's, `token_endpoint` to the file's `token_uri`.
    /// Errors name the key (`fcm.service_account_file: …`).
    pub fn from_section(section: &FcmSection) -> Result<Self, ConfigError> {
        let account = config::key_file(
            &section.service_account_file,
            "fcm.service_account_file",
            "the service-account JSON key Google issues",
            ServiceAccount::from_json,
        )?;
        let project_id = config::project_id(
            &section.project_id,
            &account.project_id,
            "fcm.project_id",
            "-_.:",
        )?;
        let endpoint = config::region(&section.endpoint, "production", REGIONS, "fcm.endpoint")?;
        let token_endpoint = section
            .token_endpoint
            .clone()
            .or_else(|| account.token_uri.clone())
            .unwrap_or_else(|| TOKEN_URL.to_owned());
        config::https_url(&token_endpoint, "fcm.token_endpoint")?;
        let request_timeout =
            config::request_timeout(section.request_timeout_secs, "fcm.request_timeout_secs")?;
        Ok(Self {
            project_id,
            account,
            endpoint,
            token_endpoint,
            ca_file: section.ca_file.clone(),
            request_timeout,
            ping_interval: crate::http2::DEFAULT_PING_INTERVAL,
        })
    }
}

/// The endpoint names `endpoint` takes.
pub const REGIONS: &[(&str, &str)] = &[("production", PRODUCTION_URL)];

/// `production` / a URL.
pub fn endpoint_url(endpoint: &str) -> &str {
    config::region_url(endpoint, REGIONS)
}

// ---------------------------------------------------------------- client

/// An FCM client: one per service account and project, shared by all sends.
#[derive(Debug)]
pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    token_url: String,
    account: ServiceAccount,
    tokens: TokenCache,
    clock: SharedClock,
    request_timeout: Duration,
}

impl FcmClient {
    pub fn new(config: FcmConfig, clock: SharedClock) -> Result<Self, InitError> {
        let ping = (config.ping_interval, crate::http2::DEFAULT_PING_TIMEOUT);
        let http = client_http2_only(config.ca_file.as_deref(), config.request_timeout, ping)?;
        let base = config::https_url(endpoint_url(&config.endpoint), "fcm.endpoint")?;
        Ok(Self {
            http,
            send_url: format!("{base}/v1/projects/{}/messages:send", config.project_id),
            token_url: config.token_endpoint,
            account: config.account,
            tokens: TokenCache::new(
                "fcm",
                clock.clone(),
                TOKEN_REFRESH_BEFORE,
                config.request_timeout,
            ),
            clock,
            request_timeout: config.request_timeout,
        })
    }

    /// Access tokens fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Sends one rendered FCM push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("fcm") {
            return refused;
        }
        if !matches!(push.headers, Headers::None) {
            return local_reject("NotAnFcmPush");
        }
        let send = self.send_once_more(push);
        crate::https::within("fcm", self.request_timeout, &self.clock, push.attempt, send).await
    }

    /// The send, with ONE resend after a refused access token.
    async fn send_once_more(&self, push: &Push<'_>) -> Delivery {
        let body = Bytes::copy_from_slice(push.body);
        let mut refreshed = false;
        loop {
            let token = match self.access_token().await {
                Ok(token) => token,
                Err(failure) => return failure.delivery(),
            };
            let answer = match self.post(body.clone(), &token, push.attempt).await {
                Ok(answer) => answer,
                Err(delivery) => return delivery,
            };
            let reply = Reply::read(&answer.body);
            let action = action_for(answer.status, &reply.code, reply.names_token);
            if action == Action::RefreshAuth && !refreshed {
                tracing::debug!("FCM refused the access token; fetching a new one");
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return self.finish(&answer, reply, action, push);
        }
    }

    async fn post(&self, body: Bytes, token: &str, attempt: u32) -> Result<Answer, Delivery> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| local_reject("OAuth2:BadAccessToken"))?;
        authorization.set_sensitive(true);
        let request = self
            .http
            .post(&self.send_url)
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body);
        exchange(request, &self.clock)
            .await
            .map_err(|e| self.lost(&e, attempt))
    }

    async fn access_token(&self) -> Result<String, TokenFailure> {
        self.tokens.get(|| self.fetch_token()).await
    }

    /// One exchange at the token endpoint (§2.1 steps 1-5), its assertion
    /// signed now; the future owns what it needs (it runs as the token
    /// cache's own task). An assertion that cannot be signed is a refusal
    /// of the key, without a request.
    fn fetch_token(
        &self,
    ) -> impl std::future::Future<Output = Result<(String, Duration), TokenError>> + Send + 'static
    {
        let assertion = self.assertion();
        let request = self
            .http
            .post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        let clock = std::sync::Arc::clone(&self.clock);
        async move {
            let assertion = assertion.map_err(|e| {
                tracing::debug!(%e, "FCM assertion could not be signed");
                TokenError::Refused {
                    status: None,
                    reason: "OAuth2:AssertionUnsigned".into(),
                }
            })?;
            let form =
                crate::kit::form::body(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)]);
            let answer = exchange(request.body(form), &clock)
                .await
                .map_err(TokenError::Transport)?;
            token::read_oauth_answer(answer.status, answer.retry_after, &answer.body)
        }
    }

    /// The RS256 JWT assertion (§2.1 steps 1-3).
    fn assertion(&self) -> Result<String, crate::jwt::KeyError> {
        let iat = self.clock.unix_seconds();
        let exp = iat.saturating_add(i64::try_from(ASSERTION_LIFETIME.as_secs()).unwrap_or(0));
        let header = match &self.account.private_key_id {
            Some(kid) => serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
            None => serde_json::json!({ "alg": "RS256", "typ": "JWT" }),
        };
        let claims = serde_json::json!({
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": iat,
            "exp": exp,
        });
        self.account
            .key
            .sign(&header.to_string(), &claims.to_string())
    }

    fn finish(&self, answer: &Answer, reply: Reply, action: Action, push: &Push<'_>) -> Delivery {
        let status = answer.status;
        let now = self.clock.now();
        let reason = reply.code;
        let outcome = match action {
            Action::Deliver => Outcome::Delivered {
                id: reply.name.clone().unwrap_or_else(|| push.id.to_string()),
            },
            Action::DropToken => Outcome::TokenInvalid {
                reason,
                since: None,
            },
            // Refused again right after a fresh access token: the account
            // cannot send for this project.
            Action::CredentialsRefused | Action::RefreshAuth => {
                tracing::debug!(status, %reason, message = %reply.message, "FCM refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Backoff => SERVER_BACKOFF.retry(reason, now, push.attempt, answer.retry_after),
            Action::QuotaBackoff => {
                QUOTA_BACKOFF.retry(reason, now, push.attempt, answer.retry_after)
            }
            Action::Reject => {
                tracing::debug!(status, %reason, message = %reply.message, "FCM rejected a push: check the configuration or the payload");
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            outcome,
            status: Some(status),
            id: reply.name,
            invalid_tokens: Vec::new(),
        }
    }

    fn lost(&self, e: &SendError, attempt: u32) -> Delivery {
        e.delivery("fcm", self.clock.now(), attempt)
    }
}

provider!(FcmClient);

fn local_reject(reason: &str) -> Delivery {
    Delivery::local_reject(reason)
}

// ---------------------------------------------------------------- answers

/// What an answer says: on success the message `name`; on error the code
/// to classify (the `FcmError` detail's `errorCode`, else the canonical
/// `status`), the message, and whether the error names the device token.
struct Reply {
    name: Option<String>,
    code: String,
    message: String,
    names_token: bool,
}

impl Reply {
    fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            name: Option<String>,
            error: Option<Status>,
        }
        #[derive(serde::Deserialize)]
        struct Status {
            message: Option<String>,
            status: Option<String>,
            #[serde(default)]
            details: Vec<Detail>,
        }
        #[derive(serde::Deserialize)]
        struct Detail {
            #[serde(rename = "errorCode")]
            error_code: Option<String>,
            #[serde(rename = "fieldViolations", default)]
            field_violations: Vec<FieldViolation>,
        }
        #[derive(serde::Deserialize)]
        struct FieldViolation {
            field: Option<String>,
        }
        let Ok(body) = serde_json::from_slice::<Body>(body) else {
            return Self {
                name: None,
                code: String::new(),
                message: String::new(),
                names_token: false,
            };
        };
        let Some(error) = body.error else {
            return Self {
                name: body.name,
                code: String::new(),
                message: String::new(),
                names_token: false,
            };
        };
        let code = error
            .details
            .iter()
            .find_map(|d| d.error_code.clone())
            .or(error.status)
            .unwrap_or_default();
        let message = error.message.unwrap_or_default();
        let names_token = message.contains("registration token")
            || error.details.iter().any(|d| {
                d.field_violations
                    .iter()
                    .any(|v| v.field.as_deref() == Some("message.token"))
            });
        Self {
            name: body.name,
            code,
            message,
            names_token,
        }
    }
}

/// What one answer asks of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// The device token is dead (for this project).
    DropToken,
    /// The access token was refused: fetch a new one and send once more.
    RefreshAuth,
    /// Server trouble: retry after the server backoff or `Retry-After`.
    Backoff,
    /// Over quota: retry after the quota backoff (≥ 60 s) or `Retry-After`.
    QuotaBackoff,
    /// Fix the push or the configuration; sending again cannot help.
    Reject,
    /// The sender's credentials or project permissions are refused:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
}

/// vendors.md §2.4, (HTTP status, code) → action. The code is the
/// `FcmError` detail's `errorCode`, or the canonical `error.status` when
/// FCM sends no detail (the last three rows).
pub const RESPONSES: &[(u16, &str, Action)] = &[
    (200, "", Action::Deliver),
    (400, "INVALID_ARGUMENT", Action::Reject),
    (404, "UNREGISTERED", Action::DropToken),
    (403, "SENDER_ID_MISMATCH", Action::DropToken),
    (429, "QUOTA_EXCEEDED", Action::QuotaBackoff),
    (503, "UNAVAILABLE", Action::Backoff),
    (500, "INTERNAL", Action::Backoff),
    (401, "THIRD_PARTY_AUTH_ERROR", Action::CredentialsRefused),
    (400, "UNSPECIFIED_ERROR", Action::Reject),
    (500, "UNSPECIFIED_ERROR", Action::Backoff),
    (401, "UNAUTHENTICATED", Action::RefreshAuth),
    (403, "PERMISSION_DENIED", Action::CredentialsRefused),
    (429, "RESOURCE_EXHAUSTED", Action::QuotaBackoff),
];

/// The row for (status, code), else the first row for the code, else by
/// status class: 2xx delivered, 401 refresh, 429 quota, 5xx backoff, other
/// 4xx rejected. `INVALID_ARGUMENT` naming the device token drops it.
pub fn action_for(status: u16, code: &str, names_token: bool) -> Action {
    if (200..300).contains(&status) {
        return Action::Deliver;
    }
    let row = RESPONSES
        .iter()
        .find(|(s, c, _)| *s == status && *c == code)
        .or_else(|| {
            RESPONSES
                .iter()
                .find(|(_, c, _)| !c.is_empty() && *c == code)
        });
    let action = match row {
        Some(&(_, _, action)) => action,
        None => {
            if !code.is_empty() {
                tracing::debug!(status, %code, "FCM answered a code not in the table");
            }
            match status {
                401 => Action::RefreshAuth,
                429 => Action::QuotaBackoff,
                500..=599 => Action::Backoff,
                _ => Action::Reject,
            }
        }
    };
    if action == Action::Reject && code == "INVALID_ARGUMENT" && names_token {
        return Action::DropToken;
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_once_and_each_row_maps_as_written() {
        for (i, (status, code, action)) in RESPONSES.iter().enumerate() {
            let again = RESPONSES
                .iter()
                .skip(i + 1)
                .any(|(s, c, _)| s == status && c == code);
            assert!(!again, "{status} {code} twice");
            assert_eq!(action_for(*status, code, false), *action, "{status} {code}");
        }
        // §2.4 lists 9 rows (UNSPECIFIED_ERROR split by status class);
        // plus success and the canonical PERMISSION_DENIED /
        // RESOURCE_EXHAUSTED without an FCM code.
        assert_eq!(RESPONSES.len(), 13);
    }

    #[test]
    fn code_alone_and_status_class_fallbacks() {
        // FCM's real 404 carries status NOT_FOUND and errorCode UNREGISTERED;
        // a code under another status still finds its row.
        assert_eq!(action_for(400, "UNREGISTERED", false), Action::DropToken);
        assert_eq!(action_for(401, "SomethingNew", false), Action::RefreshAuth);
        assert_eq!(action_for(429, "", false), Action::QuotaBackoff);
        assert_eq!(action_for(502, "", false), Action::Backoff);
        assert_eq!(action_for(404, "NOT_FOUND", false), Action::Reject);
        assert_eq!(action_for(418, "", false), Action::Reject);
    }

    #[test]
    fn invalid_argument_naming_the_token_drops_it() {
        assert_eq!(action_for(400, "INVALID_ARGUMENT", true), Action::DropToken);
        assert_eq!(action_for(400, "INVALID_ARGUMENT", false), Action::Reject);
        let reply = Reply::read(
            br#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#,
        );
        assert_eq!(reply.code, "INVALID_ARGUMENT");
        assert!(reply.names_token);
        let reply = Reply::read(
            br#"{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}]}}"#,
        );
        assert!(reply.names_token);
        let reply = Reply::read(
            br#"{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.android.ttl","description":"bad"}]}]}}"#,
        );
        assert!(!reply.names_token);
    }

    #[test]
    fn the_fcm_error_code_wins_over_the_canonical_status() {
        let reply = Reply::read(
            br#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#,
        );
        assert_eq!(reply.code, "UNREGISTERED");
        let reply = Reply::read(br#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#);
        assert_eq!(reply.code, "UNAUTHENTICATED");
        let reply = Reply::read(br#"{"name":"projects/p/messages/0:1"}"#);
        assert_eq!(reply.name.as_deref(), Some("projects/p/messages/0:1"));
        assert_eq!(Reply::read(b"<html>").code, "");
    }

    #[test]
    fn form_encoding_of_the_grant_type() {
        // A JWT (base64url and dots) needs no escaping; the grant type does.
        assert_eq!(
            crate::kit::form::body(&[("grant_type", GRANT_TYPE), ("assertion", "a-b_c.d")]),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a-b_c.d"
        );
    }

    #[test]
    fn key_file_errors_name_the_field_never_the_value() {
        let e = ServiceAccount::from_json(br#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#).unwrap_err();
        assert!(e.starts_with("private_key: "), "{e}");
        assert!(!e.contains("c2VjcmV0"));
        assert_eq!(
            ServiceAccount::from_json(br#"{"type":"authorized_user"}"#).unwrap_err(),
            "type is not \"service_account\""
        );
        assert_eq!(
            ServiceAccount::from_json(br#"{"type":"service_account"}"#).unwrap_err(),
            "no client_email"
        );
        let pem = include_str!("../../standin/testdata/fcm-test-key-1.pem");
        let json = serde_json::json!({
            "type": "service_account", "project_id": "p", "private_key_id": "k",
            "private_key": pem, "client_email": "a@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        let account = ServiceAccount::from_json(json.to_string().as_bytes()).unwrap();
        let debug = format!("{account:?}");
        assert!(debug.contains("a@p.iam.gserviceaccount.com"));
        assert!(!debug.contains("PRIVATE"));
    }
}
