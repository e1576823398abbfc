//! The OPPO Push stand-in (`spec/vendors.md` §6): `POST /server/v1/auth`
//! and `POST /server/v1/message/notification/unicast` over TLS on loopback.
//! Every answer is HTTP 200 with `{"code": N, "message": .., "data": ..}`.
//!
//! # Auth (`/server/v1/auth`, form)
//!
//! 1. `app_key` present (else 15) and the registered one (else 14);
//! 2. `timestamp` present (else 18), 13-digit epoch ms within the last
//!    [`TIMESTAMP_WINDOW`] by the stand-in's clock (at most
//!    [`TIMESTAMP_FUTURE_SKEW`] ahead) — else 19;
//! 3. `sign` present (else 17) and the lowercase hex SHA-256 of
//!    `app_key + timestamp + master_secret` — else 16.
//!
//! It then issues a fresh `auth_token` valid [`TOKEN_LIFETIME`] from now
//! (`data.auth_token`, `data.create_time` in ms).
//!
//! # Unicast (form)
//!
//! 1. `auth_token` (form field, or the `auth_token` header) present — else
//!    29; one the stand-in issued, not expired by its clock and not revoked
//!    by [`OppoStandin::expire_auth_tokens`] — else 11. A header and a form
//!    field that differ are 11 too.
//! 2. `message` present — else 40; a JSON object with `target_type` 2 and
//!    a non-empty string `target_value`, and a `notification` object whose
//!    `title` (1–50) and `content` (1–50, the safe reading of §6.2's
//!    conflict) count UTF-16 units as OPPO's Java server does; `sub_title`
//!    ≤ 10; `action_parameters` a JSON-object string of ≤ 4000 units;
//!    `off_line` a bool; `off_line_ttl` a number; `notify_level` 1, 2 or 16
//!    — else 41. A `notify_level` without `category` is 67.
//!
//! Then the scripts by `target_value`; else recorded and answered code 0
//! with `data.messageId`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use tidings_std::clock::SharedClock;

use crate::error::Error;
use crate::kit::form::{is_form, AcceptedPush, Codes, Form, Journal, Stats};
use crate::kit::shell::{Base, Builder, Standin, TokenVendor, Vendor};
use crate::kit::token::TokenEndpoint;
pub use crate::kit::TokenFault;
use crate::kit::{fresh_id, json_answer, lock, now_ms, post, Scripts};

pub const AUTH_PATH: &str = "/server/v1/auth";
pub const UNICAST_PATH: &str = "/server/v1/message/notification/unicast";
/// An auth token lives 24 h (vendors.md §6.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The auth `timestamp` must be within the last 10 minutes (vendors.md §6.1).
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(600);
/// …and no further ahead than this (OPPO documents none; a minute of
/// clock skew between real hosts).
pub const TIMESTAMP_FUTURE_SKEW: Duration = Duration::from_secs(60);
/// Field limits in UTF-16 units (vendors.md §6.2, §10.3).
pub const TITLE_LIMIT: usize = 50;
pub const CONTENT_LIMIT: usize = 50;
pub const SUB_TITLE_LIMIT: usize = 10;
pub const ACTION_PARAMETERS_LIMIT: usize = 4000;

/// OPPO's documented answers (§6.3) the stand-in can give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 10000: the registration id is invalid (unicast business code).
    InvalidRegId,
    /// 11: invalid auth_token.
    InvalidAuthToken,
    /// −2: service in flow control.
    FlowControl,
    /// −1: service unavailable.
    Unavailable,
    /// 13: app call limit.
    CallLimit,
    /// 33: daily message limit.
    DailyLimit,
    /// 41: invalid argument.
    InvalidArgument,
    /// 28: app disabled.
    AppDisabled,
    /// An HTTP error without a body, with an optional `Retry-After`.
    Http {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Any other code.
    Other { code: i64, message: String },
}

