//! HarmonyOS NEXT Push Kit v3 (beyond.md §11): `POST
//! /v3/<projectId>/messages:send` with `push-type: 0` and the core's body as
//! it is; the revoke of a shown notification is `POST
//! /v1/<clientId>/messages:revoke` (§13.2). The answer → [`Outcome`] table is
//! [`RESPONSES`].
//!
//! Auth (§11.1): no token exchange. A JWT signed PS256 with the service
//! account's key (header `{"kid","typ":"JWT","alg":"PS256"}`, claims
//! `{"aud": AUDIENCE, "iss": sub_account, "iat", "exp": iat + 3600}`) is the
//! bearer itself. It is minted through the shared [`TokenCache`] (the
//! "fetch" signs locally), so every send shares one JWT for its hour,
//! re-minted [`JWT_RENEW_BEFORE`] ahead of its `exp`; `80200005` (JWT
//! expired) drops it and the push is sent ONCE more with a fresh one.
//!
//! Unconfirmed facts this client rests on (beyond.md marks them so):
//! - the revoke endpoint's answers: read like a send's (`code` string,
//!   `msg`, `requestId`) — §13.2 gives the request only [HM6];
//! - HTTP statuses beside the codes: Huawei documents the codes and the
//!   HTTP table separately, not which status carries which code [HM3];
//! - the `msg` of 80100000/80300007 as `{"illegalTokens": {"<reason>":
//!   [tokens]}, "success": n, "failure": m}` (Huawei's examples; reason
//!   keys are trimmed, one example pads them with spaces) [HM3][H7];
//! - whether Huawei accepts RS256 (wildfirechat signs RS256): PS256 is used;
//! - the revoke path's `clientId` is the app's client id as AppGallery
//!   Connect shows it (`[harmony] client_id`), and the revoke of an alert
//!   takes `push-type: 0` (§13.2 allows 0 or 2) [HM6].
//!
//! Decisions where beyond.md is silent:
//! - `aud` is always [`AUDIENCE`] (§11.1); the key file's `token_uri` is
//!   not used, as nothing is exchanged.
//! - 80200001 (auth error: the key, the project or the URL), 80300002 (push
//!   not enabled / wrong project), 80300037 (app penalised) and 80300036
//!   (JWT validity over a day: this client never mints one, so the answer
//!   means a clock or code fault that would meet every push) are
//!   [`Outcome::CredentialsRefused`] at once: re-minting the same key's JWT
//!   cannot change them, and the gateway pauses the channel. A bare 401 is
//!   re-minted once like 80200005, then `CredentialsRefused`.
//! - Per-token reasons (80100000 partial success, 80300007 all invalid):
//!   `tokenFormatError` and `tokenPlatformNotSupport` are dead tokens.
//!   `noRight` has two documented causes: the token's app is not in the
//!   URL's project (configuration, every token of the app fails alike) or
//!   the token predates the device's upgrade to NEXT (that token alone is
//!   dead) [HM3]. We send one token per request, so the request alone
//!   cannot tell them apart; the project can. Once this client has seen the
//!   project take a push (any success, a partial one included, this
//!   answer's own successes too) `noRight` is a dead token
//!   ([`Outcome::TokenInvalid`]); before that it is
//!   [`Outcome::CredentialsRefused`] (the channel pauses, and its probe with
//!   another device's push proves the project and unpauses it: then the
//!   stale token is dropped on its next attempt). Dropping every token of
//!   a misconfigured project is the loss that cannot be undone; a pause
//!   until the first success is not.
//! - Other reasons: `noPushTypeRight`, `appinfoError`,
//!   `disableSendHuaweiMsgBecauseOfPenalty` and
//!   `noRightToSendThisLiveNotificationEvent` are the app's standing
//!   (`CredentialsRefused`); any other (`countryNotSupport`,
//!   `differentImgVerifyPolicy`, …) refuses the push (`Rejected`). An
//!   80300007 whose `msg` names no reason drops every token of the request.
//! - 80300008 (body over 4096 B), 80300010 and the rest of the parameter
//!   codes are permanent (`Rejected`); 80300029 (test-message rate) backs
//!   off like flow control.
//! - A revoke without `[harmony] client_id` is `Rejected` (`NoClientId`,
//!   nothing sent): sends keep working, only revokes need the client id.
//! - `Delivered.id` is the answer's `requestId` (the push's UUID when
//!   absent).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, HarmonySection};

