//! The Honor Push stand-in (`spec/vendors.md` §4) on loopback: Honor's
//! OAuth token endpoint and `POST /api/v1/<appId>/sendMessage`, over TLS.
//! It is the Huawei stand-in ([`crate::huawei::Family`]) with Honor's
//! differences as a [`Dialect`]: paths, a client id of its own, OIDC-shaped
//! token errors, the `timestamp` header, no `message` wrapper, and the
//! `data.expireTokens`/`failTokens` envelope.
//!
//! Honor's code table is unconfirmed (§4.3); the stand-in answers in the
//! documented envelope `{"code", "message", "data": {"sendResult",
//! "requestId", "failTokens", "expireTokens"}}` with `code` 200 on success
//! (Honor's example) and Huawei's codes for errors (Honor's API was split
//! from Huawei's), each marked on [`Reply`].
//!
//! # Token endpoint (`POST /auth/realms/developer/protocol/openid-connect/token`, §4.1)
//!
//! A form `grant_type=client_credentials&client_id&client_secret` naming
//! the stand-in's client is answered `{"access_token", "expires_in",
//! "token_type": "Bearer"}`; anything else 400/401 `{"error":
//! "<RFC 6749 §5.2 name>", "error_description"}` (an OpenID Connect
//! server's shape).
//!
//! # Send: checks, in order
//!
//! 1. The path's app id is the stand-in's — else 401 `80200001`.
//! 2. `Authorization: Bearer <token>`, a token this stand-in issued — else
//!    401 `80200001`; expired (lifetime, or [`HonorStandin::expire_tokens`])
//!    401 `80200003`.
//! 3. A `timestamp` header of epoch **milliseconds** within
//!    [`TIMESTAMP_WINDOW`] of the stand-in's clock (§4.1; a seconds value
//!    is far outside it) — else 400 `80100001`.
//! 4. `Content-Type: application/json; charset=UTF-8` (§4.1) — else 400
//!    `80100001`.
//! 5. The body minus its tokens is at most [`MAX_BODY`] bytes (assumed as
//!    Huawei's, §4.3) — else 400 `80300008`.
//! 6. The body is a JSON object without Huawei's `message` wrapper (§4.2),
//!    `data` a string when present — else 400 `80100003`.
//! 7. `token` is 1–1000 non-empty strings — else 400 `80300010`.
//! 8. `android.notification` (or top-level `notification`) has a non-empty
//!    `title` and `body`; `importance` is `LOW` or `NORMAL` (§4.2);
//!    `clickAction.type` 1–4; `badge.addNum` 1–99 — else 400 `80100003`
//!    (`80100001` for a bad value).
//!
//! Then the per-token scripts: tokens scripted [`Reply::ExpiredToken`] are
//! listed in `expireTokens`, [`Reply::FailToken`] in `failTokens`;
//! `sendResult` is whether any token was sent, and the push is recorded
//! when one was. Any other scripted reply answers the whole request.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::huawei::{
    check_size, check_title_and_body, check_tokens, json_document, refuse_with, Answer, Checked,
    Dialect, Family, Refusal, Shared,
};
use crate::kit::shell::{Builder, Standin};
pub use crate::kit::TokenFault;
use crate::kit::{fresh_id, now_ms, Accepted};

pub use crate::huawei::{MAX_BODY, MAX_TOKENS, TOKEN_LIFETIME};

/// Token path (vendors.md §4.1).
pub const TOKEN_PATH: &str = "/auth/realms/developer/protocol/openid-connect/token";
/// How far the `timestamp` header may be from the stand-in's clock (Honor
/// documents none; ten minutes, as vivo's and OPPO's signed timestamps).
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(600);
/// Honor's success `code`.
pub const CODE_SUCCESS: u32 = 200;

