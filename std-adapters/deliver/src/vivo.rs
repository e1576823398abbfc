//! vivo Push (vendors.md §7): `POST /message/auth` with
//! `sign = md5(appId + appKey + timestamp + appSecret)` for an `authToken`,
//! then `POST /message/send` with the `authToken` header and the core's
//! body; the answer → [`Outcome`] table is [`RESPONSES`].
//!
//! The `authToken` is cached in a [`TokenCache`]: fetched once, shared by
//! every send, renewed once it is [`TOKEN_RENEW_AFTER`] old (vivo: valid a
//! day, "cache centrally, refresh every 1–2 h", §7.1), and dropped on an
//! auth refusal, after which the push is sent ONCE more with a new one.
//!
//! Decisions where vendors.md is silent or the brief differs:
//! - `appId`: vivo's API 2.9.2 wants it in every request body and answers
//!   10094 when it differs from the token's app; the core leaves it to the
//!   adapter (render/vivo.rs). [`with_app_id`] puts `"appId":<id>,` right
//!   after the body's opening `{`; every other byte is the core's.
//! - Success is `result` 0 (§7.3 and vivo's examples; the brief's "10000
//!   success" does not match either).
//! - 10000 is read as vivo's auth failure (`authToken` invalid or expired:
//!   unconfirmed, §7.3 lists no auth code): refresh once and resend; a
//!   second 10000 right after the fresh token is
//!   [`Outcome::CredentialsRefused`].
//! - Refused credentials ([`Outcome::CredentialsRefused`]): every non-zero
//!   `result` of `/message/auth` (it takes nothing but the app id and key,
//!   the timestamp and the signature, so each refusal is theirs: a bad
//!   sign, a clock off by more than 10 minutes, an unknown app; reason
//!   `auth: <result> <desc>`), remembered by the shared token cache
//!   ([`crate::token`]) for its backoff; 10094 (the body's `appId` is not
//!   the token's app); a bare HTTP 401 or 403 without a `result`.
//! - 10070 (total sends over the daily limit; vivo: "do not call
//!   /message/send again today") is a retry at the next midnight China
//!   time (UTC+8, [`QUOTA_UTC_OFFSET_SECS`]) — never a tight loop.
//! - `invalidUser.status` 1, 2, 3 (unknown, uninstalled/unsubscribed,
//!   offline 90 days) is [`Outcome::TokenInvalid`] whatever `result` says;
//!   4 (not a test device) is [`Outcome::Rejected`] (`NotTestUser`).
//! - Any other non-zero `result` is [`Outcome::Rejected`] (§7.3 retry
//!   policy: parameter errors are permanent; others unconfirmed); HTTP
//!   5xx or 429 without a readable `result` retries on [`SERVER_BACKOFF`],
//!   `Retry-After` winning.
//! - `Delivered.id` is vivo's `taskId`.

use std::time::{Duration, SystemTime};

use md5::{Digest as _, Md5};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, VivoSection};

use crate::https;
use crate::kit::{config, ExposeSecret as _, SecretString};
use crate::outcome::{next_midnight, Backoff, Delivery, Outcome};
use crate::tls::TlsError;
use crate::token::{TokenCache, TokenError};
use crate::Push;

/// vivo's host (vendors.md §7.1).
pub const PRODUCTION_URL: &str = "https://api-push.vivo.com.cn";
/// Auth path (vendors.md §7.1).
pub const AUTH_PATH: &str = "/message/auth";
/// Single-send path (vendors.md §7.2).
pub const SEND_PATH: &str = "/message/send";
/// The token header (vendors.md §7.2).
pub const AUTH_TOKEN_HEADER: &str = "authToken";
/// An `authToken` lives a day (vendors.md §7.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// …and is renewed once this old: vivo asks for a refresh every 1–2 hours
/// (§7.1), we take the earlier.
pub const TOKEN_RENEW_AFTER: Duration = Duration::from_secs(3600);
/// vivo's day (for 10070) ends at midnight China time, UTC+8.
pub const QUOTA_UTC_OFFSET_SECS: i64 = 8 * 3600;
/// Network and 5xx trouble (§7.3 retry policy: backoff): 5 s doubling to
/// 30 minutes, as APNs.
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;