use crate::https;
use crate::jwt::Ps256Key;
use crate::kit::config;
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::token::{TokenCache, TokenError};
use crate::{Action as PushAction, Push};

/// Push host (beyond.md §11.1).
pub const PRODUCTION_URL: &str = "https://push-api.cloud.huawei.com";
/// The JWT's `aud` (beyond.md §11.1, [HM4]).
pub const AUDIENCE: &str = "https://oauth-login.cloud.huawei.com/oauth2/v3/token";
/// `exp - iat` of a JWT: the hour it may be reused for (§11.1 [HM1]).
pub const JWT_LIFETIME: Duration = Duration::from_secs(3600);
/// A JWT is re-minted when less than this is left of its hour (every 50
/// minutes): room for a send in flight and a server clock up to ten
/// minutes ahead of ours, at the cost of one local signature.
pub const JWT_RENEW_BEFORE: Duration = Duration::from_secs(600);
/// The scenario header of a notification (§11.1: 0 = alert, which chat
/// uses; the revoke takes 0 too, §13.2).
pub const PUSH_TYPE: &str = "0";
/// 81000001, 500, 502 (§11.3: exponential backoff).
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// HTTP 503 flow control and 80300029 (test-message rate): a minute
/// doubling to an hour.
pub const FLOW_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;

// ---------------------------------------------------------------- config

/// A HarmonyOS service account's key file (from AppGallery Connect). The
/// private key never appears in `Debug` (its type prints `PS256Key(..)`)
/// or in an error.
#[derive(Debug)]
pub struct ServiceAccount {
    pub project_id: Option<String>,
    /// The JWT header's `kid`.
    pub key_id: String,
    /// The JWT's `iss`.
    pub sub_account: String,
    pub key: Ps256Key,
}

impl ServiceAccount {
    /// Reads the key file's JSON: `key_id`, `sub_account`, `private_key`
    /// (PKCS#8 PEM RSA), `project_id` when present. The error names the
    /// field, never its value.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct File {
            project_id: Option<String>,
            key_id: Option<String>,
            sub_account: Option<String>,
            private_key: Option<String>,
        }
        let file: File =
            serde_json::from_slice(json).map_err(|_| "not JSON with string fields".to_owned())?;
        let given = |v: Option<String>, name: &str| {
            v.filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("no {name}"))
        };
        let pem = given(file.private_key, "private_key")?;
        let key =
            Ps256Key::from_pkcs8_pem(pem.as_bytes()).map_err(|e| format!("private_key: {e}"))?;
        Ok(Self {
            project_id: file.project_id.filter(|p| !p.trim().is_empty()),
            key_id: given(file.key_id, "key_id")?,
            sub_account: given(file.sub_account, "sub_account")?,
            key,
        })
    }
}

#[derive(Debug)]
pub struct HarmonyConfig {
    /// The project in the send URL.
    pub project_id: String,
    /// The app in the revoke URL; `None`: revokes are refused.
    pub client_id: Option<String>,
    pub account: ServiceAccount,
    /// The push host, `https://host[:port]`.
    pub endpoint: String,
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
}

pub use crate::kit::InitError;

impl HarmonyConfig {
    /// Reads `[harmony]`: loads the key file; `project_id` defaults to the
    /// file's. Errors name the key (`harmony.service_account_file: …`).
    pub fn from_section(section: &HarmonySection) -> Result<Self, ConfigError> {
        let account = config::key_file(
            &section.service_account_file,
            "harmony.service_account_file",
            "the service account's JSON key file",
            ServiceAccount::from_json,
        )?;
        let project_id = config::project_id(
            &section.project_id,
            &account.project_id,
            "harmony.project_id",
            "-_.",
        )?;
        let client_id = match &section.client_id {
            None => None,
            value => Some(config::path_segment(
                config::required(value, "harmony.client_id")?,
                "harmony.client_id",
                "-_.",
            )?),
        };
        Ok(Self {
            project_id,
            client_id,
            account,
            endpoint: config::base_url(&section.endpoint, PRODUCTION_URL, "harmony.endpoint")?,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "harmony.request_timeout_secs",
            )?,
        })
    }
}

