//! OPPO Push (vendors.md §6): an `auth_token` from `POST /server/v1/auth`
//! (`sign` = hex SHA-256 of `app_key + timestamp + master_secret`), cached
//! in a [`TokenCache`] (see [`crate::token`]), then
//! `POST /server/v1/message/notification/unicast` with the core's form body
//! (`message=<JSON>`) as it is plus `&auth_token=<token>`. The answer →
//! [`Outcome`] table is [`RESPONSES`].
//!
//! Decisions where vendors.md is silent or unsure:
//! - `auth_token` travels as the form field (§6.2, a common parameter) and
//!   also as an `auth_token` header, as OPPO's own server SDK sends it, so
//!   either reading of §6.2 is met. Both are the same sensitive value.
//! - The token lives 24 h (§6.1); it is renewed [`TOKEN_REFRESH_BEFORE`]
//!   ahead (so after 23 h), or at once when a send answers 11 (invalid
//!   auth_token) or 29 (missing): the push is then resent ONCE with a new
//!   token; a second 11/29 right after the fresh token is
//!   [`Outcome::CredentialsRefused`].
//! - Refused credentials ([`Outcome::CredentialsRefused`]): 14–19 (app
//!   key, signature, timestamp: §6.3 "fix", "fix sign", "fix clock"), and,
//!   as a decision where vendors.md says only "ops", 26 (IP blacklisted),
//!   27 (access denied), 28 (app disabled), 30 (no API push permission):
//!   each refuses the sender, not the push, until the operator acts. A
//!   bare HTTP 401/403 without a code is read the same.
//! - The auth request's answer goes through the same table
//!   ([`read_auth_answer`]): what would back off a send is the endpoint
//!   being unavailable (a retry at the end of the token backoff), anything
//!   else refuses the credentials, remembered by the shared token cache
//!   ([`crate::token`]) for its backoff.
//! - Dead registration ids: vendors.md lists no unicast code for them
//!   (10000–20000 are endpoint-specific, unconfirmed). OPPO's unicast
//!   answers 10000 for an invalid `registration_id`; that one code is
//!   [`Outcome::TokenInvalid`], every other 10000–20000 code a rejection.
//! - 33/34 (daily limits): retry at the next midnight, China Standard
//!   Time; −2/13/55 (flow control, frequency) back off from a minute.
//! - One client talks to one host (`endpoint`: `china` by default, `intl`
//!   for overseas devices, or a URL); routing each regId to its region
//!   (§6.1 `_`-split rule) is left to the deployment's configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::HeaderValue;
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, OppoSection};

pub use crate::form::InitError;
use crate::form::{self, local_reject, network_failure, Answer};
use crate::kit::{config, ExposeSecret as _, SecretString};
use crate::outcome::{Backoff, Delivery};
use crate::token::{TokenCache, TokenError};
#[cfg(doc)]
use crate::Outcome;
use crate::Push;

/// Host for China devices (vendors.md §6.1).
pub const CHINA_URL: &str = "https://api.push.oppomobile.com";
/// Host for overseas devices (vendors.md §6.1).
pub const INTL_URL: &str = "https://api-intl.push.oppomobile.com";
/// The auth endpoint (vendors.md §6.1).
pub const AUTH_PATH: &str = "/server/v1/auth";
/// Single notification send (vendors.md §6.2).
pub const UNICAST_PATH: &str = "/server/v1/message/notification/unicast";
/// An `auth_token` lives 24 h (vendors.md §6.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// …and is renewed this long before that (an hour: no send ever carries a
/// token about to lapse, and a refresh a day is far from any limit).
pub const TOKEN_REFRESH_BEFORE: Duration = Duration::from_secs(3600);
/// A send's whole budget.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = crate::kit::config::DEFAULT_REQUEST_TIMEOUT;
/// −1 service unavailable, 5xx (vendors.md §6.3 "retry later with
/// backoff"): from 5 s, doubling, at most 30 minutes.
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// −2 flow control, 13/55 call frequency (vendors.md §6.3 "back off"):
/// from a minute up to an hour.
pub const RATE_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;

static AUTH_TOKEN: HeaderName = HeaderName::from_static("auth_token");

// ---------------------------------------------------------------- config

#[derive(Debug)]
pub struct OppoConfig {
    /// `china` (default), `intl`, or any `https://host:port`.
    pub endpoint: String,
    pub app_key: String,
    pub master_secret: SecretString,
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
}

