//! Huawei Push Kit v1 (vendors.md §3): OAuth 2.0 client credentials, then
//! `POST /v1/<appId>/messages:send` with `Authorization: Bearer <token>`
//! and the core's body as it is; the answer → [`Outcome`] table is
//! [`RESPONSES`].
//!
//! This module is also the kit Honor's client is made of ([`Client`] over a
//! [`Vendor`]): Honor's API was split from Huawei's, so [`crate::honor`]
//! holds only its differences, as a [`Flavor`] (URLs, send path, headers,
//! code table, answer shape).
//!
//! The access token is cached in a [`TokenCache`]: fetched once, shared by
//! every send, refreshed [`TOKEN_REFRESH_BEFORE`] ahead of its `expires_in`,
//! and dropped on 80200003/80200001, after which the push is sent ONCE more
//! with a fresh token.
//!
//! Decisions where vendors.md is silent:
//! - 80200001 (auth error) is refreshed once like 80200003 (a token of
//!   another app or a stale one looks the same from here); either code
//!   again right after the fresh token is [`Outcome::CredentialsRefused`]
//!   (the client id and secret are not this app's, or the token endpoint
//!   and the push endpoint disagree: only the operator can fix either).
//!   80300002 (app forbidden to send) is `CredentialsRefused` at once.
//! - 80100000 (partial success): `msg` is read as JSON for `illegal_tokens`
//!   (v1 shape, as Huawei's server SDKs read it) or `illegalTokens` (v3:
//!   an array, or an object whose values are tokens or arrays of them).
//!   When every token of the request is named the outcome is
//!   [`Outcome::TokenInvalid`], otherwise [`Outcome::Delivered`]; the named
//!   tokens are [`Delivery::invalid_tokens`] either way. 80300007 (all
//!   tokens invalid) names every token of the request.
//! - 80100017 (too many concurrent topic messages) and HTTP 503 (flow
//!   control) retry on the slower [`FLOW_BACKOFF`]; Huawei documents no
//!   daily-quota code for v1 (an over-quota marketing message is accepted
//!   and folded by the device), so none is mapped. `Retry-After` wins
//!   wherever it is sent.
//! - An answer with an unknown or unreadable `code` falls back by HTTP
//!   status: 401 refresh once, 403 `CredentialsRefused` (the app is
//!   refused, as with 80300002), 429/5xx backoff, anything else (2xx too:
//!   a success always says 80000000) rejected and logged.
//! - The token endpoint's refusals (4xx: `error` 1101 and the like) are
//!   `CredentialsRefused` with reason `OAuth2:<error>`, remembered by the
//!   shared token cache ([`crate::token`]) for its backoff.
//! - `Delivered.id` is Huawei's `requestId` (the push's UUID when absent).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, HuaweiSection};

use crate::https;
use crate::kit::answer::StatusClass;
use crate::kit::{config, SecretString};
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::tls::TlsError;
use crate::token::{self, TokenCache};
use crate::{BoxFuture, Provider, Push};

/// Push host (vendors.md §3.2).
pub const PRODUCTION_URL: &str = "https://push-api.cloud.huawei.com";
/// OAuth token endpoint (vendors.md §3.1).
pub const TOKEN_URL: &str = "https://oauth-login.cloud.huawei.com/oauth2/v3/token";
/// The token is refreshed this long before `expires_in` runs out (one hour,
/// §3.1): three minutes, as push-relay does (std-anchors §3), so a send
/// never carries a token that expires in flight. Honor's too.
pub const TOKEN_REFRESH_BEFORE: Duration = Duration::from_secs(180);
/// 80600003, 81000001, HTTP 5xx (§3.4 retry policy: exponential backoff):
/// 5 s doubling to 30 minutes, as APNs. Honor's too (§4.3).
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// 80100017 and HTTP 503 flow control (§3.4: "retry later; spread
/// traffic"): a minute doubling to an hour, so a throttled app backs off
/// harder than one that met a server error. Honor's too.
pub const FLOW_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;

