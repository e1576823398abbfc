//! The TPNS stand-in: Tencent Push Notification Service's `POST
//! /v3/push/app` (`spec/vendors.md` §9) on a loopback HTTPS server.
//!
//! Every answer is HTTP 200 with TPNS's JSON
//! `{"seq","push_id","ret_code","environment","err_msg"}` (§9.2, §9.3),
//! except the scripted [`Reply::Http`] faults. Checked in this order, the
//! first failure answered:
//!
//! 1. Another path or method: HTTP 404, no JSON.
//! 2. Auth (§9.1 option 2): `AccessId` is the registered one, `TimeStamp`
//!    epoch seconds within [`TIMESTAMP_WINDOW_SECS`] of the stand-in's
//!    clock, `Sign` = Base64(HMAC-SHA256(SecretKey, TimeStamp + AccessId +
//!    the raw body)) — else `1008003` (authentication failed). Basic auth
//!    (option 1) with the right AccessId:SecretKey is accepted too.
//! 3. The body is UTF-8 JSON, one object — else `1008001` (parse error).
//! 4. `audience_type` is present and one of §9.2's, `message_type` is
//!    `notify` or `message`, `message` is an object with string `title` and
//!    `content` for `notify` — else `1008002` (missing parameter) or
//!    `1008007` (validation failed). For `token` / `token_list`,
//!    `token_list` is a non-empty array of strings (≤ 1000) — else
//!    `1008002`/`1008007`; a token that is empty or over
//!    [`MAX_TOKEN_CHARS`] chars is `1008006` (invalid token).
//! 5. `message` (its compact JSON) is at most [`MAX_MESSAGE_BYTES`] — else
//!    `1008007` (the code for this is unconfirmed, §9.3); an
//!    `android.custom_content` must be a string holding a JSON object —
//!    else `1008007`.
//!
//! Then the first token's script, if any, is answered (not recorded);
//! otherwise the push is recorded and answered `ret_code` 0 with a fresh
//! `push_id`.
//!
//! TPNS issues no auth token, so there is none to expire; a wrong secret,
//! a stale timestamp and a tampered body all fail the signature check.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};
use tidings_std::clock::SharedClock;

use crate::error::Error;
use crate::kit::record::Accepts;
use crate::kit::shell::{Base, Builder, Standin, Vendor};
use crate::kit::{fresh_id, lock, Scripts};

/// The push path (§9.1).
pub const PUSH_PATH: &str = "/v3/push/app";
/// How far `TimeStamp` may be from the stand-in's clock, seconds. TPNS
/// documents no window; ten minutes is what Tencent's signature APIs
/// commonly allow, and wide enough for real clock skew.
pub const TIMESTAMP_WINDOW_SECS: i64 = 600;
/// Longest device token, chars (§9.2).
pub const MAX_TOKEN_CHARS: usize = 36;
/// Most tokens in `token_list` (§9.2).
pub const MAX_TOKENS: usize = 1000;
/// Largest `message`, bytes (§9.3: 4 KB).
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// `audience_type` values (§9.2).
pub const AUDIENCE_TYPES: [&str; 8] = [
    "all",
    "tag",
    "token",
    "token_list",
    "account",
    "account_list",
    "package_account_push",
    "package_token_push",
];

/// TPNS's answer codes (§9.3), as the stand-in sends them.
pub mod code {
    pub const SUCCESS: i64 = 0;
    pub const PARSE_ERROR: i64 = 1_008_001;
    pub const MISSING_PARAMETER: i64 = 1_008_002;
    pub const AUTH_FAILED: i64 = 1_008_003;
    pub const INTERNAL_ERROR: i64 = 1_008_004;
    pub const INVALID_TOKEN: i64 = 1_008_006;
    pub const VALIDATION_FAILED: i64 = 1_008_007;
    pub const CONTENT_FLAGGED: i64 = 1_008_019;
    pub const FREQUENCY_LIMIT: i64 = 1_008_028;
    pub const TOKEN_INVALID: i64 = 1_008_029;
    pub const UNPAID: i64 = 1_008_030;
    pub const RESOURCE_DESTROYED: i64 = 1_008_031;
    pub const NOT_DEPLOYED: i64 = 1_010_001;
    pub const TARGET_NOT_FOUND: i64 = 10_010_005;
    pub const ILLEGAL_SCHEDULE: i64 = 10_010_012;
    pub const DUPLICATE_PUSH: i64 = 10_010_018;
    pub const ACCESS_MISMATCH: i64 = 10_030_002;