/// The region names `endpoint` takes (vendors.md §6).
pub const REGIONS: &[(&str, &str)] = &[
    ("china", CHINA_URL),
    ("intl", INTL_URL),
    ("global", INTL_URL),
];

/// `china` / `intl` (or `global`) / a URL.
pub fn endpoint_url(endpoint: &str) -> &str {
    config::region_url(endpoint, REGIONS)
}

impl OppoConfig {
    /// Reads `[oppo]`. Errors name the key and never carry the secret.
    pub fn from_section(section: &OppoSection) -> Result<Self, ConfigError> {
        Ok(Self {
            app_key: config::required(&section.app_key, "oppo.app_key")?,
            master_secret: config::secret(&section.master_secret, "oppo.master_secret")?,
            endpoint: config::region(&section.endpoint, "china", REGIONS, "oppo.endpoint")?,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "oppo.request_timeout_secs",
            )?,
        })
    }
}

/// `sign` for the auth request: lowercase hex SHA-256 of
/// `app_key + timestamp + master_secret` (vendors.md §6.1).
pub fn auth_sign(app_key: &str, timestamp_ms: u64, master_secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app_key.as_bytes());
    hasher.update(timestamp_ms.to_string().as_bytes());
    hasher.update(master_secret.as_bytes());
    hex::encode(hasher.finalize())
}

// ---------------------------------------------------------------- client

/// An OPPO Push client: one per app, shared by all sends.
#[derive(Debug)]
pub struct OppoClient {
    http: reqwest::Client,
    auth_url: String,
    send_url: String,
    app_key: String,
    master_secret: SecretString,
    token: TokenCache,
    clock: SharedClock,
    request_timeout: Duration,
}

impl OppoClient {
    pub fn new(config: OppoConfig, clock: SharedClock) -> Result<Self, InitError> {
        let base = config::https_url(endpoint_url(&config.endpoint), "oppo.endpoint")?;
        Ok(Self {
            http: crate::https::client(config.ca_file.as_deref(), config.request_timeout)?,
            auth_url: format!("{base}{AUTH_PATH}"),
            send_url: format!("{base}{UNICAST_PATH}"),
            app_key: config.app_key,
            master_secret: config.master_secret,
            token: TokenCache::new(
                "oppo",
                clock.clone(),
                TOKEN_REFRESH_BEFORE,
                config.request_timeout,
            ),
            clock,
            request_timeout: config.request_timeout,
        })
    }

    /// Auth tokens fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.token.fetches()
    }

    /// Sends one rendered OPPO body; never fails, every end is a
    /// [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("oppo") {
            return refused;
        }
        if !matches!(push.headers, Headers::None) {
            return local_reject("NotAnOppoPush");
        }
        let send = self.send_once_more(push);
        crate::https::within(
            "oppo",
            self.request_timeout,
            &self.clock,
            push.attempt,
            send,
        )
        .await
    }

    /// The send, with ONE resend after a refused auth token.
    async fn send_once_more(&self, push: &Push<'_>) -> Delivery {
        let send = |auth_token: HeaderValue, token: String| async move {
            let mut headers = HeaderMap::new();
            headers.insert(AUTH_TOKEN.clone(), auth_token);
            let mut body = push.body.to_vec();
            form::append_pair(&mut body, "auth_token", &token);
            let answer = form::post(&self.http, &self.send_url, headers, body, &self.clock)
                .await
                .map_err(|e| network_failure("OPPO Push", &e, self.clock.now(), push.attempt))?;
            let reply = Reply::read(&answer.body);
            let action = TABLE.action(answer.status, reply.code);
            Ok(((answer, reply, action), action == Action::Reauth))
        };
        let fetch = || self.fetch_token();
        let finish = |(answer, reply, action)| self.finish(&answer, &reply, action, push);
        let attempt = push.attempt;
        self.token
            .send_once_more(fetch, "", attempt, send, finish)
            .await
    }

    /// One `/server/v1/auth` exchange (§6.1), signed now; the future owns
    /// what it needs (it runs as the token cache's own task).
    fn fetch_token(
        &self,
    ) -> impl std::future::Future<Output = Result<(String, Duration), TokenError>> + Send + 'static
    {
        let timestamp = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut body = Vec::with_capacity(160);
        form::append_pair(&mut body, "app_key", &self.app_key);
        form::append_pair(&mut body, "timestamp", &timestamp.to_string());
        let sign = auth_sign(&self.app_key, timestamp, self.master_secret.expose_secret());
        form::append_pair(&mut body, "sign", &sign);
        let (http, url, clock) = (
            self.http.clone(),
            self.auth_url.clone(),
            Arc::clone(&self.clock),
        );
        async move {
            let answer = form::post(&http, &url, HeaderMap::new(), body, &clock)
                .await
                .map_err(TokenError::Transport)?;
            read_auth_answer(&answer, clock.now())
        }
    }

    fn finish(&self, answer: &Answer, reply: &Reply, action: Action, push: &Push<'_>) -> Delivery {
        let reason = reply.reason(answer.status);
        let id = form::delivered_id(reply.message_id.as_ref(), push);
        let now = self.clock.now();
        Delivery {
            outcome: form::outcome(&POLICY, action, reason, id, answer, now, push.attempt),
            status: Some(answer.status),
            id: reply.message_id.clone(),
            invalid_tokens: Vec::new(),
        }
    }
}