// ---------------------------------------------------------------- client

/// A Push Kit v3 client: one per service account and project, shared by all
/// sends.
#[derive(Debug)]
pub struct HarmonyClient {
    http: reqwest::Client,
    send_url: String,
    revoke_url: Option<String>,
    account: ServiceAccount,
    tokens: TokenCache,
    clock: SharedClock,
    request_timeout: Duration,
    /// The project took a push since this client started: `noRight` is a
    /// dead token from then on (see the module doc).
    proven: AtomicBool,
}

impl HarmonyClient {
    pub fn new(config: HarmonyConfig, clock: SharedClock) -> Result<Self, InitError> {
        let http = https::client(config.ca_file.as_deref(), config.request_timeout)?;
        let base = &config.endpoint;
        Ok(Self {
            http,
            send_url: format!("{base}/v3/{}/messages:send", config.project_id),
            revoke_url: config
                .client_id
                .map(|id| format!("{base}/v1/{id}/messages:revoke")),
            account: config.account,
            tokens: TokenCache::new(
                "harmony",
                clock.clone(),
                JWT_RENEW_BEFORE,
                config.request_timeout,
            ),
            clock,
            request_timeout: config.request_timeout,
            proven: AtomicBool::new(false),
        })
    }

    /// JWTs minted so far.
    pub fn jwts_minted(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Sends (or revokes) one rendered push; never fails, every end is a
    /// [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if !matches!(push.headers, Headers::None) {
            return Delivery::local_reject("NotAHarmonyPush");
        }
        let url = match (push.action, &self.revoke_url) {
            (PushAction::Send, _) => &self.send_url,
            (PushAction::Revoke, Some(url)) => url,
            (PushAction::Revoke, None) => {
                tracing::debug!("a HarmonyOS revoke needs [harmony] client_id");
                return Delivery::local_reject("NoClientId");
            }
        };
        let send = self.send_once_more(url, push);
        https::within(
            "harmony",
            self.request_timeout,
            &self.clock,
            push.attempt,
            send,
        )
        .await
    }

    async fn send_once_more(&self, url: &str, push: &Push<'_>) -> Delivery {
        let mint = || {
            let jwt = self.mint();
            async move {
                jwt.map(|jwt| (jwt, JWT_LIFETIME)).map_err(|e| {
                    tracing::debug!(%e, "the HarmonyOS JWT could not be signed");
                    TokenError::Refused {
                        status: None,
                        reason: "JwtUnsigned".into(),
                    }
                })
            }
        };
        let send = |bearer: HeaderValue, _jwt| async move {
            let request = self
                .http
                .post(url)
                .header(AUTHORIZATION, bearer)
                .header("push-type", PUSH_TYPE)
                .header(CONTENT_TYPE, "application/json")
                .body(push.body.to_vec());
            let answer = https::exchange(request, &self.clock)
                .await
                .map_err(|e| e.delivery("harmony", self.clock.now(), push.attempt))?;
            let reply = Reply::read(&answer.body);
            let action = action_for(answer.status, &reply.answer.code);
            Ok(((answer, reply, action), action == Action::RefreshAuth))
        };
        let finish = |(answer, reply, action): (https::Answer, Reply, Action)| {
            self.finish(&answer, reply, action, push)
        };
        self.tokens
            .send_once_more(mint, "Bearer ", push.attempt, send, finish)
            .await
    }

    /// The JWT of §11.1, `iat` now.
    fn mint(&self) -> Result<String, crate::jwt::KeyError> {
        let iat = self.clock.unix_seconds();
        let exp = iat.saturating_add(i64::try_from(JWT_LIFETIME.as_secs()).unwrap_or(0));
        let header =
            serde_json::json!({ "kid": self.account.key_id, "typ": "JWT", "alg": "PS256" });
        let claims = serde_json::json!({
            "aud": AUDIENCE,
            "iss": self.account.sub_account,
            "iat": iat,
            "exp": exp,
        });
        self.account
            .key
            .sign(&header.to_string(), &claims.to_string())
    }

    fn finish(
        &self,
        answer: &https::Answer,
        reply: Reply,
        action: Action,
        push: &Push<'_>,
    ) -> Delivery {
        let status = answer.status;
        let now = self.clock.now();
        let reason = reply.answer.reason(status);
        let mut invalid_tokens = Vec::new();
        let outcome = match action {
            Action::Deliver => {
                if reply.success.is_none_or(|n| n > 0) {
                    self.proven.store(true, Ordering::Relaxed);
                }
                let verdicts = self.verdicts(&reply);
                invalid_tokens = dead_tokens(&verdicts);
                Outcome::Delivered {
                    id: reply
                        .answer
                        .request_id
                        .clone()
                        .unwrap_or_else(|| push.id.to_string()),
                }
            }
            Action::DropTokens => {
                let verdicts = self.verdicts(&reply);
                invalid_tokens = dead_tokens(&verdicts);
                let outcome = all_invalid(&reason, &verdicts, &body_tokens(push.body));
                if verdicts.is_empty() {
                    invalid_tokens = body_tokens(push.body);
                }
                outcome
            }
            Action::Backoff => SERVER_BACKOFF.retry(reason, now, push.attempt, answer.retry_after),
            Action::FlowControl => {
                FLOW_BACKOFF.retry(reason, now, push.attempt, answer.retry_after)
            }
            // Refused again right after a fresh JWT: the key is not this
            // project's.
            Action::CredentialsRefused | Action::RefreshAuth => {
                tracing::debug!(status, %reason, message = %reply.answer.message, "HarmonyOS refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                tracing::debug!(status, %reason, message = %reply.answer.message, "HarmonyOS rejected a push: check the configuration or the payload");
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            outcome,
            status: Some(status),
            id: reply.answer.request_id,
            invalid_tokens,
        }
    }

    /// Each named token with what its reason makes of it now.
    fn verdicts(&self, reply: &Reply) -> Vec<(String, String, Verdict)> {
        let proven = self.proven.load(Ordering::Relaxed);
        reply
            .illegal
            .iter()
            .map(|(reason, token)| (token.clone(), reason.clone(), verdict(reason, proven)))
            .collect()
    }
}

provider!(HarmonyClient);

/// The tokens judged dead.
fn dead_tokens(verdicts: &[(String, String, Verdict)]) -> Vec<String> {
    verdicts
        .iter()
        .filter(|(_, _, v)| *v == Verdict::Dead)
        .map(|(token, _, _)| token.clone())
        .collect()
}

/// 80300007's outcome: [`Outcome::TokenInvalid`] when every token of the
/// request is dead (or the answer names no reason), else the app's standing
/// ([`Outcome::CredentialsRefused`]) before a refused push
/// ([`Outcome::Rejected`]); the reason is `80300007 <per-token reason>`.
fn all_invalid(code: &str, verdicts: &[(String, String, Verdict)], request: &[String]) -> Outcome {
    let first = |wanted: Verdict| {
        verdicts
            .iter()
            .find(|(_, _, v)| *v == wanted)
            .map(|(_, reason, _)| format!("{code} {reason}"))
    };
    let all_dead = request.iter().all(|t| {
        verdicts
            .iter()
            .any(|(d, _, v)| d == t && *v == Verdict::Dead)
    });
    if verdicts.is_empty() || all_dead {
        let reason = first(Verdict::Dead).unwrap_or_else(|| code.to_owned());
        return Outcome::TokenInvalid {
            reason,
            since: None,
        };
    }
    if let Some(reason) = first(Verdict::Standing) {
        tracing::debug!(%reason, "HarmonyOS refused the app's standing for a token");
        return Outcome::CredentialsRefused { reason };
    }
    let reason = first(Verdict::Refused).unwrap_or_else(|| code.to_owned());
    Outcome::Rejected { reason }
}

/// What one per-token reason says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Drop the token.
    Dead,
    /// The app's rights or standing: [`Outcome::CredentialsRefused`].
    Standing,
    /// This push to this token is refused; the token stays.
    Refused,
}