    /// Every code of §9.3 but success, with its `err_msg`.
    pub const ERRORS: [(i64, &str); 16] = [
        (PARSE_ERROR, "parse request failed"),
        (MISSING_PARAMETER, "missing required parameter"),
        (AUTH_FAILED, "authentication failed"),
        (INTERNAL_ERROR, "internal service call failed"),
        (INVALID_TOKEN, "invalid token"),
        (VALIDATION_FAILED, "parameter validation failed"),
        (CONTENT_FLAGGED, "content flagged by content security"),
        (FREQUENCY_LIMIT, "push frequency limit"),
        (TOKEN_INVALID, "token invalid"),
        (UNPAID, "service not paid"),
        (RESOURCE_DESTROYED, "resource destroyed"),
        (NOT_DEPLOYED, "not deployed"),
        (TARGET_NOT_FOUND, "push target does not exist"),
        (ILLEGAL_SCHEDULE, "illegal scheduled time"),
        (DUPLICATE_PUSH, "duplicate push"),
        (ACCESS_MISMATCH, "AccessID and AccessKey do not match"),
    ];
}

/// What the stand-in answers a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// HTTP 200 and this `ret_code` (one of [`code`]'s, or any other).
    Code(i64),
    /// An HTTP error without TPNS's JSON (a gateway in front failing):
    /// `status`, and `Retry-After` when given.
    Http {
        status: u16,
        retry_after: Option<u32>,
    },
    /// HTTP `status` (a 4xx or 5xx) with TPNS's JSON carrying `ret_code`.
    HttpCode { status: u16, ret_code: i64 },
}

impl Reply {
    /// `--reply TOKEN=CODE`: a §9.3 code as digits.
    pub fn from_code(text: &str) -> Option<Reply> {
        let n: i64 = text.parse().ok()?;
        code::ERRORS
            .iter()
            .any(|(c, _)| *c == n)
            .then_some(Reply::Code(n))
    }

    fn into_response(self, seq: i64) -> Response {
        match self {
            Reply::Code(ret_code) => answer(seq, ret_code, None),
            Reply::HttpCode { status, ret_code } => {
                let mut response = answer(seq, ret_code, None);
                *response.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                response
            }
            Reply::Http {
                status,
                retry_after,
            } => {
                let mut response = (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    "stand-in HTTP fault",
                )
                    .into_response();
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
                }
                response
            }
        }
    }
}