// ---------------------------------------------------------------- config

#[derive(Debug)]
pub struct VivoConfig {
    /// vivo's numeric app id (an int in every request, §7.1).
    pub app_id: u64,
    pub app_key: String,
    pub app_secret: SecretString,
    /// The host, `https://host[:port]`; auth and send paths follow it.
    pub endpoint: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub request_timeout: Duration,
}

impl VivoConfig {
    /// Reads `[vivo]`; errors name the key and never carry the secret.
    pub fn from_section(section: &VivoSection) -> Result<Self, ConfigError> {
        let app_id = config::required(&section.app_id, "vivo.app_id")?;
        let app_id = app_id
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::new("vivo.app_id", format!("{app_id:?} is not a number")))?;
        let app_secret = config::required(&section.app_secret, "vivo.app_secret")?;
        Ok(Self {
            app_id,
            app_key: config::required(&section.app_key, "vivo.app_key")?
                .trim()
                .to_owned(),
            app_secret: SecretString::from(app_secret.trim()),
            endpoint: config::base_url(&section.endpoint, PRODUCTION_URL, "vivo.endpoint")?,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "vivo.request_timeout_secs",
            )?,
        })
    }
}

/// `sign` (vendors.md §7.1): lowercase hex MD5 of `appId + appKey +
/// timestamp + appSecret`, values trimmed.
pub fn sign(app_id: u64, app_key: &str, timestamp_ms: u64, app_secret: &str) -> String {
    let text = format!(
        "{app_id}{}{timestamp_ms}{}",
        app_key.trim(),
        app_secret.trim()
    );
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The core's body with `"appId":<id>` first (see the module doc); `None`
/// when the body is not a JSON object.
pub fn with_app_id(body: &[u8], app_id: u64) -> Option<Vec<u8>> {
    let rest = body.strip_prefix(b"{")?;
    let mut out = format!("{{\"appId\":{app_id}").into_bytes();
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

// ---------------------------------------------------------------- client

/// A vivo client: one per app, shared by all sends.
#[derive(Debug)]
pub struct VivoClient {
    http: reqwest::Client,
    config: VivoConfig,
    tokens: TokenCache,
    clock: SharedClock,
}

impl VivoClient {
    pub fn new(config: VivoConfig, clock: SharedClock) -> Result<Self, TlsError> {
        let http = https::client(config.ca_file.as_deref(), config.request_timeout)?;
        Ok(Self {
            http,
            tokens: TokenCache::new(
                "vivo",
                clock.clone(),
                TOKEN_LIFETIME - TOKEN_RENEW_AFTER,
                config.request_timeout,
            ),
            config,
            clock,
        })
    }

    /// `authToken`s fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Sends one rendered vivo push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("vivo") {
            return refused;
        }
        let send = self.send_once_more(push);
        https::within(
            "vivo",
            self.config.request_timeout,
            &self.clock,
            push.attempt,
            send,
        )
        .await
    }

    /// One `/message/auth` exchange (§7.1), signed now; the future owns
    /// what it needs (it runs as the token cache's own task).
    fn fetch_token(
        &self,
    ) -> impl std::future::Future<Output = Result<(String, Duration), TokenError>> + Send + 'static
    {
        let c = &self.config;
        let timestamp = self
            .clock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let body = serde_json::json!({
            "appId": c.app_id,
            "appKey": c.app_key,
            "timestamp": timestamp,
            "sign": sign(c.app_id, &c.app_key, timestamp, c.app_secret.expose_secret()),
        })
        .to_string();
        let request = self
            .http
            .post(format!("{}{AUTH_PATH}", c.endpoint))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let clock = std::sync::Arc::clone(&self.clock);
        async move {
            let answer = https::exchange(request, &clock)
                .await
                .map_err(TokenError::Transport)?;
            read_auth_answer(answer.status, answer.retry_after, &answer.body)
        }
    }

    async fn send_once_more(&self, push: &Push<'_>) -> Delivery {
        let Some(body) = with_app_id(push.body, self.config.app_id) else {
            return Delivery::local_reject("NotAVivoBody");
        };
        let send = |auth_token: HeaderValue, _token| {
            let request = self
                .http
                .post(format!("{}{SEND_PATH}", self.config.endpoint))
                .header(HeaderName::from_static("authtoken"), auth_token)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            async move {
                let answer = https::exchange(request, &self.clock)
                    .await
                    .map_err(|e| e.delivery("vivo", self.clock.now(), push.attempt))?;
                let reply = Reply::read(&answer.body);
                let action = action_for(answer.status, reply.result, reply.invalid_user_status);
                Ok(((answer, reply, action), action == Action::RefreshAuth))
            }
        };
        let fetch = || self.fetch_token();
        let finish = |(answer, reply, action): (https::Answer, Reply, Action)| {
            self.finish(answer.status, answer.retry_after, reply, action, push)
        };
        let attempt = push.attempt;
        self.tokens
            .send_once_more(fetch, "", attempt, send, finish)
            .await
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
        let reason = match (reply.invalid_user_status, reply.result) {
            (Some(s), _) if matches!(action, Action::DropToken | Action::Reject) => {
                format!("invalidUser {s}")
            }
            (_, Some(result)) => result.to_string(),
            (_, None) => format!("HTTP {status}"),
        };
        let outcome = match action {
            Action::Deliver => Outcome::Delivered {
                id: reply.task_id.clone().unwrap_or_else(|| push.id.to_string()),
            },
            Action::DropToken => Outcome::TokenInvalid {
                reason,
                since: None,
            },
            Action::Backoff => SERVER_BACKOFF.retry(reason, now, push.attempt, retry_after),
            Action::DailyQuota => {
                tracing::debug!("vivo: the app's daily send quota is used up; retrying after midnight China time");
                Outcome::Retry {
                    reason,
                    not_before: retry_after
                        .map_or_else(|| next_midnight(now, QUOTA_UTC_OFFSET_SECS), |d| now + d),
                }
            }
            // 10000 again right after a fresh authToken, or 10094: the
            // credentials are not this app's.
            Action::CredentialsRefused | Action::RefreshAuth => {
                tracing::debug!(status, %reason, desc = %reply.desc, "vivo refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                tracing::debug!(status, %reason, desc = %reply.desc, "vivo rejected a push: check the configuration or the payload");
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            id: reply.task_id,
            ..Delivery::bare(outcome, Some(status))
        }
    }
}

/// Reads a `/message/auth` answer (§7.1): `result` 0 with an `authToken`
/// on a 200 is the token (it lives [`TOKEN_LIFETIME`]). A non-zero
/// `result` under HTTP 500 is a refusal of the credentials (the request
/// carries nothing else: app id and key, timestamp, signature; vendors.md
/// lists no auth code, so every one counts), reason `auth: <result>
/// <desc>`, as is a bare HTTP 401 or 403; HTTP 408, 429 and 5xx, or any
/// other answer without a readable `result`, are the endpoint being
/// unavailable.
pub fn read_auth_answer(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<(String, Duration), TokenError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        result: Option<i64>,
        desc: Option<String>,
        #[serde(rename = "authToken")]
        auth_token: Option<String>,
    }
    let unavailable = |reason: String| TokenError::Unavailable {
        status,
        reason,
        retry_after,
    };
    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer {
            result: Some(0),
            auth_token: Some(token),
            ..
        }) if status == 200 && !token.is_empty() => Ok((token, TOKEN_LIFETIME)),
        _ if matches!(status, 408 | 429 | 500..=599) => {
            Err(unavailable(format!("auth: HTTP {status}")))
        }
        Err(_) | Ok(Answer { result: None, .. }) if matches!(status, 401 | 403) => {
            Err(TokenError::Refused {
                status: Some(status),
                reason: format!("auth: HTTP {status}"),
            })
        }
        Ok(Answer {
            result: Some(result),
            desc,
            ..
        }) if result != 0 => {
            let desc = desc.unwrap_or_default();
            let reason = format!("auth: {result} {desc}").trim_end().to_owned();
            tracing::debug!(status, %reason, "vivo refused the app's credentials");
            Err(TokenError::Refused {
                status: Some(status),
                reason,
            })
        }
        _ => Err(unavailable("auth: BadAnswer".into())),
    }
}