/// A per-token reason of 80100000/80300007 (§11.3, [HM3]); `proven`: the
/// project has taken a push (see the module doc for `noRight`).
pub fn verdict(reason: &str, proven: bool) -> Verdict {
    match reason {
        "tokenFormatError" | "tokenPlatformNotSupport" => Verdict::Dead,
        "noRight" if proven => Verdict::Dead,
        "noRight"
        | "noPushTypeRight"
        | "appinfoError"
        | "disableSendHuaweiMsgBecauseOfPenalty"
        | "noRightToSendThisLiveNotificationEvent" => Verdict::Standing,
        _ => Verdict::Refused,
    }
}

/// The device tokens a rendered body addresses: `target.token` of a send,
/// `token` of a revoke.
pub fn body_tokens(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        target: Option<Target>,
        token: Option<Vec<String>>,
    }
    #[derive(serde::Deserialize)]
    struct Target {
        token: Option<Vec<String>>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.target.and_then(|t| t.token).or(b.token))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- answers

/// An answer: Huawei's `{"code": "<8 digits>", "msg", "requestId"}`
/// (§11.3: `code` is a string; a number is read too), and what `msg` says
/// per token.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub answer: crate::huawei::Answer,
    /// `(reason, token)` of each token `msg` names illegal.
    pub illegal: Vec<(String, String)>,
    /// `msg`'s `success` count, when it gives one.
    pub success: Option<u64>,
}