provider!(OppoClient);

/// Reads a `/server/v1/auth` answer (§6.1) at `now`: code 0 with an
/// `auth_token` on a 200 is the token, living 24 h from its `create_time`
/// (ms; from `now` without one). Otherwise the code (or the HTTP status)
/// goes through [`action_for`]: what would back off a send (−2, −1, 13, 55,
/// 429, 5xx) — or a success without a token — is the endpoint being
/// unavailable; every other answer refuses the credentials (the request
/// carries nothing but the app key, the timestamp and the signature: 14–19
/// and anything unknown alike), reason `auth: <code> <message>`.
pub fn read_auth_answer(
    answer: &Answer,
    now: SystemTime,
) -> Result<(String, Duration), TokenError> {
    let reply = Reply::read(&answer.body);
    if let (Some(0), Some(token)) = (reply.code, reply.auth_token.clone()) {
        if answer.status == 200 && !token.is_empty() {
            let lifetime = reply
                .create_time_ms
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms) + TOKEN_LIFETIME)
                .and_then(|expiry| expiry.duration_since(now).ok())
                .map_or(TOKEN_LIFETIME, |left| left.min(TOKEN_LIFETIME));
            return Ok((token, lifetime));
        }
    }
    let action = TABLE.action(answer.status, reply.code.filter(|&c| c != 0));
    let reason = format!("auth: {}", reply.reason(answer.status));
    match action {
        Action::Deliver
        | Action::Reauth
        | Action::Backoff
        | Action::RateBackoff
        | Action::NextDay => Err(TokenError::Unavailable {
            status: answer.status,
            reason,
            retry_after: answer.retry_after,
        }),
        _ => {
            tracing::debug!(status = answer.status, %reason, "OPPO refused the app's credentials");
            Err(TokenError::Refused {
                status: Some(answer.status),
                reason,
            })
        }
    }
}

// ---------------------------------------------------------------- answers

/// `{"code", "message", "data": {"messageId" | "auth_token", "create_time"}}`
/// (vendors.md §6.1, §6.2).
struct Reply {
    code: Option<i64>,
    message: String,
    message_id: Option<String>,
    auth_token: Option<String>,
    create_time_ms: Option<u64>,
}

impl Reply {
    fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<serde_json::Value>,
            message: Option<String>,
            data: Option<Data>,
        }
        #[derive(serde::Deserialize)]
        struct Data {
            #[serde(rename = "messageId")]
            message_id: Option<String>,
            auth_token: Option<String>,
            create_time: Option<u64>,
        }
        let b = serde_json::from_slice::<Body>(body).ok();
        let code = b
            .as_ref()
            .and_then(|b| b.code.as_ref())
            .and_then(crate::kit::answer::numeric_code);
        let (message, data) = b.map_or((None, None), |b| (b.message, b.data));
        Self {
            code,
            message: message.unwrap_or_default(),
            message_id: data.as_ref().and_then(|d| d.message_id.clone()),
            auth_token: data.as_ref().and_then(|d| d.auth_token.clone()),
            create_time_ms: data.and_then(|d| d.create_time),
        }
    }

    fn reason(&self, status: u16) -> String {
        crate::kit::answer::coded_reason(self.code, &self.message, status)
    }
}

/// What one answer asks of the client: the form vendors' vocabulary.
pub use crate::form::{status_action, Action};

/// OPPO's retry policy (the backoffs above; no offline answer).
const POLICY: form::Policy = form::Policy {
    vendor: "OPPO",
    server: SERVER_BACKOFF,
    rate: RATE_BACKOFF,
    offline: SERVER_BACKOFF,
};

