//! Honor Push (vendors.md §4): OAuth 2.0 client credentials at Honor's IAM,
//! then `POST /api/v1/<appId>/sendMessage` with `Authorization: Bearer
//! <token>`, a `timestamp` header (epoch milliseconds, §4.1) and the core's
//! body as it is; the answer → [`Outcome`] table is [`RESPONSES`].
//!
//! The access token is cached in a [`TokenCache`] exactly as Huawei's
//! (same fetch, [`token::client_credentials`]): refreshed
//! [`TOKEN_REFRESH_BEFORE`] ahead of `expires_in`, dropped on an auth
//! refusal, after which the push is sent ONCE more with a fresh token.
//!
//! Honor's code table is unconfirmed (vendors.md §4.3). Decisions:
//! - The answer is `{"code", "message", "data": {"sendResult",
//!   "requestId", "failTokens", "expireTokens"}}` (§4.3). Success is `code`
//!   200 (Honor's published example) or 80000000 (Huawei's, which Honor's
//!   API was split from); either way `data.expireTokens` is read: those
//!   tokens are [`Delivery::invalid_tokens`], and when every token of the
//!   request is expired the outcome is [`Outcome::TokenInvalid`].
//!   Tokens only in `failTokens` (failed, not expired) with nothing sent
//!   (`sendResult` false) are [`Outcome::Rejected`] (`SendFailed`): the
//!   provisional policy makes everything unknown permanent (§4.3).
//! - The other rows are Huawei's codes (§3.4) that Honor's error list is
//!   reported to share; each is marked in [`RESPONSES`]. A code not in the
//!   table falls back by HTTP status: 401 refresh once (§4.3 "auth
//!   failures → refresh once"), 403 the sender refused, 429/503 flow
//!   backoff, 5xx backoff (§4.3), anything else rejected and logged.
//! - Refused credentials ([`Outcome::CredentialsRefused`]) as for Huawei:
//!   80200001 / 80200003 (or a bare 401) again right after a fresh token,
//!   80300002 and a bare 403 at once, and the IAM token endpoint's 4xx
//!   (`invalid_client`, `invalid_grant`, `unauthorized_client`, …:
//!   reason `OAuth2:<error>`).
//! - The `timestamp` header is the client's clock in milliseconds (§4.1,
//!   §10.7), sent with every request, resends included.
//! - `Delivered.id` is `data.requestId` (the push's UUID when absent).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, HonorSection};

use crate::https;
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::tls::TlsError;
use crate::token::{self, TokenCache, TokenFailure};
use crate::{BoxFuture, Provider, Push};

/// Push host (vendors.md §4.1).
pub const PRODUCTION_URL: &str = "https://push-api.cloud.hihonor.com";
/// OAuth token endpoint (vendors.md §4.1: the OpenID Connect path Honor's
/// guide gives; a third-party client's `/auth/token` is unconfirmed).
pub const TOKEN_URL: &str =
    "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token";
/// The `timestamp` header (vendors.md §4.1).
pub const TIMESTAMP_HEADER: &str = "timestamp";
/// The token is refreshed this long before `expires_in` runs out: three
/// minutes, as for Huawei (std-anchors §3), so a send never carries a token
/// that expires in flight.
pub const TOKEN_REFRESH_BEFORE: Duration = Duration::from_secs(180);
/// HTTP 5xx and the server-error codes (§4.3: backoff):
/// 5 s doubling to 30 minutes, as APNs.
pub const SERVER_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(5),
    cap: Duration::from_secs(30 * 60),
};
/// Flow control (HTTP 429/503, 80100017 as on Huawei §3.4): a minute
/// doubling to an hour, so a throttled app backs off harder than one that
/// met a server error.
pub const FLOW_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(60),
    cap: Duration::from_secs(60 * 60),
};

// ---------------------------------------------------------------- config

pub struct HonorConfig {
    pub app_id: String,
    /// The OAuth client id (Honor's differs from the app id, §4.1).
    pub client_id: String,
    pub client_secret: String,
    /// The push host, `https://host[:port]`.
    pub endpoint: String,
    pub token_endpoint: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub request_timeout: Duration,
}