/// OPPO's code table (§6.3): each documented reply, its code and message.
const CODES: Codes<Reply> = Codes(&[
    (Reply::InvalidRegId, 10000, "Invalid RegistrationId"),
    (Reply::InvalidAuthToken, 11, "Invalid AuthToken"),
    (Reply::FlowControl, -2, "Service In Flow Control"),
    (Reply::Unavailable, -1, "Service Currently Unavailable"),
    (Reply::CallLimit, 13, "App Call Limited"),
    (Reply::DailyLimit, 33, "Exceed Daily Message Limit"),
    (Reply::InvalidArgument, 41, "Invalid Argument"),
    (Reply::AppDisabled, 28, "App Disabled"),
]);

impl Reply {
    /// The result code (`None` for [`Reply::Http`]).
    pub fn code(&self) -> Option<i64> {
        match self {
            Reply::Other { code, .. } => Some(*code),
            r => CODES.code(r),
        }
    }

    /// `(status, Retry-After)` of an HTTP error without a result body.
    fn http(&self) -> Option<(u16, Option<u32>)> {
        let Reply::Http {
            status,
            retry_after,
        } = self
        else {
            return None;
        };
        Some((*status, *retry_after))
    }

    fn message(&self) -> &str {
        match self {
            Reply::Other { message, .. } => message,
            r => CODES.text(r),
        }
    }

    /// For `tidings standin oppo --reply TOKEN=CODE`: a documented code
    /// (`10000`, `11`, `-2`, `-1`, `13`, `33`, `41`, `28`) or `http-503`.
    pub fn from_code(code: &str) -> Option<Reply> {
        CODES.parse(code, |status| Reply::Http {
            status,
            retry_after: None,
        })
    }
}

fn other(code: i64, message: &str) -> Reply {
    Reply::Other {
        code,
        message: message.to_owned(),
    }
}

/// The running OPPO stand-in's state.
pub struct Shared {
    app_key: String,
    master_secret: String,
    clock: SharedClock,
    /// Issued tokens → their expiry (ms since the epoch).
    tokens: Mutex<HashMap<String, u64>>,
    scripts: Arc<Scripts<Reply>>,
    journal: Journal,
    token_endpoint: TokenEndpoint,
}

impl Shared {
    fn refuse(&self, reply: &Reply) -> Response {
        self.journal.refuse(reply.http(), reply.code(), |code| {
            serde_json::json!({ "code": code, "message": reply.message() }).to_string()
        })
    }

    fn auth(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        let result = self.check_auth(headers, body);
        self.journal.token_fetch(result.is_ok());
        match result {
            Err(reply) => self.refuse(&reply),
            Ok(()) => {
                let token = fresh_id();
                let now = now_ms(&self.clock);
                let lifetime = u64::try_from(TOKEN_LIFETIME.as_millis()).unwrap_or(u64::MAX);
                lock(&self.tokens).insert(token.clone(), now.saturating_add(lifetime));
                self.journal.answer(0);
                let body = serde_json::json!({
                    "code": 0,
                    "message": "Success",
                    "data": { "auth_token": token, "create_time": now },
                });
                json_answer(200, None, body.to_string())
            }
        }
    }

    fn check_auth(&self, headers: &HeaderMap, body: &Bytes) -> Result<(), Reply> {
        let form = match Form::parse(body) {
            Ok(form) if is_form(headers) => form,
            _ => return Err(other(25, "Invalid Encoding")),
        };
        let app_key = form
            .non_empty("app_key")
            .ok_or(other(15, "Missing AppKey"))?;
        if app_key != self.app_key {
            return Err(other(14, "Invalid AppKey"));
        }
        let timestamp = form
            .non_empty("timestamp")
            .ok_or(other(18, "Missing Timestamp"))?;
        let now = now_ms(&self.clock);
        let window = u64::try_from(TIMESTAMP_WINDOW.as_millis()).unwrap_or(u64::MAX);
        let skew = u64::try_from(TIMESTAMP_FUTURE_SKEW.as_millis()).unwrap_or(u64::MAX);
        let fresh = timestamp.len() == 13
            && timestamp.bytes().all(|b| b.is_ascii_digit())
            && timestamp
                .parse::<u64>()
                .is_ok_and(|t| t <= now.saturating_add(skew) && t.saturating_add(window) >= now);
        if !fresh {
            return Err(other(19, "Invalid Timestamp"));
        }
        let sign = form.non_empty("sign").ok_or(other(17, "Missing Sign"))?;
        let mut hasher = Sha256::new();
        hasher.update(app_key.as_bytes());
        hasher.update(timestamp.as_bytes());
        hasher.update(self.master_secret.as_bytes());
        if sign != hex::encode(hasher.finalize()) {
            return Err(other(16, "Invalid Sign"));
        }
        Ok(())
    }

