//! The vivo Push stand-in (`spec/vendors.md` §7) on loopback:
//! `POST /message/auth` and `POST /message/send`, JSON both, over TLS.
//!
//! Every answer is HTTP 200 with `{"result": n, "desc": ...}` (vivo's
//! examples) except [`Reply::ServerError`] (HTTP 500 `Internet server
//! error!`, vivo's example).
//!
//! # `/message/auth` (§7.1): checks, in order
//!
//! `appId` present (else `10200`), `appKey` present (else `10201`),
//! `timestamp` and `sign` present (else [`RESULT_AUTH_PARAMETER`]), `appId`
//! and `appKey` the stand-in's (else [`RESULT_AUTH_APP`]), `timestamp` (ms)
//! within [`TIMESTAMP_WINDOW`] of the stand-in's clock (else
//! [`RESULT_AUTH_TIMESTAMP`]), `sign` = lowercase hex
//! md5(`appId + appKey + timestamp + appSecret`) (else
//! [`RESULT_AUTH_SIGN`]). Then `{"result":0,"desc":"请求成功","authToken"}`
//! with a token living [`TOKEN_LIFETIME`] on the stand-in's clock. Only
//! 10200/10201 are vivo's documented codes; the other three are the
//! stand-in's, in vivo's 102xx auth range.
//!
//! # `/message/send` (§7.2): checks, in order
//!
//! 1. `authToken` header: one this stand-in issued and not expired (its
//!    lifetime, or [`VivoStandin::expire_tokens`]) — else `10000` (read as
//!    vivo's auth failure; unconfirmed, §7.3).
//! 2. `Content-Type: application/json`, a JSON object — else
//!    [`RESULT_PARAMETER`].
//! 3. `appId` equals the stand-in's (vivo API 2.9.2) — else `10094`.
//! 4. `regId` a non-empty string; `notifyType` 1–4; `title` (≤ 40) and
//!    `content` (≤ 100) non-empty, counted as vivo's older doc does (a
//!    Chinese character 2, an ASCII character or an emoji 1);
//!    `timeToLive` 60–86 400 when present; `skipType` 1–4 with
//!    `skipContent` for 2–4; `classification` 0/1; `requestId` 1–64 chars;
//!    `pushMode` 0/1; `clientCustomMap` strings totalling ≤ 1024 chars —
//!    else [`RESULT_PARAMETER`] (vivo's own codes for these are not in
//!    vendors.md).
//! 5. `category` upper case `[A-Z0-9_]` (else `10096`); a documented one
//!    must agree with `classification` (else `10097`).
//!
//! A request that passes meets the scripts for its `regId`; otherwise it is
//! recorded and answered `{"result":0,"desc":"请求成功","taskId"}`.
//! [`Reply::InvalidUser`] answers `result` 0 with `invalidUser` (§7.3) and
//! records nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use md5::{Digest as _, Md5};
use serde_json::Value;

use crate::error::Error;
use crate::kit::shell::{Base, Builder, Issuing, Standin, TokenVendor, Vendor};
use crate::kit::token::TokenEndpoint;
pub use crate::kit::TokenFault;
use crate::kit::{constant_time_eq, now_ms, Accepted, Stats, TokenState};

pub const AUTH_PATH: &str = "/message/auth";
pub const SEND_PATH: &str = "/message/send";
/// An `authToken` lives a day (vendors.md §7.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The auth `timestamp` must be this close to vivo's clock (§7.1).
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(600);
/// vivo's documented auth codes (vivo server API 2.9.2).
pub const RESULT_AUTH_NO_APP_ID: i64 = 10200;
pub const RESULT_AUTH_NO_APP_KEY: i64 = 10201;
/// The stand-in's own auth codes (vivo's are not in vendors.md).
pub const RESULT_AUTH_PARAMETER: i64 = 10202;
pub const RESULT_AUTH_APP: i64 = 10203;
pub const RESULT_AUTH_TIMESTAMP: i64 = 10204;
pub const RESULT_AUTH_SIGN: i64 = 10205;
/// The stand-in's own code for a send parameter vivo refuses with a code
/// vendors.md does not give.
pub const RESULT_PARAMETER: i64 = 10199;
/// Text limits (vendors.md §7.2, §7.4).
pub const TITLE_LIMIT: usize = 40;
pub const CONTENT_LIMIT: usize = 100;
pub const CUSTOM_MAP_LIMIT: usize = 1024;
pub const REQUEST_ID_LIMIT: usize = 64;
/// vivo's documented categories (vendors.md §7.2) and their classification.
const SYSTEM_CATEGORIES: [&str; 6] = [
    "IM",
    "ACCOUNT",
    "TODO",
    "DEVICE_REMINDER",
    "ORDER",
    "SUBSCRIPTION",
];
const OPERATIONAL_CATEGORIES: [&str; 4] = ["NEWS", "CONTENT", "MARKETING", "SOCIAL"];