/// TPNS's answer body (§9.2).
fn answer(seq: i64, ret_code: i64, push_id: Option<&str>) -> Response {
    let err_msg = code::ERRORS
        .iter()
        .find(|(c, _)| *c == ret_code)
        .map_or("", |(_, m)| m);
    let body = json!({
        "seq": seq,
        "push_id": push_id.unwrap_or(""),
        "ret_code": ret_code,
        "environment": "product",
        "err_msg": err_msg,
    });
    (
        StatusCode::OK,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// One accepted push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedPush {
    pub push_id: String,
    /// `token_list`.
    pub tokens: Vec<String>,
    /// How it was authenticated: `sign` or `basic`.
    pub auth: &'static str,
    pub body: Bytes,
}

impl AcceptedPush {
    pub fn payload(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    /// Push requests received.
    pub requests: u64,
    /// Requests refused with `1008003`.
    pub auth_failures: u64,
    /// Answers by `ret_code` (HTTP faults not counted).
    pub answers: BTreeMap<i64, u64>,
}

impl Stats {
    pub fn answered(&self, ret_code: i64) -> u64 {
        self.answers.get(&ret_code).copied().unwrap_or(0)
    }
}

/// The running TPNS stand-in's state.
pub struct Shared {
    access_id: String,
    secret_key: String,
    clock: SharedClock,
    scripts: Arc<Scripts<Reply>>,
    accepted: Arc<Accepts<AcceptedPush>>,
    answers: Mutex<BTreeMap<i64, u64>>,
    requests: AtomicU64,
    auth_failures: AtomicU64,
    next_push_id: AtomicU64,
}

/// What passed the checks.
struct Checked {
    seq: i64,
    tokens: Vec<String>,
    auth: &'static str,
}

impl Shared {
    fn authenticate(&self, headers: &HeaderMap, body: &[u8]) -> Option<&'static str> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let (Some(access_id), Some(timestamp), Some(sign)) =
            (header("AccessId"), header("TimeStamp"), header("Sign"))
        {
            if access_id != self.access_id {
                return None;
            }
            let ts: i64 = timestamp.parse().ok()?;
            if (ts - self.clock.unix_seconds()).abs() > TIMESTAMP_WINDOW_SECS {
                return None;
            }
            let given = STANDARD.decode(sign).ok()?;
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.secret_key.as_bytes()).ok()?;
            mac.update(timestamp.as_bytes());
            mac.update(access_id.as_bytes());
            mac.update(body);
            return mac.verify_slice(&given).ok().map(|()| "sign");
        }
        let basic = header("Authorization")?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        (id == self.access_id && secret == self.secret_key).then_some("basic")
    }

    fn check(&self, headers: &HeaderMap, body: &[u8]) -> Result<Checked, (i64, i64)> {
        let Some(auth) = self.authenticate(headers, body) else {
            self.auth_failures.fetch_add(1, Ordering::Relaxed);
            return Err((0, code::AUTH_FAILED));
        };
        let request: Value = std::str::from_utf8(body)
            .ok()
            .and_then(|text| serde_json::from_str(text).ok())
            .filter(Value::is_object)
            .ok_or((0, code::PARSE_ERROR))?;
        let seq = request.get("seq").and_then(Value::as_i64).unwrap_or(0);
        let fail = |c: i64| (seq, c);
        let audience = request
            .get("audience_type")
            .and_then(Value::as_str)
            .ok_or(fail(code::MISSING_PARAMETER))?;
        if !AUDIENCE_TYPES.contains(&audience) {
            return Err(fail(code::VALIDATION_FAILED));
        }
        let message_type = request
            .get("message_type")
            .and_then(Value::as_str)
            .unwrap_or("notify");
        if !matches!(message_type, "notify" | "message") {
            return Err(fail(code::VALIDATION_FAILED));
        }
        let message = request
            .get("message")
            .ok_or(fail(code::MISSING_PARAMETER))?
            .as_object()
            .ok_or(fail(code::VALIDATION_FAILED))?;
        if message_type == "notify" {
            for field in ["title", "content"] {
                match message.get(field) {
                    None => return Err(fail(code::MISSING_PARAMETER)),
                    Some(v) if !v.is_string() => return Err(fail(code::VALIDATION_FAILED)),
                    Some(_) => {}
                }
            }
        }
        let mut tokens = Vec::new();
        if matches!(audience, "token" | "token_list") {
            let list = request
                .get("token_list")
                .ok_or(fail(code::MISSING_PARAMETER))?
                .as_array()
                .ok_or(fail(code::VALIDATION_FAILED))?;
            if list.is_empty() || list.len() > MAX_TOKENS {
                return Err(fail(code::VALIDATION_FAILED));
            }
            for token in list {
                let token = token.as_str().ok_or(fail(code::VALIDATION_FAILED))?;
                if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS {
                    return Err(fail(code::INVALID_TOKEN));
                }
                tokens.push(token.to_owned());
            }
            if audience == "token" {
                tokens.truncate(1);
            }
        }
        let message_value = request.get("message").cloned().unwrap_or_default();
        if message_value.to_string().len() > MAX_MESSAGE_BYTES {
            return Err(fail(code::VALIDATION_FAILED));
        }
        if let Some(custom) = message.get("android").and_then(|a| a.get("custom_content")) {
            let object = custom
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .is_some_and(|v| v.is_object());
            if !object {
                return Err(fail(code::VALIDATION_FAILED));
            }
        }
        Ok(Checked { seq, tokens, auth })
    }

    fn take_script(&self, token: &str) -> Option<Reply> {
        self.scripts.take(token)
    }

    fn count(&self, ret_code: i64) {
        *lock(&self.answers).entry(ret_code).or_insert(0) += 1;
    }

    fn push(&self, headers: &HeaderMap, body: Bytes) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let checked = match self.check(headers, &body) {
            Ok(checked) => checked,
            Err((seq, ret_code)) => {
                self.count(ret_code);
                return answer(seq, ret_code, None);
            }
        };
        let script = checked
            .tokens
            .first()
            .and_then(|token| self.take_script(token));
        if let Some(reply) = script {
            if let Reply::Code(ret_code) = reply {
                self.count(ret_code);
            }
            return reply.into_response(checked.seq);
        }
        let push_id = self
            .next_push_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let accepted = AcceptedPush {
            push_id: push_id.clone(),
            tokens: checked.tokens,
            auth: checked.auth,
            body,
        };
        self.accepted.push(accepted, |accepted| {
            json!({
                "push_id": accepted.push_id,
                "tokens": accepted.tokens,
                "auth": accepted.auth,
                "payload": accepted.payload().unwrap_or(Value::Null),
            })
        });
        self.count(code::SUCCESS);
        answer(checked.seq, code::SUCCESS, Some(&push_id))
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST || uri.path() != PUSH_PATH {
        return StatusCode::NOT_FOUND.into_response();
    }
    shared.push(&headers, body)
}