impl std::fmt::Debug for HonorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HonorConfig")
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .field("endpoint", &self.endpoint)
            .field("token_endpoint", &self.token_endpoint)
            .field("ca_file", &self.ca_file)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl HonorConfig {
    /// Reads `[honor]`; errors name the key and never carry the secret.
    pub fn from_section(section: &HonorSection) -> Result<Self, ConfigError> {
        use https::config::{base_url, request_timeout, required};
        let app_id = required(&section.app_id, "honor.app_id")?;
        if !app_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::new(
                "honor.app_id",
                "must be letters and digits (it goes into the URL path)",
            ));
        }
        let client_id = required(&section.client_id, "honor.client_id")?;
        Ok(Self {
            client_secret: required(&section.client_secret, "honor.client_secret")?,
            endpoint: base_url(&section.endpoint, PRODUCTION_URL, "honor.endpoint")?,
            token_endpoint: base_url(&section.token_endpoint, TOKEN_URL, "honor.token_endpoint")?,
            ca_file: section.ca_file.clone(),
            request_timeout: request_timeout(
                section.request_timeout_secs,
                "honor.request_timeout_secs",
            )?,
            app_id,
            client_id,
        })
    }
}

// ---------------------------------------------------------------- client

/// A Honor client: one per app, shared by all sends.
pub struct HonorClient {
    http: reqwest::Client,
    send_url: String,
    config: HonorConfig,
    tokens: TokenCache,
    clock: SharedClock,
}