/// vivo's answers the stand-in can be scripted to give for a `regId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `result` 0 with `invalidUser.status` (1 unknown, 2 uninstalled or
    /// unsubscribed, 3 offline 90 days, 4 not a test user; §7.3).
    InvalidUser { status: u8 },
    /// 10000: the `authToken` is invalid or expired.
    AuthTokenInvalid,
    /// 10070: the app's total sends are over today's limit.
    DailyQuota,
    /// 10094: `appId` differs from the token's.
    AppIdMismatch,
    /// 10096: invalid category.
    InvalidCategory,
    /// 10097: category and classification disagree.
    CategoryMismatch,
    /// The stand-in's parameter refusal ([`RESULT_PARAMETER`]).
    ParameterInvalid,
    /// HTTP 500 `Internet server error!`; `retry_after` adds the header.
    ServerError { retry_after: Option<u32> },
    /// Any status and result.
    Other { status: u16, result: i64 },
}

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::ServerError { .. } => 500,
            Reply::Other { status, .. } => *status,
            _ => 200,
        }
    }

    /// The `result` (`None` for the 500).
    pub fn result(&self) -> Option<i64> {
        Some(match self {
            Reply::InvalidUser { .. } => 0,
            Reply::AuthTokenInvalid => 10000,
            Reply::DailyQuota => 10070,
            Reply::AppIdMismatch => 10094,
            Reply::InvalidCategory => 10096,
            Reply::CategoryMismatch => 10097,
            Reply::ParameterInvalid => RESULT_PARAMETER,
            Reply::Other { result, .. } => *result,
            Reply::ServerError { .. } => return None,
        })
    }

    /// For `tidings standin vivo --reply REGID=CODE`: a `result` code,
    /// `invalidUser1`…`invalidUser4`, or `500`.
    pub fn from_code(code: &str) -> Option<Reply> {
        if let Some(status) = code.strip_prefix("invalidUser") {
            return match status {
                "1" | "2" | "3" | "4" => status
                    .parse()
                    .ok()
                    .map(|status| Reply::InvalidUser { status }),
                _ => None,
            };
        }
        if code == "500" {
            return Some(Reply::ServerError { retry_after: None });
        }
        [
            Reply::AuthTokenInvalid,
            Reply::DailyQuota,
            Reply::AppIdMismatch,
            Reply::InvalidCategory,
            Reply::CategoryMismatch,
            Reply::ParameterInvalid,
        ]
        .into_iter()
        .find(|r| r.result().map(|c| c.to_string()).as_deref() == Some(code))
    }

    fn response(&self, reg_id: &str) -> Response {
        match self {
            Reply::ServerError { retry_after } => {
                let mut response =
                    (StatusCode::INTERNAL_SERVER_ERROR, "Internet server error!").into_response();
                if let Some(s) = retry_after {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, (*s).into());
                }
                response
            }
            Reply::InvalidUser { status } => json(
                StatusCode::OK,
                serde_json::json!({
                    "result": 0, "desc": "请求成功", "taskId": task_id(),
                    "invalidUser": { "userid": reg_id, "status": status },
                }),
            ),
            other => {
                let status = StatusCode::from_u16(other.status()).unwrap_or(StatusCode::OK);
                json(
                    status,
                    serde_json::json!({ "result": other.result(), "desc": "stand-in error" }),
                )
            }
        }
    }
}

fn json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json;charset=UTF-8",
        )],
        body.to_string(),
    )
        .into_response()
}

static TASK_IDS: AtomicU64 = AtomicU64::new(581_000_000_000);

fn task_id() -> String {
    TASK_IDS.fetch_add(1, Ordering::Relaxed).to_string()
}

/// vivo's `sign`: lowercase hex md5 of `appId + appKey + timestamp + appSecret`.
pub fn sign(app_id: u64, app_key: &str, timestamp_ms: u64, app_secret: &str) -> String {
    hex::encode(Md5::digest(
        format!("{app_id}{app_key}{timestamp_ms}{app_secret}").as_bytes(),
    ))
}

/// vivo's older counting (§7.2): a Chinese (non-ASCII) character 2, an
/// ASCII character or an emoji (outside the BMP) 1.
pub fn vivo_chars(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii() || u32::from(c) > 0xffff {
                1
            } else {
                2
            }
        })
        .sum()
}

/// A running vivo stand-in.
pub type VivoStandin = Standin<Vivo>;
/// Configures a vivo stand-in; [`Builder::start`] runs it.
pub type VivoStandinBuilder = Builder<Vivo>;