    fn unicast(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        self.journal.request();
        let form = match Form::parse(body) {
            Ok(form) if is_form(headers) => form,
            _ => return self.refuse(&other(25, "Invalid Encoding")),
        };
        if let Err(reply) = self.check_token(headers, &form) {
            return self.refuse(&reply);
        }
        let target = match check_message(&form) {
            Ok(target) => target,
            Err(reply) => return self.refuse(&reply),
        };
        if let Some(reply) = self.scripts.take(&target) {
            return self.refuse(&reply);
        }
        let id = fresh_id();
        self.journal.accept(AcceptedPush {
            token: target,
            message_id: id.clone(),
            body: body.clone(),
            form,
        });
        self.journal.answer(0);
        let body = serde_json::json!({
            "code": 0,
            "message": "Success",
            "data": { "messageId": id },
        });
        json_answer(200, None, body.to_string())
    }

    fn check_token(&self, headers: &HeaderMap, form: &Form) -> Result<(), Reply> {
        let header = headers.get("auth_token").and_then(|v| v.to_str().ok());
        let token = form
            .non_empty("auth_token")
            .or(header)
            .ok_or(other(29, "Missing AuthToken"))?;
        if header.is_some_and(|h| h != token) {
            return Err(Reply::InvalidAuthToken);
        }
        let now = now_ms(&self.clock);
        match lock(&self.tokens).get(token) {
            Some(&expiry) if now < expiry => Ok(()),
            _ => Err(Reply::InvalidAuthToken),
        }
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Checks `message` (§6.2); answers the target regId.
fn check_message(form: &Form) -> Result<String, Reply> {
    let message = form
        .non_empty("message")
        .ok_or(other(40, "Missing Required Argument"))?;
    let invalid = || Reply::InvalidArgument;
    let message: serde_json::Value = serde_json::from_str(message).map_err(|_| invalid())?;
    if message
        .get("target_type")
        .and_then(serde_json::Value::as_u64)
        != Some(2)
    {
        return Err(invalid());
    }
    let target = message
        .get("target_value")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(invalid)?;
    let n = message
        .get("notification")
        .and_then(serde_json::Value::as_object)
        .ok_or_else(invalid)?;
    let text = |key: &str, max: usize, required: bool| match n.get(key) {
        None => !required,
        Some(v) => v
            .as_str()
            .is_some_and(|s| (!required || !s.is_empty()) && utf16_len(s) <= max),
    };
    if !text("title", TITLE_LIMIT, true)
        || !text("content", CONTENT_LIMIT, true)
        || !text("sub_title", SUB_TITLE_LIMIT, false)
    {
        return Err(invalid());
    }
    if let Some(p) = n.get("action_parameters") {
        let ok = p.as_str().is_some_and(|s| {
            utf16_len(s) <= ACTION_PARAMETERS_LIMIT
                && serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| v.is_object())
        });
        if !ok {
            return Err(invalid());
        }
    }
    if n.get("off_line").is_some_and(|v| !v.is_boolean())
        || n.get("off_line_ttl").is_some_and(|v| !v.is_u64())
    {
        return Err(invalid());
    }
    if let Some(level) = n.get("notify_level") {
        if !matches!(level.as_u64(), Some(1 | 2 | 16)) {
            return Err(invalid());
        }
        if n.get("category").is_none() {
            return Err(other(67, "Category Error"));
        }
    }
    Ok(target.to_owned())
}

/// A running OPPO stand-in.
pub type OppoStandin = Standin<Oppo>;
/// Configures an OPPO stand-in; [`Builder::start`] runs it.
pub type OppoStandinBuilder = Builder<Oppo>;

/// The OPPO stand-in's settings: the app's key and MasterSecret (default:
/// fresh ones).
#[derive(Debug)]
pub struct Oppo {
    app_key: String,
    master_secret: String,
}

impl Builder<Oppo> {
    /// The app's key and MasterSecret (default: fresh ones).
    pub fn credentials(mut self, app_key: &str, master_secret: &str) -> Self {
        self.vendor.app_key = app_key.to_owned();
        self.vendor.master_secret = master_secret.to_owned();
        self
    }
}

impl Standin<Oppo> {
    pub fn app_key(&self) -> &str {
        &self.state().app_key
    }