provider!(VivoClient);

// ---------------------------------------------------------------- answers

/// The answer `{"result": n, "desc": "...", "taskId": "...", "invalidUser":
/// {"userid": "...", "status": n}}` (vendors.md §7.3).
#[derive(Debug, Default)]
pub struct Reply {
    pub result: Option<i64>,
    pub desc: String,
    pub task_id: Option<String>,
    pub invalid_user_status: Option<i64>,
}

impl Reply {
    pub fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            result: Option<i64>,
            desc: Option<String>,
            #[serde(rename = "taskId")]
            task_id: Option<serde_json::Value>,
            #[serde(rename = "invalidUser")]
            invalid_user: Option<InvalidUser>,
        }
        #[derive(serde::Deserialize)]
        struct InvalidUser {
            status: Option<i64>,
        }
        let Ok(b) = serde_json::from_slice::<Body>(body) else {
            return Self::default();
        };
        Self {
            result: b.result,
            desc: b.desc.unwrap_or_default(),
            task_id: b.task_id.and_then(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            invalid_user_status: b.invalid_user.and_then(|u| u.status),
        }
    }
}

/// What one answer asks of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// The regId is dead (`invalidUser` 1–3).
    DropToken,
    /// The `authToken` was refused: fetch a new one and send once more; a
    /// second refusal is [`Outcome::CredentialsRefused`].
    RefreshAuth,
    /// The app's credentials or identity are refused:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
    /// Server trouble: [`SERVER_BACKOFF`] or `Retry-After`.
    Backoff,
    /// The daily quota is used up: retry after midnight China time.
    DailyQuota,
    Reject,
}