/// A running TPNS stand-in.
pub type TpnsStandin = Standin<Tpns>;
/// Configures a TPNS stand-in; [`Builder::start`] runs it.
pub type TpnsStandinBuilder = Builder<Tpns>;

/// The TPNS stand-in's settings: the app's AccessId and SecretKey
/// (default: `1500000001` and a fresh random secret).
#[derive(Debug)]
pub struct Tpns {
    access_id: String,
    secret_key: String,
}

impl Builder<Tpns> {
    /// The app's AccessId and SecretKey (default: `1500000001` and a fresh
    /// random secret).
    pub fn credentials(mut self, access_id: &str, secret_key: &str) -> Self {
        self.vendor.access_id = access_id.to_owned();
        self.vendor.secret_key = secret_key.to_owned();
        self
    }
}

impl Standin<Tpns> {
    pub fn access_id(&self) -> &str {
        &self.state().access_id
    }

    /// The SecretKey pushes must be signed with (a test credential).
    pub fn secret_key(&self) -> &str {
        &self.state().secret_key
    }
}

impl Vendor for Tpns {
    type Reply = Reply;
    type State = Shared;
    type Accepted = AcceptedPush;
    type Stats = Stats;
    const NAME: &'static str = "TPNS";

    fn defaults() -> Self {
        Self {
            access_id: "1500000001".to_owned(),
            secret_key: fresh_id(),
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        let shared = Arc::new(Shared {
            access_id: self.access_id,
            secret_key: self.secret_key,
            accepted: base.accepted,
            clock: base.clock,
            scripts: base.scripts,
            answers: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            next_push_id: AtomicU64::new(3_895_624_686),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        Ok((shared, router))
    }

    fn stats(state: &Shared, connections: u64) -> Stats {
        Stats {
            connections,
            requests: state.requests.load(Ordering::Relaxed),
            auth_failures: state.auth_failures.load(Ordering::Relaxed),
            answers: lock(&state.answers).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_code_knows_every_documented_error() {
        for (c, _) in code::ERRORS {
            assert_eq!(Reply::from_code(&c.to_string()), Some(Reply::Code(c)));
        }
        assert_eq!(Reply::from_code("0"), None);
        assert_eq!(Reply::from_code("invalid"), None);
    }

    fn shared(clock: SharedClock) -> Shared {
        Shared {
            access_id: "1500000001".into(),
            secret_key: "secret".into(),
            clock,
            scripts: Arc::default(),
            accepted: Arc::default(),
            answers: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            next_push_id: AtomicU64::new(1),
        }
    }

    fn signed(s: &Shared, ts: i64, body: &[u8]) -> HeaderMap {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(s.secret_key.as_bytes()).unwrap();
        mac.update(ts.to_string().as_bytes());
        mac.update(s.access_id.as_bytes());
        mac.update(body);
        let mut h = HeaderMap::new();
        h.insert("AccessId", s.access_id.parse().unwrap());
        h.insert("TimeStamp", ts.to_string().parse().unwrap());
        h.insert(
            "Sign",
            STANDARD
                .encode(mac.finalize().into_bytes())
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn validation_codes() {
        let clock = tidings_std::clock::ManualClock::at(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_236_000),
        );
        let s = shared(Arc::new(clock));
        let now = 1_795_236_000;
        let check = |body: &str| {
            s.check(&signed(&s, now, body.as_bytes()), body.as_bytes())
                .map(|c| c.tokens)
                .map_err(|e| e.1)
        };
        let ok = r#"{"audience_type":"token","token_list":["t1"],"message_type":"notify","message":{"title":"a","content":"b"}}"#;
        assert_eq!(check(ok), Ok(vec!["t1".to_owned()]));
        assert_eq!(check("not json"), Err(code::PARSE_ERROR));
        assert_eq!(check(r#"{"message":{}}"#), Err(code::MISSING_PARAMETER));
        assert_eq!(
            check(r#"{"audience_type":"x","message":{}}"#),
            Err(code::VALIDATION_FAILED)
        );
        assert_eq!(
            check(r#"{"audience_type":"token","token_list":["t"],"message":{"title":"a"}}"#),
            Err(code::MISSING_PARAMETER)
        );
        let long = format!(
            r#"{{"audience_type":"token","token_list":["{}"],"message":{{"title":"a","content":"b"}}}}"#,
            "x".repeat(37)
        );
        assert_eq!(check(&long), Err(code::INVALID_TOKEN));
        let big = format!(
            r#"{{"audience_type":"token","token_list":["t"],"message":{{"title":"a","content":"{}"}}}}"#,
            "x".repeat(4096)
        );
        assert_eq!(check(&big), Err(code::VALIDATION_FAILED));
        let custom = r#"{"audience_type":"token","token_list":["t"],"message":{"title":"a","content":"b","android":{"custom_content":"[1]"}}}"#;
        assert_eq!(check(custom), Err(code::VALIDATION_FAILED));

        // Auth: a stale timestamp, a tampered body, a wrong AccessId.
        let stale = signed(&s, now - TIMESTAMP_WINDOW_SECS - 1, ok.as_bytes());
        assert_eq!(
            s.check(&stale, ok.as_bytes()).map(|_| ()).unwrap_err().1,
            code::AUTH_FAILED
        );
        let headers = signed(&s, now, ok.as_bytes());
        let tampered = ok.replace("\"b\"", "\"c\"");
        assert_eq!(
            s.check(&headers, tampered.as_bytes())
                .map(|_| ())
                .unwrap_err()
                .1,
            code::AUTH_FAILED
        );
        let mut other = headers.clone();
        other.insert("AccessId", "1500000002".parse().unwrap());
        assert_eq!(
            s.check(&other, ok.as_bytes()).map(|_| ()).unwrap_err().1,
            code::AUTH_FAILED
        );
        // Basic auth with the right pair.
        let mut basic = HeaderMap::new();
        basic.insert(
            "Authorization",
            format!("Basic {}", STANDARD.encode("1500000001:secret"))
                .parse()
                .unwrap(),
        );
        assert_eq!(s.check(&basic, ok.as_bytes()).map(|c| c.auth), Ok("basic"));
        assert_eq!(s.auth_failures.load(Ordering::Relaxed), 3);
    }
}