// ---------------------------------------------------------------- the kit

/// What differs between Huawei and Honor: data, not code.
pub struct Flavor {
    /// The channel's name: logs and config keys (`huawei.client_secret`).
    pub channel: &'static str,
    pub production_url: &'static str,
    pub token_url: &'static str,
    /// The send path around the app id: `<0><appId><1>`.
    pub send_path: (&'static str, &'static str),
    pub content_type: &'static str,
    /// A `timestamp` header (epoch milliseconds) on every send.
    pub timestamp_header: Option<&'static str>,
    /// The OAuth client id defaults to the app id (Huawei's is it).
    pub client_id_is_app_id: bool,
    /// The vendor's own result codes → action.
    pub responses: &'static [(&'static str, Action)],
    /// Huawei's codes (§3.4) the vendor answers too, with Huawei's action.
    pub huawei_codes: &'static [&'static str],
    /// Reads an answer body.
    pub read: fn(&[u8]) -> Answer,
    /// The device tokens a rendered body addresses.
    pub body_tokens: fn(&[u8]) -> Vec<String>,
    /// The reason when every token of the request is named dead (`None`:
    /// the answer's code).
    pub dead_reason: Option<&'static str>,
}

/// A vendor speaking this API: its [`Flavor`].
pub trait Vendor: Send + Sync + 'static {
    const FLAVOR: Flavor;
}

/// Huawei.
#[derive(Debug)]
pub struct Huawei;

impl Vendor for Huawei {
    const FLAVOR: Flavor = Flavor {
        channel: "huawei",
        production_url: PRODUCTION_URL,
        token_url: TOKEN_URL,
        send_path: ("/v1/", "/messages:send"),
        content_type: "application/json",
        timestamp_header: None,
        client_id_is_app_id: true,
        responses: RESPONSES,
        huawei_codes: &[],
        read: read_answer,
        body_tokens,
        dead_reason: None,
    };
}

/// One app's OAuth client credentials and endpoints.
#[derive(Debug)]
pub struct OAuthConfig {
    pub app_id: String,
    /// The OAuth client id (Huawei's is the app id, §3.1; Honor's differs,
    /// §4.1).
    pub client_id: String,
    pub client_secret: SecretString,
    /// The push host, `https://host[:port]`.
    pub endpoint: String,
    pub token_endpoint: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub request_timeout: Duration,
}

pub type HuaweiConfig = OAuthConfig;

/// The config table of a [`Vendor`]: `[huawei]`, `[honor]` (two types in
/// the config crate with the same keys).
pub trait OAuthSection {
    type Vendor: Vendor;
    fn app_id(&self) -> &Option<String>;
    fn client_id(&self) -> &Option<String>;
    fn client_secret(&self) -> &Option<String>;
    fn endpoint(&self) -> &Option<String>;
    fn token_endpoint(&self) -> &Option<String>;
    fn ca_file(&self) -> &Option<std::path::PathBuf>;
    fn request_timeout_secs(&self) -> Option<u64>;
}

/// Implements [`OAuthSection`] for a config table with the OAuth keys.
macro_rules! oauth_section {
    ($section:ty, $vendor:ty) => {
        impl $crate::huawei::OAuthSection for $section {
            type Vendor = $vendor;
            fn app_id(&self) -> &Option<String> {
                &self.app_id
            }
            fn client_id(&self) -> &Option<String> {
                &self.client_id
            }
            fn client_secret(&self) -> &Option<String> {
                &self.client_secret
            }
            fn endpoint(&self) -> &Option<String> {
                &self.endpoint
            }
            fn token_endpoint(&self) -> &Option<String> {
                &self.token_endpoint
            }
            fn ca_file(&self) -> &Option<std::path::PathBuf> {
                &self.ca_file
            }
            fn request_timeout_secs(&self) -> Option<u64> {
                self.request_timeout_secs
            }
        }
    };
}
pub(crate) use oauth_section;