/// The vivo stand-in's settings: the app and how long `authToken`s live
/// (default a day). [`Builder::app`] is required.
#[derive(Debug)]
pub struct Vivo {
    app_id: u64,
    app_key: String,
    app_secret: String,
    token_lifetime: Duration,
}

impl Builder<Vivo> {
    pub fn app(mut self, app_id: u64, app_key: &str, app_secret: &str) -> Self {
        self.vendor.app_id = app_id;
        self.vendor.app_key = app_key.to_owned();
        self.vendor.app_secret = app_secret.to_owned();
        self
    }

    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.vendor.token_lifetime = lifetime;
        self
    }
}

/// The running vivo stand-in's state.
pub struct Shared {
    app_id: u64,
    app_key: String,
    app_secret: String,
    core: Issuing<Reply>,
}

impl Vendor for Vivo {
    type Reply = Reply;
    type State = Shared;
    type Accepted = Accepted;
    type Stats = Stats;
    const NAME: &'static str = "vivo";

    fn defaults() -> Self {
        Self {
            app_id: 0,
            app_key: String::new(),
            app_secret: String::new(),
            token_lifetime: TOKEN_LIFETIME,
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        if self.app_key.is_empty() || self.app_secret.is_empty() {
            return Err(Error::Config(
                "the vivo stand-in needs an app key and secret".into(),
            ));
        }
        let state = Arc::new(Shared {
            app_id: self.app_id,
            app_key: self.app_key,
            app_secret: self.app_secret,
            core: Issuing::new(base, self.token_lifetime),
        });
        let router = axum::Router::new()
            .route(AUTH_PATH, axum::routing::post(auth))
            .route(SEND_PATH, axum::routing::post(send))
            .with_state(state.clone());
        Ok((state, router))
    }

    fn stats(state: &Shared, _connections: u64) -> Stats {
        state.core.stats()
    }
}

impl TokenVendor for Vivo {
    const TOKEN_PATH: &'static str = AUTH_PATH;

    fn token_endpoint(state: &Shared) -> &TokenEndpoint {
        &state.core.token_endpoint
    }

    /// Every `authToken` issued so far is expired from now on (10000).
    fn expire_tokens(state: &Shared) {
        state.core.tokens.expire_all();
    }
}

fn result(result: i64, desc: &str) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "result": result, "desc": desc }),
    )
}

async fn auth(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(fault) = s.core.token_endpoint.fault().await {
        return fault;
    }
    match check_auth(&s, &body) {
        Ok(()) => match s.core.tokens.issue() {
            Ok(token) => json(
                StatusCode::OK,
                serde_json::json!({ "result": 0, "desc": "请求成功", "authToken": token }),
            ),
            Err(_) => Reply::ServerError { retry_after: None }.response(""),
        },
        Err((code, desc)) => {
            s.core.recorder.token_refused();
            result(code, desc)
        }
    }
}

fn check_auth(s: &Shared, body: &[u8]) -> Result<(), (i64, &'static str)> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|_| (RESULT_AUTH_PARAMETER, "请求体不合法"))?;
    let app_id = doc
        .get("appId")
        .and_then(Value::as_u64)
        .ok_or((RESULT_AUTH_NO_APP_ID, "appId 不能为空"))?;
    let app_key = doc
        .get("appKey")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or((RESULT_AUTH_NO_APP_KEY, "appKey 不能为空"))?;
    let timestamp = doc.get("timestamp").and_then(Value::as_u64);
    let sign_given = doc.get("sign").and_then(Value::as_str);
    let (Some(timestamp), Some(sign_given)) = (timestamp, sign_given) else {
        return Err((RESULT_AUTH_PARAMETER, "timestamp 或 sign 不能为空"));
    };
    if app_id != s.app_id || app_key != s.app_key {
        return Err((RESULT_AUTH_APP, "appId 或 appKey 不合法"));
    }
    let window = u64::try_from(TIMESTAMP_WINDOW.as_millis()).unwrap_or(u64::MAX);
    if timestamp.abs_diff(now_ms(&s.core.clock)) > window {
        return Err((RESULT_AUTH_TIMESTAMP, "timestamp 不合法"));
    }
    let expected = sign(app_id, &s.app_key, timestamp, &s.app_secret);
    if !constant_time_eq(expected.as_bytes(), sign_given.as_bytes()) {
        return Err((RESULT_AUTH_SIGN, "sign 不合法"));
    }
    Ok(())
}

async fn send(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    s.core.recorder.request();
    let (response, status, code) = match check_send(&s, &headers, &body) {
        Err(reply) => answered(&reply, ""),
        Ok(reg_id) => match s.core.scripts.take(&reg_id) {
            Some(reply) => answered(&reply, &reg_id),
            None => {
                s.core.recorder.accept(Accepted {
                    app_id: s.app_id.to_string(),
                    tokens: vec![reg_id],
                    invalid_tokens: Vec::new(),
                    timestamp_ms: None,
                    body,
                });
                let ok =
                    serde_json::json!({ "result": 0, "desc": "请求成功", "taskId": task_id() });
                (json(StatusCode::OK, ok), 200, "0".to_owned())
            }
        },
    };
    s.core.recorder.answer(status, &code);
    response
}