impl std::fmt::Debug for HonorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HonorClient")
            .field("send_url", &self.send_url)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl HonorClient {
    pub fn new(config: HonorConfig, clock: SharedClock) -> Result<Self, TlsError> {
        let http = https::client(config.ca_file.as_deref(), config.request_timeout)?;
        Ok(Self {
            http,
            send_url: format!("{}/api/v1/{}/sendMessage", config.endpoint, config.app_id),
            tokens: TokenCache::new(
                "honor",
                clock.clone(),
                TOKEN_REFRESH_BEFORE,
                config.request_timeout,
            ),
            config,
            clock,
        })
    }

    /// Access tokens fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Sends one rendered Honor push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        let send = self.send_once_more(push);
        https::within(
            "honor",
            self.config.request_timeout,
            &self.clock,
            push.attempt,
            send,
        )
        .await
    }

    async fn token(&self) -> Result<String, TokenFailure> {
        let c = &self.config;
        self.tokens
            .get(|| {
                token::client_credentials(
                    self.http.clone(),
                    c.token_endpoint.clone(),
                    c.client_id.clone(),
                    c.client_secret.clone(),
                )
            })
            .await
    }

    async fn send_once_more(&self, push: &Push<'_>) -> Delivery {
        let mut refreshed = false;
        loop {
            let token = match self.token().await {
                Ok(token) => token,
                Err(failure) => return failure.delivery(),
            };
            // The cache keeps only tokens that fit a header.
            let Ok(mut bearer) = HeaderValue::try_from(format!("Bearer {token}")) else {
                self.tokens.invalidate(&token).await;
                return Delivery::unanswered("TokenUnusable", self.clock.now(), push.attempt);
            };
            bearer.set_sensitive(true);
            let timestamp = self
                .clock
                .now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let sent = self
                .http
                .post(&self.send_url)
                .header(AUTHORIZATION, bearer)
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(CONTENT_TYPE, "application/json")
                .body(push.body.to_vec())
                .send()
                .await;
            let answer = match sent {
                Ok(answer) => answer,
                Err(e) => {
                    return https::classify(&e).delivery("honor", self.clock.now(), push.attempt)
                }
            };
            let status = answer.status().as_u16();
            let retry_after = https::retry_after(answer.headers());
            let bytes = match answer.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => {
                    return https::classify(&e).delivery("honor", self.clock.now(), push.attempt)
                }
            };
            let reply = Reply::read(&bytes);
            let action = action_for(status, &reply.code);
            if action == Action::RefreshAuth {
                self.tokens.invalidate(&token).await;
                if !refreshed {
                    tracing::debug!(code = %reply.code, "Honor refused the access token; fetching a new one");
                    refreshed = true;
                    continue;
                }
            }
            return self.finish(status, retry_after, reply, action, push);
        }
    }

    fn finish(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        reply: Reply,
        action: Action,
        push: &Push<'_>,
    ) -> Delivery {
        let now = self.clock.now();
        let reason = if reply.code.is_empty() {
            format!("HTTP {status}")
        } else {
            reply.code.clone()
        };
        let request_tokens = body_tokens(push.body);
        let mut invalid_tokens = Vec::new();
        let outcome = match action {
            Action::Deliver => {
                invalid_tokens = reply.expire_tokens.clone();
                let all_dead = !invalid_tokens.is_empty()
                    && request_tokens.iter().all(|t| invalid_tokens.contains(t));
                let none_sent = reply.send_result == Some(false)
                    && request_tokens
                        .iter()
                        .all(|t| invalid_tokens.contains(t) || reply.fail_tokens.contains(t));
                if all_dead {
                    Outcome::TokenInvalid {
                        reason: "expireTokens".into(),
                        since: None,
                    }
                } else if none_sent {
                    tracing::debug!(status, %reason, message = %reply.message, "Honor sent the push to none of its tokens");
                    Outcome::Rejected {
                        reason: "SendFailed".into(),
                    }
                } else {
                    Outcome::Delivered {
                        id: reply
                            .request_id
                            .clone()
                            .unwrap_or_else(|| push.id.to_string()),
                    }
                }
            }
            Action::DropTokens => {
                invalid_tokens = request_tokens;
                Outcome::TokenInvalid {
                    reason,
                    since: None,
                }
            }
            Action::Backoff => Outcome::Retry {
                reason,
                not_before: now + retry_after.unwrap_or(SERVER_BACKOFF.delay(push.attempt)),
            },
            Action::FlowControl => Outcome::Retry {
                reason,
                not_before: now + retry_after.unwrap_or(FLOW_BACKOFF.delay(push.attempt)),
            },
            // Refused again right after a fresh token: the credentials
            // are wrong for this app.
            Action::CredentialsRefused | Action::RefreshAuth => {
                tracing::debug!(status, %reason, "Honor refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                tracing::debug!(status, %reason, message = %reply.message, "Honor rejected a push: check the configuration or the payload");
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            outcome,
            status: Some(status),
            id: reply.request_id,
            invalid_tokens,
        }
    }
}

impl Provider for HonorClient {
    fn send<'a>(&'a self, push: &'a Push<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(HonorClient::send(self, push))
    }
}

/// The device tokens a rendered body addresses (top-level `token`, §4.2).
pub fn body_tokens(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        token: Option<Vec<String>>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.token)
        .unwrap_or_default()
}

// ---------------------------------------------------------------- answers

/// The answer `{"code": <int>, "message": "...", "data": {"sendResult",
/// "requestId", "failTokens", "expireTokens"}}` (vendors.md §4.3).
#[derive(Debug, Default)]
pub struct Reply {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub send_result: Option<bool>,
    pub fail_tokens: Vec<String>,
    pub expire_tokens: Vec<String>,
}

impl Reply {
    pub fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<serde_json::Value>,
            message: Option<String>,
            data: Option<Data>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            send_result: Option<bool>,
            request_id: Option<String>,
            fail_tokens: Option<Vec<String>>,
            expire_tokens: Option<Vec<String>>,
        }
        let Ok(b) = serde_json::from_slice::<Body>(body) else {
            return Self::default();
        };
        let data = b.data.unwrap_or(Data {
            send_result: None,
            request_id: None,
            fail_tokens: None,
            expire_tokens: None,
        });
        Self {
            code: match b.code {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => String::new(),
            },
            message: b.message.unwrap_or_default(),
            request_id: data.request_id,
            send_result: data.send_result,
            fail_tokens: data.fail_tokens.unwrap_or_default(),
            expire_tokens: data.expire_tokens.unwrap_or_default(),
        }
    }
}