/// The answers the stand-in gives or can be scripted to give for a device
/// token. Codes other than 200 are Huawei's (§3.4), assumed shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The token is listed in `data.expireTokens` (§4.3).
    ExpiredToken,
    /// The token is listed in `data.failTokens` (§4.3).
    FailToken,
    /// 80300007: every token invalid.
    InvalidTokens,
    /// 80100001 parameter error.
    ParameterError,
    /// 80100003 message structure error.
    MessageStructureError,
    /// 80200001 auth error.
    AuthError,
    /// 80200003 access token expired.
    AuthExpired,
    /// 80300008 body too large.
    BodyTooLarge,
    /// 80300010 token count out of range.
    TokenCountOutOfRange,
    /// 81000001 internal error (HTTP 500).
    InternalError,
    /// HTTP 503 flow control (no body); `retry_after` adds the header.
    FlowControl { retry_after: Option<u32> },
    /// Any status and code.
    Other { status: u16, code: u32 },
}

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::ExpiredToken | Reply::FailToken => 200,
            Reply::AuthError | Reply::AuthExpired => 401,
            Reply::InternalError => 500,
            Reply::FlowControl { .. } => 503,
            Reply::Other { status, .. } => *status,
            _ => 400,
        }
    }

    /// The `code` (`None`: HTTP only).
    pub fn code(&self) -> Option<u32> {
        Some(match self {
            Reply::ExpiredToken | Reply::FailToken => CODE_SUCCESS,
            Reply::InvalidTokens => 80_300_007,
            Reply::ParameterError => 80_100_001,
            Reply::MessageStructureError => 80_100_003,
            Reply::AuthError => 80_200_001,
            Reply::AuthExpired => 80_200_003,
            Reply::BodyTooLarge => 80_300_008,
            Reply::TokenCountOutOfRange => 80_300_010,
            Reply::InternalError => 81_000_001,
            Reply::Other { code, .. } => *code,
            Reply::FlowControl { .. } => return None,
        })
    }

    /// For `tidings standin honor --reply TOKEN=CODE`: `expireTokens`,
    /// `failTokens`, `503`, or a code (`80300007`).
    pub fn from_code(code: &str) -> Option<Reply> {
        match code {
            "expireTokens" => return Some(Reply::ExpiredToken),
            "failTokens" => return Some(Reply::FailToken),
            "503" => return Some(Reply::FlowControl { retry_after: None }),
            _ => {}
        }
        [
            Reply::InvalidTokens,
            Reply::ParameterError,
            Reply::MessageStructureError,
            Reply::AuthError,
            Reply::AuthExpired,
            Reply::BodyTooLarge,
            Reply::TokenCountOutOfRange,
            Reply::InternalError,
        ]
        .into_iter()
        .find(|r| r.code().map(|c| c.to_string()).as_deref() == Some(code))
    }
}