/// Every code of vendors.md §6.3 → action (plus 10000, see the module doc).
pub const RESPONSES: &[(i64, Action)] = &[
    (0, Action::Deliver),
    (-2, Action::RateBackoff),
    (-1, Action::Backoff),
    (11, Action::Reauth),
    (12, Action::Reject),
    (13, Action::RateBackoff),
    (14, Action::CredentialsRefused),
    (15, Action::CredentialsRefused),
    (16, Action::CredentialsRefused),
    (17, Action::CredentialsRefused),
    (18, Action::CredentialsRefused),
    (19, Action::CredentialsRefused),
    (20, Action::Reject),
    (21, Action::Reject),
    (22, Action::Reject),
    (23, Action::Reject),
    (24, Action::Reject),
    (25, Action::Reject),
    (26, Action::CredentialsRefused),
    (27, Action::CredentialsRefused),
    (28, Action::CredentialsRefused),
    (29, Action::Reauth),
    (30, Action::CredentialsRefused),
    (31, Action::Reject),
    (32, Action::Reject),
    (33, Action::NextDay),
    (34, Action::NextDay),
    (40, Action::Reject),
    (41, Action::Reject),
    (51, Action::Reject),
    (55, Action::RateBackoff),
    (59, Action::Reject),
    (67, Action::Reject),
    (10000, Action::DropToken),
];

/// The table's row for `code`; otherwise by HTTP status class, a 2xx one
/// a rejection (unknown business codes, 10001–20000 included).
pub fn action_for(status: u16, code: i64) -> Action {
    TABLE.action(status, Some(code))
}

const TABLE: form::Table = form::Table {
    vendor: "OPPO",
    rows: RESPONSES,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_and_maps_as_the_spec_says() {
        crate::kit::answer::assert_table(RESPONSES, |&code| action_for(200, code));
        assert_eq!(RESPONSES.len(), 34);
        assert_eq!(action_for(200, 11), Action::Reauth);
        assert_eq!(action_for(200, 29), Action::Reauth);
        assert_eq!(action_for(200, 33), Action::NextDay);
        assert_eq!(action_for(200, -2), Action::RateBackoff);
        assert_eq!(action_for(200, -1), Action::Backoff);
        for code in [14, 15, 16, 17, 18, 19, 26, 27, 28, 30] {
            assert_eq!(action_for(200, code), Action::CredentialsRefused, "{code}");
        }
        assert_eq!(action_for(200, 12), Action::Reject);
        assert_eq!(action_for(200, 10000), Action::DropToken);
    }

    #[test]
    fn unknown_codes_fall_back_by_status_class() {
        assert_eq!(action_for(200, 10001), Action::Reject);
        assert_eq!(action_for(502, 777), Action::Backoff);
        assert_eq!(status_action(429), Action::RateBackoff);
        assert_eq!(status_action(404), Action::Reject);
        assert_eq!(status_action(401), Action::CredentialsRefused);
    }

    #[test]
    fn sign_is_sha256_hex_of_key_timestamp_secret() {
        // sha256("k" "1700000000000" "s"), computed independently.
        let expected = hex::encode(Sha256::digest(b"k1700000000000s"));
        assert_eq!(auth_sign("k", 1_700_000_000_000, "s"), expected);
        assert_eq!(expected.len(), 64);
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let err = OppoConfig::from_section(&OppoSection::default()).unwrap_err();
        assert_eq!(err.to_string(), "oppo.app_key: missing");
        let section = OppoSection {
            app_key: Some("key".into()),
            ..OppoSection::default()
        };
        let err = OppoConfig::from_section(&section).unwrap_err();
        assert_eq!(err.to_string(), "oppo.master_secret: missing");
        let section = OppoSection {
            app_key: Some("key".into()),
            master_secret: Some("m4ster-s3cret".into()),
            endpoint: Some("intl".into()),
            ..OppoSection::default()
        };
        let config = OppoConfig::from_section(&section).unwrap();
        assert_eq!(endpoint_url(&config.endpoint), INTL_URL);
        assert!(!format!("{config:?}").contains("m4ster"));
        // The client's derived Debug too (the secret is a SecretString).
        let clock = std::sync::Arc::new(tidings_std::clock::ManualClock::starting_now());
        let client = OppoClient::new(config, clock).unwrap();
        assert!(!format!("{client:?}").contains("m4ster"));
    }
}