/// What one answer asks of the client: Huawei's actions, since Honor
/// answers Huawei's codes (vendors.md §4.3).
pub use crate::huawei::Action;

/// Honor's result codes → action. Only 200 is Honor's own (its published
/// example); the rest are Huawei's §3.4 codes, assumed shared (§4.3
/// unconfirmed; see the module doc).
pub const RESPONSES: &[(&str, Action)] = &[
    ("200", Action::Deliver),
    ("80000000", Action::Deliver),
    ("80100000", Action::Deliver),
    ("80100001", Action::Reject),
    ("80100003", Action::Reject),
    ("80100004", Action::Reject),
    ("80100017", Action::FlowControl),
    ("80200001", Action::RefreshAuth),
    ("80200003", Action::RefreshAuth),
    ("80300002", Action::CredentialsRefused),
    ("80300007", Action::DropTokens),
    ("80300008", Action::Reject),
    ("80300010", Action::Reject),
    ("80600003", Action::Backoff),
    ("81000001", Action::Backoff),
];

/// The table's row, or by HTTP status for a code not in it (see the
/// module doc).
pub fn action_for(status: u16, code: &str) -> Action {
    crate::huawei::action_in(RESPONSES, "Honor", status, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        for (i, (code, _)) in RESPONSES.iter().enumerate() {
            assert!(
                !RESPONSES.iter().skip(i + 1).any(|(c, _)| c == code),
                "{code} twice"
            );
        }
        assert_eq!(RESPONSES.len(), 15);
        let expect =
            |code: &str, action: Action| assert_eq!(action_for(200, code), action, "{code}");
        for code in ["200", "80000000", "80100000"] {
            expect(code, Action::Deliver);
        }
        for code in ["80100001", "80100003", "80100004", "80300008", "80300010"] {
            expect(code, Action::Reject);
        }
        expect("80100017", Action::FlowControl);
        expect("80200001", Action::RefreshAuth);
        expect("80200003", Action::RefreshAuth);
        expect("80300002", Action::CredentialsRefused);
        expect("80300007", Action::DropTokens);
        expect("80600003", Action::Backoff);
        expect("81000001", Action::Backoff);
    }

    #[test]
    fn unknown_codes_fall_back_by_status() {
        assert_eq!(action_for(503, ""), Action::FlowControl);
        assert_eq!(action_for(429, ""), Action::FlowControl);
        assert_eq!(action_for(500, "1"), Action::Backoff);
        assert_eq!(action_for(401, ""), Action::RefreshAuth);
        assert_eq!(action_for(403, "1"), Action::CredentialsRefused);
        assert_eq!(action_for(400, "1"), Action::Reject);
        assert_eq!(action_for(200, "1"), Action::Reject);
    }

    #[test]
    fn reads_the_answer_and_the_body_tokens() {
        let r = Reply::read(
            br#"{"code":200,"message":"success","data":{"sendResult":false,"requestId":"r1","failTokens":["f"],"expireTokens":["e"]}}"#,
        );
        assert_eq!(r.code, "200");
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        assert_eq!(r.send_result, Some(false));
        assert_eq!(
            (r.fail_tokens, r.expire_tokens),
            (vec!["f".to_owned()], vec!["e".to_owned()])
        );
        assert_eq!(Reply::read(b"").code, "");
        assert_eq!(body_tokens(br#"{"android":{},"token":["t1"]}"#), ["t1"]);
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let section = HonorSection {
            app_id: Some("104400001".into()),
            client_id: Some("client-1".into()),
            client_secret: Some("s3cret-value".into()),
            ..HonorSection::default()
        };
        let config = HonorConfig::from_section(&section).unwrap();
        assert_eq!(config.endpoint, PRODUCTION_URL);
        assert!(!format!("{config:?}").contains("s3cret-value"));
        let missing = HonorConfig::from_section(&HonorSection {
            client_id: None,
            ..section
        })
        .unwrap_err();
        assert_eq!(missing.to_string(), "honor.client_id: missing");
    }
}