fn answer(status: StatusCode, code: u32, message: &str, data: Value) -> Response {
    let body = serde_json::json!({ "code": code, "message": message, "data": data });
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A running Honor stand-in.
pub type HonorStandin = Standin<Family<Honor>>;
/// Configures a Honor stand-in; [`Builder::start`] runs it.
pub type HonorStandinBuilder = Builder<Family<Honor>>;

impl Builder<Family<Honor>> {
    /// The app id (URL path) and the OAuth client it sends as (§4.1).
    pub fn app(self, app_id: &str, client_id: &str, client_secret: &str) -> Self {
        self.credentials(app_id, Some(client_id), client_secret)
    }
}

/// Honor's data and checks in the Huawei family.
#[derive(Debug)]
pub struct Honor;

impl Dialect for Honor {
    type Reply = Reply;
    const NAME: &'static str = "Honor";
    const TOKEN_PATH: &'static str = TOKEN_PATH;
    const SEND_ROUTE: &'static str = "/api/v1/{app_id}/{action}";
    const SEND_ACTION: &'static str = "sendMessage";
    const CHARSET_REQUIRED: bool = true;

    fn refusal(refusal: Refusal) -> Reply {
        match refusal {
            Refusal::Auth => Reply::AuthError,
            Refusal::AuthExpired => Reply::AuthExpired,
            Refusal::Parameter | Refusal::BadToken => Reply::ParameterError,
            Refusal::Structure => Reply::MessageStructureError,
            Refusal::TokenCount => Reply::TokenCountOutOfRange,
            Refusal::TooLarge => Reply::BodyTooLarge,
        }
    }

    fn token_refusal(error: &'static str) -> Value {
        serde_json::json!({
            "error": error,
            "error_description": "stand-in: the client credentials were not accepted",
        })
    }

    /// Steps 3–8 of the module doc.
    fn check(s: &Shared<Self>, headers: &HeaderMap, body: &[u8]) -> Result<Checked, Reply> {
        let timestamp_ms = headers
            .get("timestamp")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(Reply::ParameterError)?;
        let window = u64::try_from(TIMESTAMP_WINDOW.as_millis()).unwrap_or(u64::MAX);
        if timestamp_ms.abs_diff(now_ms(&s.core.clock)) > window {
            return Err(Reply::ParameterError);
        }
        let doc = json_document::<Self>(headers, body)?;
        let top = doc.as_object().ok_or(Reply::MessageStructureError)?;
        if top.contains_key("message") {
            return Err(Reply::MessageStructureError);
        }
        let tokens = check_tokens::<Self>(top.get("token"))?;
        check_size::<Self>(body, &tokens)?;
        if top.get("data").is_some_and(|d| !d.is_string()) {
            return Err(Reply::MessageStructureError);
        }
        let android = match top.get("android") {
            None => None,
            Some(Value::Object(a)) => Some(a),
            Some(_) => return Err(Reply::MessageStructureError),
        };
        if android
            .and_then(|a| a.get("data"))
            .is_some_and(|d| !d.is_string())
        {
            return Err(Reply::MessageStructureError);
        }
        let note = android.and_then(|a| a.get("notification"));
        check_title_and_body::<Self>(note, top.get("notification"))?;
        if let Some(note) = note {
            check_notification(note)?;
        }
        Ok(Checked {
            tokens,
            timestamp_ms: Some(timestamp_ms),
        })
    }

    fn outcome(s: &Shared<Self>, app_id: String, checked: Checked, body: Bytes) -> Answer {
        let tokens = checked.tokens;
        let (mut expired, mut failed) = (Vec::new(), Vec::new());
        let mut other = None;
        for token in &tokens {
            match s.core.scripts.take(token) {
                Some(Reply::ExpiredToken) => expired.push(token.clone()),
                Some(Reply::FailToken) => failed.push(token.clone()),
                Some(reply) if other.is_none() => other = Some(reply),
                _ => {}
            }
        }
        if let Some(reply) = other {
            return Self::refuse(&reply);
        }
        let sent = expired.len() + failed.len() < tokens.len();
        let data = serde_json::json!({
            "sendResult": sent,
            "requestId": fresh_id(),
            "failTokens": failed,
            "expireTokens": expired,
        });
        if sent {
            s.core.recorder.accept(Accepted {
                app_id,
                tokens,
                invalid_tokens: expired,
                timestamp_ms: checked.timestamp_ms,
                body,
            });
        }
        Answer::new(
            answer(StatusCode::OK, CODE_SUCCESS, "success", data),
            200,
            CODE_SUCCESS.to_string(),
        )
    }

    fn refuse(reply: &Reply) -> Answer {
        let code = reply.code();
        let text = code.map(|c| c.to_string());
        let body = |status, _: &str| {
            answer(
                status,
                code.unwrap_or_default(),
                "stand-in error",
                Value::Null,
            )
        };
        match reply {
            Reply::FlowControl { retry_after } => {
                refuse_with(reply.status(), None, *retry_after, body)
            }
            _ => refuse_with(reply.status(), text, None, body),
        }
    }
}

fn check_notification(note: &Value) -> Result<(), Reply> {
    let note = note.as_object().ok_or(Reply::MessageStructureError)?;
    match note.get("importance") {
        None => {}
        Some(Value::String(i)) if i == "LOW" || i == "NORMAL" => {}
        Some(_) => return Err(Reply::ParameterError),
    }
    if let Some(click) = note.get("clickAction") {
        let kind = click.get("type").and_then(Value::as_u64);
        if !kind.is_some_and(|k| (1..=4).contains(&k)) {
            return Err(Reply::MessageStructureError);
        }
    }
    if let Some(badge) = note.get("badge") {
        let add = badge.get("addNum").and_then(Value::as_u64);
        if add.is_some_and(|n| !(1..=99).contains(&n)) {
            return Err(Reply::ParameterError);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            "80300007", "80100001", "80100003", "80200001", "80200003", "80300008", "80300010",
            "81000001",
        ] {
            let reply = Reply::from_code(code).unwrap();
            assert_eq!(reply.code().unwrap().to_string(), code);
        }
        assert_eq!(Reply::from_code("expireTokens"), Some(Reply::ExpiredToken));
        assert_eq!(Reply::from_code("503").map(|r| r.status()), Some(503));
        assert_eq!(Reply::from_code("200"), None);
        assert_eq!(Reply::AuthExpired.status(), 401);
    }
}