impl Reply {
    pub fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Msg {
            #[serde(rename = "illegalTokens")]
            illegal_tokens: Option<std::collections::BTreeMap<String, Vec<String>>>,
            success: Option<u64>,
        }
        let answer = crate::huawei::read_answer(body);
        let msg = serde_json::from_str::<Msg>(&answer.message).ok();
        let illegal = msg
            .as_ref()
            .and_then(|m| m.illegal_tokens.as_ref())
            .map(|by_reason| {
                by_reason
                    .iter()
                    .flat_map(|(reason, tokens)| {
                        tokens.iter().map(|t| (reason.trim().to_owned(), t.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            answer,
            success: msg.and_then(|m| m.success),
            illegal,
        }
    }
}

/// What one answer asks of the client: the Huawei family's vocabulary
/// (`Deliver` reads a partial success's per-token reasons, `DropTokens`
/// 80300007's; `RefreshAuth` mints a new JWT and sends once more), with its
/// status-class fallback (401 re-mint once, 403 refused sender, 429/503 flow
/// control, 5xx backoff, the rest rejected).
pub use crate::huawei::Action;

/// Every code of beyond.md §11.3 → action.
pub const RESPONSES: &[(&str, Action)] = &[
    ("80000000", Action::Deliver),
    ("80100000", Action::Deliver),
    ("80100001", Action::Reject),
    ("80100003", Action::Reject),
    ("80100004", Action::Reject),
    ("80100022", Action::Reject),
    ("80200001", Action::CredentialsRefused),
    ("80200005", Action::RefreshAuth),
    ("80300002", Action::CredentialsRefused),
    ("80300037", Action::CredentialsRefused),
    ("80300007", Action::DropTokens),
    ("80300008", Action::Reject),
    ("80300010", Action::Reject),
    ("80300029", Action::FlowControl),
    ("80300030", Action::Reject),
    ("80300036", Action::CredentialsRefused),
    ("81000001", Action::Backoff),
];

/// The table's row, or by HTTP status for a code not in it.
pub fn action_for(status: u16, code: &str) -> Action {
    let code = (!code.is_empty()).then_some(code);
    crate::kit::answer::action_for("harmony", RESPONSES, status, code.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_and_the_status_fallback() {
        crate::kit::answer::assert_table(RESPONSES, |code| action_for(200, code));
        assert_eq!(RESPONSES.len(), 17, "beyond.md §11.3 lists 17 codes");
        for (status, code, action) in [
            (503, "", Action::FlowControl),
            (502, "", Action::Backoff),
            (500, "", Action::Backoff),
            (401, "", Action::RefreshAuth),
            (403, "", Action::CredentialsRefused),
            (404, "", Action::Reject),
            (200, "89999999", Action::Reject),
        ] {
            assert_eq!(action_for(status, code), action, "{status} {code:?}");
        }
    }

    #[test]
    fn per_token_reasons_and_no_right_by_whether_the_project_took_a_push() {
        for proven in [false, true] {
            assert_eq!(verdict("tokenFormatError", proven), Verdict::Dead);
            assert_eq!(verdict("tokenPlatformNotSupport", proven), Verdict::Dead);
            assert_eq!(verdict("noPushTypeRight", proven), Verdict::Standing);
            assert_eq!(verdict("countryNotSupport", proven), Verdict::Refused);
        }
        assert_eq!(verdict("noRight", false), Verdict::Standing);
        assert_eq!(verdict("noRight", true), Verdict::Dead);
    }

    #[test]
    fn reads_the_reason_keyed_msg_with_padded_keys() {
        let r = Reply::read(
            br#"{"code":"80100000","msg":"{\"illegalTokens\":{\" tokenFormatError \":[\"a\"],\"noRight\":[\"b\",\"c\"]},\"success\":1,\"failure\":3}","requestId":"9"}"#,
        );
        assert_eq!(r.answer.code, "80100000");
        assert_eq!(r.success, Some(1));
        assert_eq!(
            r.illegal,
            [
                (" tokenFormatError ".trim().to_owned(), "a".to_owned()),
                ("noRight".into(), "b".into()),
                ("noRight".into(), "c".into())
            ]
        );
        assert_eq!(Reply::read(br#"{"code":80000000}"#).answer.code, "80000000");
        assert_eq!(Reply::read(b"<html>"), Reply::default());
        assert_eq!(
            body_tokens(br#"{"payload":{},"target":{"token":["t1"]}}"#),
            ["t1"]
        );
        assert_eq!(body_tokens(br#"{"notifyId":7,"token":["t2"]}"#), ["t2"]);
    }

    fn key_file(dir: &std::path::Path, json: &serde_json::Value) -> PathBuf {
        static FILES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = FILES.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("harmony-{n}.json"));
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    #[test]
    fn config_names_the_key_and_never_shows_the_private_key() {
        let pem = include_str!("../../standin/testdata/fcm-test-key-1.pem");
        let dir = tempfile::tempdir().unwrap();
        let good = serde_json::json!({
            "project_id": "101388000000000001", "key_id": "k1",
            "private_key": pem, "sub_account": "1000000001",
            "token_uri": AUDIENCE,
        });
        let section = HarmonySection {
            service_account_file: Some(key_file(dir.path(), &good)),
            ..HarmonySection::default()
        };
        let config = HarmonyConfig::from_section(&section).unwrap();
        assert_eq!(config.project_id, "101388000000000001");
        assert_eq!(config.client_id, None);
        assert_eq!(config.endpoint, PRODUCTION_URL);
        let body = pem
            .lines()
            .nth(1)
            .expect("a PEM has a body line")
            .to_owned();
        let clock = std::sync::Arc::new(tidings_std::clock::ManualClock::starting_now());
        let shown = format!("{config:?}");
        let client = HarmonyClient::new(config, clock).unwrap();
        for text in [shown, format!("{client:?}")] {
            assert!(!text.contains(&body), "the key leaked: {text}");
            assert!(text.contains("PS256Key(..)"), "{text}");
        }
        let with = |change: &dyn Fn(&mut HarmonySection)| {
            let mut changed = section.clone();
            change(&mut changed);
            changed
        };
        let mut no_sub = good.clone();
        no_sub["sub_account"] = "".into();
        let mut bad_key = good.clone();
        bad_key["private_key"] =
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into();
        let mut no_project = good.clone();
        no_project["project_id"] = serde_json::Value::Null;
        crate::kit::config::assert_refusals(
            HarmonyConfig::from_section,
            vec![
                (
                    with(&|s| s.service_account_file = None),
                    "harmony.service_account_file",
                    "missing",
                ),
                (
                    with(&|s| s.service_account_file = Some(key_file(dir.path(), &no_sub))),
                    "harmony.service_account_file",
                    "no sub_account",
                ),
                (
                    with(&|s| s.service_account_file = Some(key_file(dir.path(), &bad_key))),
                    "harmony.service_account_file",
                    "private_key: not an RSA",
                ),
                (
                    with(&|s| s.service_account_file = Some(key_file(dir.path(), &no_project))),
                    "harmony.project_id",
                    "missing",
                ),
                (
                    with(&|s| s.client_id = Some("a/b".into())),
                    "harmony.client_id",
                    "URL path",
                ),
                (
                    with(&|s| s.endpoint = Some("http://push-api.cloud.huawei.com".into())),
                    "harmony.endpoint",
                    "https://",
                ),
            ],
        );
    }
}