oauth_section!(HuaweiSection, Huawei);

impl OAuthConfig {
    /// Reads `[huawei]` or `[honor]`; errors name the key and never carry
    /// the secret.
    pub fn from_section<S: OAuthSection>(section: &S) -> Result<Self, ConfigError> {
        let flavor = &S::Vendor::FLAVOR;
        let key = |name: &str| format!("{}.{name}", flavor.channel);
        let app_id = config::required(section.app_id(), &key("app_id"))?;
        if !app_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::new(
                key("app_id"),
                "must be letters and digits (it goes into the URL path)",
            ));
        }
        let client_id = match section.client_id() {
            None if flavor.client_id_is_app_id => app_id.clone(),
            value => config::required(value, &key("client_id"))?,
        };
        Ok(Self {
            client_secret: config::secret(section.client_secret(), &key("client_secret"))?,
            endpoint: config::base_url(
                section.endpoint(),
                flavor.production_url,
                &key("endpoint"),
            )?,
            token_endpoint: config::base_url(
                section.token_endpoint(),
                flavor.token_url,
                &key("token_endpoint"),
            )?,
            ca_file: section.ca_file().clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs(),
                &key("request_timeout_secs"),
            )?,
            app_id,
            client_id,
        })
    }
}

// ---------------------------------------------------------------- client

/// A client of one app, shared by all sends: [`HuaweiClient`],
/// [`crate::honor::HonorClient`].
pub struct Client<V: Vendor> {
    http: reqwest::Client,
    send_url: String,
    config: OAuthConfig,
    tokens: TokenCache,
    clock: SharedClock,
    vendor: PhantomData<V>,
}

pub type HuaweiClient = Client<Huawei>;

impl<V: Vendor> std::fmt::Debug for Client<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("send_url", &self.send_url)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl<V: Vendor> Client<V> {
    const FLAVOR: Flavor = V::FLAVOR;

    pub fn new(config: OAuthConfig, clock: SharedClock) -> Result<Self, TlsError> {
        let http = https::client(config.ca_file.as_deref(), config.request_timeout)?;
        let (before, after) = Self::FLAVOR.send_path;
        Ok(Self {
            http,
            send_url: format!("{}{before}{}{after}", config.endpoint, config.app_id),
            tokens: TokenCache::new(
                Self::FLAVOR.channel,
                clock.clone(),
                TOKEN_REFRESH_BEFORE,
                config.request_timeout,
            ),
            config,
            clock,
            vendor: PhantomData,
        })
    }