/// vivo's `result` codes → action (vendors.md §7.3 and the module doc).
pub const RESPONSES: &[(i64, Action)] = &[
    (0, Action::Deliver),
    (10000, Action::RefreshAuth),
    (10070, Action::DailyQuota),
    (10094, Action::CredentialsRefused),
    (10096, Action::Reject),
    (10097, Action::Reject),
];

/// `invalidUser.status` → action (vendors.md §7.3).
pub const INVALID_USER: &[(i64, Action)] = &[
    (1, Action::DropToken),
    (2, Action::DropToken),
    (3, Action::DropToken),
    (4, Action::Reject),
];

/// The action for an answer: `invalidUser` first, then the `result` row,
/// then by HTTP status (5xx and 429 back off; any other non-zero or
/// unreadable result is rejected and logged).
pub fn action_for(status: u16, result: Option<i64>, invalid_user: Option<i64>) -> Action {
    if let Some(&(_, action)) =
        invalid_user.and_then(|s| INVALID_USER.iter().find(|(v, _)| *v == s))
    {
        return action;
    }
    if let Some(&(_, action)) = result.and_then(|r| RESPONSES.iter().find(|(v, _)| *v == r)) {
        if action != Action::Deliver || (200..300).contains(&status) {
            return action;
        }
    }
    if status == 429 || status >= 500 {
        return Action::Backoff;
    }
    if result.is_none() && matches!(status, 401 | 403) {
        return Action::CredentialsRefused;
    }
    tracing::debug!(status, ?result, "vivo answered a result not in the table");
    Action::Reject
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_tables() {
        let expect =
            |result: i64, action: Action| assert_eq!(action_for(200, Some(result), None), action);
        for &(result, action) in RESPONSES {
            expect(result, action);
        }
        assert_eq!(RESPONSES.len(), 6);
        expect(0, Action::Deliver);
        expect(10000, Action::RefreshAuth);
        expect(10070, Action::DailyQuota);
        expect(10094, Action::CredentialsRefused);
        for result in [10096, 10097, 10055] {
            expect(result, Action::Reject);
        }
        for status in 1..=3 {
            assert_eq!(action_for(200, Some(0), Some(status)), Action::DropToken);
        }
        assert_eq!(action_for(200, Some(0), Some(4)), Action::Reject);
        assert_eq!(action_for(200, Some(0), Some(9)), Action::Deliver);
        assert_eq!(action_for(500, None, None), Action::Backoff);
        assert_eq!(action_for(429, None, None), Action::Backoff);
        assert_eq!(action_for(500, Some(0), None), Action::Backoff);
        assert_eq!(action_for(404, None, None), Action::Reject);
        assert_eq!(action_for(401, None, None), Action::CredentialsRefused);
        assert_eq!(action_for(403, None, None), Action::CredentialsRefused);
        assert_eq!(action_for(200, None, None), Action::Reject);
    }

    #[test]
    fn auth_answers() {
        use crate::token::{assert_token_answers, refused, unavailable};
        let read = |status, body: &[u8]| read_auth_answer(status, None, body);
        assert_token_answers(
            read,
            &[
                (
                    200,
                    br#"{"result":0,"desc":"ok","authToken":"t"}"#,
                    Ok(("t".into(), TOKEN_LIFETIME)),
                ),
                (
                    200,
                    br#"{"result":10205,"desc":"sign bad"}"#,
                    refused(200, "auth: 10205 sign bad"),
                ),
                (200, br#"{"result":10200}"#, refused(200, "auth: 10200")),
                (401, b"", refused(401, "auth: HTTP 401")),
                (
                    500,
                    br#"{"result":10205}"#,
                    unavailable(500, "auth: HTTP 500", None),
                ),
                (429, b"", unavailable(429, "auth: HTTP 429", None)),
                (
                    200,
                    br#"{"result":0}"#,
                    unavailable(200, "auth: BadAnswer", None),
                ),
                (200, b"<html>", unavailable(200, "auth: BadAnswer", None)),
            ],
        );
    }

    #[test]
    fn sign_is_md5_of_the_trimmed_concatenation() {
        // md5("10004" + "25509283-key" + "1501484120000" + "secret")
        let expected = hex::encode(Md5::digest(b"1000425509283-key1501484120000secret"));
        assert_eq!(
            sign(10004, " 25509283-key ", 1_501_484_120_000, "secret\n"),
            expected
        );
        assert_eq!(expected.len(), 32);
    }

    #[test]
    fn app_id_goes_first_and_the_rest_is_the_core_s() {
        assert_eq!(
            with_app_id(br#"{"regId":"r","title":"t"}"#, 7).unwrap(),
            br#"{"appId":7,"regId":"r","title":"t"}"#
        );
        assert_eq!(with_app_id(b"{}", 7).unwrap(), br#"{"appId":7}"#);
        assert_eq!(with_app_id(b"[1]", 7), None);
    }

    #[test]
    fn reads_the_answer() {
        let r = Reply::read(
            br#"{"result":0,"desc":"ok","taskId":"123","invalidUser":{"userid":"r","status":2}}"#,
        );
        assert_eq!(
            (r.result, r.task_id.as_deref(), r.invalid_user_status),
            (Some(0), Some("123"), Some(2))
        );
        assert_eq!(Reply::read(b"Internet server error!").result, None);
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let section = VivoSection {
            app_id: Some("10004".into()),
            app_key: Some("key".into()),
            app_secret: Some("s3cret-value".into()),
            ..VivoSection::default()
        };
        let config = VivoConfig::from_section(&section).unwrap();
        assert_eq!(config.app_id, 10004);
        assert!(!format!("{config:?}").contains("s3cret-value"));
        let with = |change: fn(&mut VivoSection)| {
            let mut changed = section.clone();
            change(&mut changed);
            changed
        };
        crate::kit::config::assert_refusals(
            VivoConfig::from_section,
            vec![
                (
                    with(|s| s.app_id = Some("abc".into())),
                    "vivo.app_id",
                    "not a number",
                ),
                // The auth request's signature and the authToken never travel in clear.
                (
                    with(|s| s.endpoint = Some("http://api-push.vivo.com.cn".into())),
                    "vivo.endpoint",
                    "https://",
                ),
                (with(|s| s.app_secret = None), "vivo.app_secret", "missing"),
            ],
        );
    }
}