fn answered(reply: &Reply, reg_id: &str) -> (Response, u16, String) {
    let code = reply.result().map(|r| r.to_string()).unwrap_or_default();
    (reply.response(reg_id), reply.status(), code)
}

/// Steps 1–5 of the module doc; the `regId` when it passes.
fn check_send(s: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<String, Reply> {
    let token = headers
        .get("authToken")
        .and_then(|v| v.to_str().ok())
        .ok_or(Reply::AuthTokenInvalid)?;
    if s.core.tokens.check(token) != TokenState::Valid {
        return Err(Reply::AuthTokenInvalid);
    }
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_type {
        return Err(Reply::ParameterInvalid);
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| Reply::ParameterInvalid)?;
    let m = doc.as_object().ok_or(Reply::ParameterInvalid)?;
    if m.get("appId").and_then(Value::as_u64) != Some(s.app_id) {
        return Err(Reply::AppIdMismatch);
    }
    let text = |key: &str| m.get(key).and_then(Value::as_str);
    let int = |key: &str| m.get(key).and_then(Value::as_i64);
    let in_range = |key: &str, lo: i64, hi: i64, required: bool| match m.get(key) {
        None => !required,
        Some(v) => v.as_i64().is_some_and(|n| (lo..=hi).contains(&n)),
    };
    let reg_id = text("regId")
        .filter(|r| !r.is_empty())
        .ok_or(Reply::ParameterInvalid)?;
    let title = text("title").ok_or(Reply::ParameterInvalid)?;
    let content = text("content").ok_or(Reply::ParameterInvalid)?;
    let fits = |t: &str, limit: usize| !t.is_empty() && vivo_chars(t) <= limit;
    let skip_type = int("skipType");
    let checks = [
        in_range("notifyType", 1, 4, true),
        fits(title, TITLE_LIMIT),
        fits(content, CONTENT_LIMIT),
        in_range("timeToLive", 60, 86_400, false),
        in_range("skipType", 1, 4, true),
        skip_type == Some(1) || text("skipContent").is_some_and(|c| !c.is_empty()),
        in_range("classification", 0, 1, false),
        in_range("pushMode", 0, 1, false),
        text("requestId").is_some_and(|r| !r.is_empty() && r.chars().count() <= REQUEST_ID_LIMIT),
        custom_map_fits(m.get("clientCustomMap")),
    ];
    if checks.contains(&false) {
        return Err(Reply::ParameterInvalid);
    }
    if let Some(category) = m.get("category") {
        let category = category.as_str().unwrap_or_default();
        let well_formed = !category.is_empty()
            && category
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(Reply::InvalidCategory);
        }
        let implied = if SYSTEM_CATEGORIES.contains(&category) {
            Some(1)
        } else if OPERATIONAL_CATEGORIES.contains(&category) {
            Some(0)
        } else {
            None
        };
        if implied.is_some_and(|c| c != int("classification").unwrap_or(0)) {
            return Err(Reply::CategoryMismatch);
        }
    }
    Ok(reg_id.to_owned())
}

fn custom_map_fits(map: Option<&Value>) -> bool {
    let Some(map) = map else { return true };
    let Some(map) = map.as_object() else {
        return false;
    };
    let mut chars = 0;
    for (k, v) in map {
        let Some(v) = v.as_str() else { return false };
        chars += k.chars().count() + v.chars().count();
    }
    chars <= CUSTOM_MAP_LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in ["10000", "10070", "10094", "10096", "10097"] {
            let reply = Reply::from_code(code).unwrap();
            assert_eq!(reply.result().unwrap().to_string(), code);
        }
        assert_eq!(
            Reply::from_code("invalidUser2"),
            Some(Reply::InvalidUser { status: 2 })
        );
        assert_eq!(Reply::from_code("invalidUser5"), None);
        assert_eq!(Reply::from_code("500").map(|r| r.status()), Some(500));
        assert_eq!(Reply::from_code("0"), None);
    }

    #[test]
    fn counting_follows_the_older_doc() {
        assert_eq!(vivo_chars("abc"), 3);
        assert_eq!(vivo_chars("午饭"), 4);
        assert_eq!(vivo_chars("🍜"), 1);
    }

    #[test]
    fn sign_is_lowercase_md5_hex() {
        let s = sign(10004, "key", 1_501_484_120_000, "secret");
        assert_eq!(s, hex::encode(Md5::digest(b"10004key1501484120000secret")));
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