    /// Access tokens fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Sends one rendered push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke(Self::FLAVOR.channel) {
            return refused;
        }
        let send = self.send_once_more(push);
        https::within(
            Self::FLAVOR.channel,
            self.config.request_timeout,
            &self.clock,
            push.attempt,
            send,
        )
        .await
    }

    async fn send_once_more(&self, push: &Push<'_>) -> Delivery {
        let flavor = &Self::FLAVOR;
        let c = &self.config;
        let fetch = || {
            token::client_credentials(
                self.http.clone(),
                Arc::clone(&self.clock),
                c.token_endpoint.clone(),
                c.client_id.clone(),
                c.client_secret.clone(),
            )
        };
        let send = |bearer: HeaderValue, _token| async move {
            let mut request = self
                .http
                .post(&self.send_url)
                .header(AUTHORIZATION, bearer)
                .header(CONTENT_TYPE, flavor.content_type);
            if let Some(name) = flavor.timestamp_header {
                // The client's clock in milliseconds (§4.1, §10.7), on
                // every request, resends included.
                let millis = self
                    .clock
                    .now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                request = request.header(name, millis.to_string());
            }
            let request = request.body(push.body.to_vec());
            let answer = https::exchange(request, &self.clock)
                .await
                .map_err(|e| e.delivery(flavor.channel, self.clock.now(), push.attempt))?;
            let reply = (flavor.read)(&answer.body);
            let action = action_in(flavor, answer.status, &reply.code);
            Ok(((answer, reply, action), action == Action::RefreshAuth))
        };
        let finish = |(answer, reply, action): (https::Answer, Answer, Action)| {
            self.finish(answer.status, answer.retry_after, reply, action, push)
        };
        let tokens = &self.tokens;
        tokens
            .send_once_more(fetch, "Bearer ", push.attempt, send, finish)
            .await
    }

    fn finish(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        reply: Answer,
        action: Action,
        push: &Push<'_>,
    ) -> Delivery {
        let flavor = &Self::FLAVOR;
        let channel = flavor.channel;
        let now = self.clock.now();
        let reason = reply.reason(status);
        let request_tokens = (flavor.body_tokens)(push.body);
        let mut invalid_tokens = Vec::new();
        let outcome = match action {
            Action::Deliver => {
                invalid_tokens = reply.dead_tokens.clone();
                let all_dead = !invalid_tokens.is_empty()
                    && request_tokens.iter().all(|t| invalid_tokens.contains(t));
                let none_sent = reply.send_result == Some(false)
                    && request_tokens
                        .iter()
                        .all(|t| invalid_tokens.contains(t) || reply.failed_tokens.contains(t));
                if all_dead {
                    Outcome::TokenInvalid {
                        reason: flavor.dead_reason.map_or(reason, str::to_owned),
                        since: None,
                    }
                } else if none_sent {
                    tracing::debug!(channel, status, %reason, message = %reply.message, "the push went to none of its tokens");
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
            Action::Backoff => SERVER_BACKOFF.retry(reason, now, push.attempt, retry_after),
            Action::FlowControl => FLOW_BACKOFF.retry(reason, now, push.attempt, retry_after),
            // Refused again right after a fresh token: the credentials
            // are wrong for this app.
            Action::CredentialsRefused | Action::RefreshAuth => {
                tracing::debug!(channel, status, %reason, "the sender's credentials were refused");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                tracing::debug!(channel, status, %reason, message = %reply.message, "a push was rejected: check the configuration or the payload");
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

impl<V: Vendor> Provider for Client<V> {
    fn send<'a>(&'a self, push: &'a Push<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(Client::send(self, push))
    }
}

/// The device tokens a rendered Huawei body addresses (`message.token`).
pub fn body_tokens(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        message: Option<Message>,
    }
    #[derive(serde::Deserialize)]
    struct Message {
        token: Option<Vec<String>>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.message)
        .and_then(|m| m.token)
        .unwrap_or_default()
}

// ---------------------------------------------------------------- answers

/// An answer as the kit reads it, whatever the vendor's shape.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The result code as text (`""` when unreadable).
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// Tokens the answer names dead (Huawei's illegal tokens, Honor's
    /// `expireTokens`).
    pub dead_tokens: Vec<String>,
    /// Tokens that failed without being dead (Honor's `failTokens`).
    pub failed_tokens: Vec<String>,
    /// Whether anything was sent (Honor's `sendResult`).
    pub send_result: Option<bool>,
}

impl Answer {
    /// The reason reported: the code, `HTTP <status>` without one.
    pub fn reason(&self, status: u16) -> String {
        if self.code.is_empty() {
            format!("HTTP {status}")
        } else {
            self.code.clone()
        }
    }
}

/// A JSON code as text: a string as it is, a number in decimal.
pub(crate) fn code_text(code: Option<serde_json::Value>) -> String {
    match code {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Reads Huawei's `{"code": "<8 digits>", "msg": "...", "requestId":
/// "..."}` (vendors.md §3.4); a partial success's `msg` names the illegal
/// tokens (see the module doc).
pub fn read_answer(body: &[u8]) -> Answer {
    #[derive(serde::Deserialize)]
    struct Body {
        code: Option<serde_json::Value>,
        msg: Option<String>,
        #[serde(rename = "requestId")]
        request_id: Option<String>,
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return Answer::default();
    };
    let message = b.msg.unwrap_or_default();
    Answer {
        code: code_text(b.code),
        dead_tokens: illegal_tokens(&message),
        message,
        request_id: b.request_id,
        ..Answer::default()
    }
}

/// The tokens a partial success's `msg` names illegal: `illegal_tokens`
/// (v1) or `illegalTokens` (v3, an array or an object of them).
fn illegal_tokens(msg: &str) -> Vec<String> {
    let Ok(msg) = serde_json::from_str::<serde_json::Value>(msg) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["illegal_tokens", "illegalTokens"] {
        collect_tokens(msg.get(key), &mut out);
    }
    out
}

fn collect_tokens(value: Option<&serde_json::Value>, out: &mut Vec<String>) {
    match value {
        Some(serde_json::Value::String(s)) if !out.contains(s) => out.push(s.clone()),
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                collect_tokens(Some(item), out);
            }
        }
        Some(serde_json::Value::Object(map)) => {
            for item in map.values() {
                collect_tokens(Some(item), out);
            }
        }
        _ => {}
    }
}

/// What one answer asks of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Taken (partial success included: the dead tokens it names —
    /// Huawei's illegal tokens, Honor's `expireTokens` — are read).
    Deliver,
    /// Every token of the request is dead.
    DropTokens,
    /// The access token was refused: fetch a new one and send once more;
    /// a second refusal is [`Outcome::CredentialsRefused`].
    RefreshAuth,
    /// Server trouble: [`SERVER_BACKOFF`] or `Retry-After`.
    Backoff,
    /// Flow control: [`FLOW_BACKOFF`] or `Retry-After`.
    FlowControl,
    /// Fix the push or the configuration.
    Reject,
    /// The app may not send, or its credentials are wrong:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
}

impl StatusClass for Action {
    /// 401 refresh once, 403 the sender refused, 429/503 flow control, 5xx
    /// backoff, anything else (2xx too: a success always names its code)
    /// rejected.
    fn by_status(status: u16) -> Self {
        match status {
            401 => Action::RefreshAuth,
            403 => Action::CredentialsRefused,
            503 | 429 => Action::FlowControl,
            500..=599 => Action::Backoff,
            _ => Action::Reject,
        }
    }
    const DELIVER: Self = Action::Deliver;
    const REJECT: Self = Action::Reject;
}

/// Every row of vendors.md §3.4, result code → action.
pub const RESPONSES: &[(&str, Action)] = &[
    ("80000000", Action::Deliver),
    ("80100000", Action::Deliver),
    ("80100001", Action::Reject),
    ("80100002", Action::Reject),
    ("80100003", Action::Reject),
    ("80100004", Action::Reject),
    ("80100013", Action::Reject),
    ("80100016", Action::Reject),
    ("80100017", Action::FlowControl),
    ("80100018", Action::Reject),
    ("80200001", Action::RefreshAuth),
    ("80200003", Action::RefreshAuth),
    ("80300002", Action::CredentialsRefused),
    ("80300007", Action::DropTokens),
    ("80300008", Action::Reject),
    ("80300010", Action::Reject),
    ("80300011", Action::Reject),
    ("80600003", Action::Backoff),
    ("81000001", Action::Backoff),
];

/// The table's row, or by HTTP status for a code not in it (see the
/// module doc).
pub fn action_for(status: u16, code: &str) -> Action {
    action_in(&Huawei::FLAVOR, status, code)
}

/// `flavor`'s row for `code` (none when empty), else by status class.
/// `flavor`'s own row for `code`, else Huawei's row when the vendor shares
/// the code, else by status class (none when `code` is empty).
pub(crate) fn action_in(flavor: &Flavor, status: u16, code: &str) -> Action {
    let code = (!code.is_empty()).then_some(code);
    let shared = code.filter(|c| flavor.huawei_codes.contains(c));
    let table = match shared {
        Some(_) if !flavor.responses.iter().any(|(c, _)| Some(*c) == code) => RESPONSES,
        _ => flavor.responses,
    };
    crate::kit::answer::action_for(flavor.channel, table, status, code.as_ref())
}

/// Answers without a code in the table, `(status, code, action)`: they
/// fall back by status (Honor's do too, through this same fallback).
#[cfg(test)]
pub(crate) const FALLBACKS: &[(u16, &str, Action)] = &[
    (503, "", Action::FlowControl),
    (502, "", Action::Backoff),
    (500, "89999999", Action::Backoff),
    (429, "", Action::FlowControl),
    (401, "", Action::RefreshAuth),
    (403, "1", Action::CredentialsRefused),
    (400, "80999999", Action::Reject),
    (200, "89999999", Action::Reject),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        crate::kit::answer::assert_table(RESPONSES, |code| action_for(200, code));
        // vendors.md §3.4 lists 19 codes (and the HTTP 502/503 row, by status).
        assert_eq!(RESPONSES.len(), 19);
        let expect =
            |code: &str, action: Action| assert_eq!(action_for(200, code), action, "{code}");
        expect("80000000", Action::Deliver);
        expect("80100000", Action::Deliver);
        for code in [
            "80100001", "80100002", "80100003", "80100004", "80100013", "80100016", "80100018",
            "80300008", "80300010", "80300011",
        ] {
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
        for &(status, code, action) in FALLBACKS {
            assert_eq!(action_for(status, code), action, "{status} {code:?}");
        }
    }

    #[test]
    fn partial_success_names_illegal_tokens_in_either_shape() {
        let v1 = read_answer(
            br#"{"code":"80100000","msg":"{\"success\":1,\"failure\":2,\"illegal_tokens\":[\"a\",\"b\"]}"}"#,
        );
        assert_eq!(v1.dead_tokens, ["a", "b"]);
        let v3 = read_answer(
            br#"{"code":"80100000","msg":"{\"success\":1,\"failure\":1,\"illegalTokens\":{\"80300007\":[\"c\"]}}"}"#,
        );
        assert_eq!(v3.dead_tokens, ["c"]);
        assert!(read_answer(br#"{"code":"80000000","msg":"Success"}"#)
            .dead_tokens
            .is_empty());
    }

    #[test]
    fn reads_the_answer_and_the_body_tokens() {
        let r = read_answer(br#"{"code":"80000000","msg":"Success","requestId":"1602"}"#);
        assert_eq!(
            (r.code.as_str(), r.request_id.as_deref()),
            ("80000000", Some("1602"))
        );
        assert_eq!(read_answer(b"<html>").code, "");
        assert_eq!(
            body_tokens(br#"{"message":{"android":{},"token":["t1","t2"]}}"#),
            ["t1", "t2"]
        );
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let section = HuaweiSection {
            app_id: Some("104000001".into()),
            client_secret: Some("s3cret-value".into()),
            ..HuaweiSection::default()
        };
        let config = HuaweiConfig::from_section(&section).unwrap();
        assert_eq!(config.client_id, "104000001");
        assert_eq!(config.endpoint, PRODUCTION_URL);
        assert!(!format!("{config:?}").contains("s3cret-value"));
        let with = |change: fn(&mut HuaweiSection)| {
            let mut changed = section.clone();
            change(&mut changed);
            changed
        };
        crate::kit::config::assert_refusals(
            HuaweiConfig::from_section,
            vec![
                (
                    with(|s| s.client_secret = None),
                    "huawei.client_secret",
                    "missing",
                ),
                (
                    with(|s| s.endpoint = Some("push-api".into())),
                    "huawei.endpoint",
                    "not a URL",
                ),
                // The client secret and the bearer token never travel in clear.
                (
                    with(|s| {
                        s.token_endpoint =
                            Some("http://oauth-login.cloud.huawei.com/oauth2/v3/token".into())
                    }),
                    "huawei.token_endpoint",
                    "https://",
                ),
                (
                    with(|s| s.endpoint = Some("http://push-api.cloud.huawei.com".into())),
                    "huawei.endpoint",
                    "https://",
                ),
            ],
        );
    }
}