    pub fn master_secret(&self) -> &str {
        &self.state().master_secret
    }

    /// [`Standin::expire_tokens`] under OPPO's name for its tokens.
    pub fn expire_auth_tokens(&self) {
        self.expire_tokens();
    }
}

impl Vendor for Oppo {
    type Reply = Reply;
    type State = Shared;
    type Accepted = AcceptedPush;
    type Stats = Stats;
    const NAME: &'static str = "OPPO";

    fn defaults() -> Self {
        Self {
            app_key: fresh_id(),
            master_secret: fresh_id(),
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        let shared = Arc::new(Shared {
            app_key: self.app_key,
            master_secret: self.master_secret,
            tokens: Mutex::new(HashMap::new()),
            journal: Journal::new(base.accepted, &["auth_token"]),
            clock: base.clock,
            scripts: base.scripts,
            token_endpoint: TokenEndpoint::default(),
        });
        let router = axum::Router::new()
            .route(
                AUTH_PATH,
                axum::routing::post(
                    |State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes| async move {
                        match s.token_endpoint.fault().await {
                            Some(fault) => fault,
                            None => s.auth(&headers, &body),
                        }
                    },
                ),
            )
            .route(UNICAST_PATH, post(Shared::unicast))
            .with_state(shared.clone());
        Ok((shared, router))
    }

    fn stats(state: &Shared, _connections: u64) -> Stats {
        Stats {
            token_requests: state.token_endpoint.requests(),
            ..state.journal.stats()
        }
    }
}

impl TokenVendor for Oppo {
    const TOKEN_PATH: &'static str = AUTH_PATH;

    fn token_endpoint(state: &Shared) -> &TokenEndpoint {
        &state.token_endpoint
    }

    /// Every auth token issued so far is refused from now on (code 11), as
    /// when OPPO expires a token early.
    fn expire_tokens(state: &Shared) {
        lock(&state.tokens).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: &str) -> Form {
        let json = format!(r#"{{"target_type":2,"target_value":"r1","notification":{n}}}"#);
        Form {
            fields: vec![("message".into(), json)],
        }
    }

    #[test]
    fn checks_the_message() {
        assert_eq!(
            check_message(&message(r#"{"title":"T","content":"C","off_line":true}"#)),
            Ok("r1".into())
        );
        let code = |n: &str| check_message(&message(n)).unwrap_err().code();
        assert_eq!(code(r#"{"content":"C"}"#), Some(41));
        let long = "😀".repeat(26);
        assert_eq!(
            code(&format!(r#"{{"title":"{long}","content":"C"}}"#)),
            Some(41)
        );
        assert_eq!(
            code(r#"{"title":"T","content":"C","action_parameters":{"a":1}}"#),
            Some(41)
        );
        assert_eq!(
            code(r#"{"title":"T","content":"C","notify_level":2}"#),
            Some(67)
        );
        assert_eq!(
            check_message(&Form::default()).unwrap_err().code(),
            Some(40)
        );
    }
}
