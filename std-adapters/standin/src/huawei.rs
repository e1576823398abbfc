//! The Huawei Push Kit stand-in (`spec/vendors.md` §3) on loopback: the
//! OAuth token endpoint and `POST /v1/<appId>/messages:send`, over TLS.
//!
//! It is also the kit of the Huawei family: Honor's API was split from
//! Huawei's, and [`crate::honor`] is this stand-in with Honor's
//! differences given as a [`Dialect`] (paths, the OAuth client, the error
//! bodies, its own body checks and answer envelope). The token endpoint,
//! the bearer check, the token list, the body limit and the record are
//! written once, here.
//!
//! # Token endpoint (`POST /oauth2/v3/token`, §3.1)
//!
//! A form `grant_type=client_credentials&client_id&client_secret` naming
//! the stand-in's app is answered `{"access_token", "expires_in",
//! "token_type": "Bearer"}` (lifetime [`TOKEN_LIFETIME`] on the stand-in's
//! clock, or as set); anything else is a 400 (bad request) or 401 (wrong
//! client) `{"error": <number>, "error_description": "..."}`. Huawei's own
//! OAuth error numbers are not in vendors.md: the stand-in's are
//! [`OAUTH_ERROR_INVALID_REQUEST`] and [`OAUTH_ERROR_INVALID_CLIENT`].
//!
//! # Send: checks, in order
//!
//! 1. The path's app id is the stand-in's — else 401 `80200001`.
//! 2. `Authorization: Bearer <token>` with exactly one space, a token this
//!    stand-in issued — else 401 `80200001`; an issued token past its
//!    lifetime (or expired with [`HuaweiStandin::expire_tokens`]) is 401
//!    `80200003`.
//! 3. `Content-Type: application/json` — else 400 `80100001`.
//! 4. The body minus its `token` array is at most [`MAX_BODY`] bytes — else
//!    400 `80300008` (§3.4: the limit excludes tokens; the stand-in
//!    subtracts each token's JSON string and separator).
//! 5. The body is `{"message": {...}}` with `data` a string when present —
//!    else 400 `80100003`.
//! 6. `message.token` is an array of 1–1000 non-empty strings — else 400
//!    `80300010` (a `topic` or `condition` instead is 400 `80100001`: the
//!    core renders tokens only).
//! 7. `android`: `urgency` `HIGH`/`NORMAL`, `ttl` a duration string
//!    (`\d+(\.\d{1,9})?s?`), `collapse_key` −1…100 (`80100013`), and
//!    `android.notification` (or `message.notification`) with a non-empty
//!    `title` and `body`; `click_action.type` 1–4 (1 needs `intent` or
//!    `action`); `image` https — else 400 `80100001`/`80100003`.
//!    `importance` `LOW`/`NORMAL`, or `HIGH` only when
//!    [`HuaweiStandinBuilder::allow_high_importance`] — else 400
//!    `80300011`.
//!
//! A request that passes is matched against the per-token scripts: a token
//! scripted [`Reply::InvalidToken`] is illegal; when every token is, the
//! answer is 400 `80300007`; when some are, 200 `80100000` with `msg` the
//! JSON `{"success":n,"failure":m,"illegal_tokens":[...]}` and the push is
//! recorded; any other scripted reply answers the whole request (the first
//! scripted token's). Otherwise the push is recorded and answered 200
//! `{"code":"80000000","msg":"Success","requestId":...}`.
//!
//! HTTP statuses beside the codes are the stand-in's choice (vendors.md
//! gives codes only): 200 for 8000/80100000, 401 for 8020xxxx, 403 for
//! 80300002, 500 for 80600003/81000001, 400 for the rest.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::error::Error;
use crate::kit::shell::{Base, Builder, Issuing, Standin, TokenVendor, Vendor};
use crate::kit::token::{token_answer, TokenEndpoint};
pub use crate::kit::TokenFault;
use crate::kit::{fresh_id, Accepted, Stats, TokenState};

/// Token path (vendors.md §3.1).
pub const TOKEN_PATH: &str = "/oauth2/v3/token";
/// An access token lives an hour (vendors.md §3.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Body limit excluding tokens (vendors.md §3.4).
pub const MAX_BODY: usize = 4096;
/// Most tokens in one request (vendors.md §3.4).
pub const MAX_TOKENS: usize = 1000;
/// The stand-in's OAuth error numbers (Huawei's are not in vendors.md).
pub const OAUTH_ERROR_INVALID_REQUEST: u32 = 1102;
pub const OAUTH_ERROR_INVALID_CLIENT: u32 = 1101;

/// Huawei's answers (vendors.md §3.4) the stand-in gives or can be
/// scripted to give for a device token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 80300007 (all tokens) or a listed illegal token of 80100000.
    InvalidToken,
    /// 80100001 parameter check error.
    ParameterError,
    /// 80100003 message structure error.
    MessageStructureError,
    /// 80100013 illegal `collapse_key`.
    IllegalCollapseKey,
    /// 80100016 sensitive content.
    SensitiveContent,
    /// 80100017 too many concurrent topic messages.
    TopicFlowControl,
    /// 80200001 OAuth authentication error.
    AuthError,
    /// 80200003 OAuth token expired.
    AuthExpired,
    /// 80300002 app forbidden to send.
    AppForbidden,
    /// 80300008 body over 4 KB.
    BodyTooLarge,
    /// 80300010 token count out of range.
    TokenCountOutOfRange,
    /// 80300011 no permission for HIGH importance.
    HighImportanceForbidden,
    /// 80600003 OAuth service request failed.
    OAuthServiceFailed,
    /// 81000001 internal error.
    InternalError,
    /// HTTP 503 flow control (no Huawei body); `retry_after` adds the header.
    FlowControl { retry_after: Option<u32> },
    /// HTTP 502 connection error (no Huawei body).
    BadGateway,
    /// Any status and code, for a client's unknown-code path.
    Other { status: u16, code: String },
}

impl Reply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Reply::AuthError | Reply::AuthExpired => 401,
            Reply::AppForbidden => 403,
            Reply::OAuthServiceFailed | Reply::InternalError => 500,
            Reply::FlowControl { .. } => 503,
            Reply::BadGateway => 502,
            Reply::Other { status, .. } => *status,
            _ => 400,
        }
    }

    /// Huawei's result code (`None`: an HTTP-only answer).
    pub fn code(&self) -> Option<&str> {
        Some(match self {
            Reply::InvalidToken => "80300007",
            Reply::ParameterError => "80100001",
            Reply::MessageStructureError => "80100003",
            Reply::IllegalCollapseKey => "80100013",
            Reply::SensitiveContent => "80100016",
            Reply::TopicFlowControl => "80100017",
            Reply::AuthError => "80200001",
            Reply::AuthExpired => "80200003",
            Reply::AppForbidden => "80300002",
            Reply::BodyTooLarge => "80300008",
            Reply::TokenCountOutOfRange => "80300010",
            Reply::HighImportanceForbidden => "80300011",
            Reply::OAuthServiceFailed => "80600003",
            Reply::InternalError => "81000001",
            Reply::Other { code, .. } => code,
            Reply::FlowControl { .. } | Reply::BadGateway => return None,
        })
    }

    /// The reply for a Huawei code (`80300007`) or an HTTP-only status
    /// (`503`, `502`), for `tidings standin huawei --reply TOKEN=CODE`.
    pub fn from_code(code: &str) -> Option<Reply> {
        let all = [
            Reply::InvalidToken,
            Reply::ParameterError,
            Reply::MessageStructureError,
            Reply::IllegalCollapseKey,
            Reply::SensitiveContent,
            Reply::TopicFlowControl,
            Reply::AuthError,
            Reply::AuthExpired,
            Reply::AppForbidden,
            Reply::BodyTooLarge,
            Reply::TokenCountOutOfRange,
            Reply::HighImportanceForbidden,
            Reply::OAuthServiceFailed,
            Reply::InternalError,
        ];
        match code {
            "503" => Some(Reply::FlowControl { retry_after: None }),
            "502" => Some(Reply::BadGateway),
            _ => all.into_iter().find(|r| r.code() == Some(code)),
        }
    }
}

fn answer(status: StatusCode, code: &str, msg: &str) -> Response {
    let body = serde_json::json!({ "code": code, "msg": msg, "requestId": fresh_id() });
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A running Huawei stand-in.
pub type HuaweiStandin = Standin<Family<Huawei>>;
/// Configures a Huawei stand-in; [`Builder::start`] runs it.
pub type HuaweiStandinBuilder = Builder<Family<Huawei>>;

/// Huawei's data and checks in the family.
#[derive(Debug)]
pub struct Huawei;

impl Dialect for Huawei {
    type Reply = Reply;
    const NAME: &'static str = "Huawei";
    const TOKEN_PATH: &'static str = TOKEN_PATH;
    const SEND_ROUTE: &'static str = "/v1/{app_id}/{action}";
    const SEND_ACTION: &'static str = "messages:send";
    const CHARSET_REQUIRED: bool = false;

    fn refusal(refusal: Refusal) -> Reply {
        match refusal {
            Refusal::Auth => Reply::AuthError,
            Refusal::AuthExpired => Reply::AuthExpired,
            Refusal::Parameter => Reply::ParameterError,
            Refusal::Structure => Reply::MessageStructureError,
            Refusal::TokenCount => Reply::TokenCountOutOfRange,
            Refusal::BadToken => Reply::InvalidToken,
            Refusal::TooLarge => Reply::BodyTooLarge,
        }
    }

    fn token_refusal(error: &'static str) -> Value {
        let number = if error == "invalid_client" {
            OAUTH_ERROR_INVALID_CLIENT
        } else {
            OAUTH_ERROR_INVALID_REQUEST
        };
        serde_json::json!({ "error": number, "error_description": error })
    }

    /// Steps 3–7 of the module doc.
    fn check(s: &Shared<Self>, headers: &HeaderMap, body: &[u8]) -> Result<Checked, Reply> {
        let doc = json_document::<Self>(headers, body)?;
        let message = doc
            .get("message")
            .and_then(Value::as_object)
            .ok_or(Reply::MessageStructureError)?;
        let tokens = check_tokens::<Self>(message.get("token"))?;
        if message.contains_key("topic") || message.contains_key("condition") {
            return Err(Reply::ParameterError);
        }
        check_size::<Self>(body, &tokens)?;
        if message.get("data").is_some_and(|d| !d.is_string()) {
            return Err(Reply::MessageStructureError);
        }
        let android = match message.get("android") {
            None => None,
            Some(Value::Object(a)) => Some(a),
            Some(_) => return Err(Reply::MessageStructureError),
        };
        let note = android.and_then(|a| a.get("notification"));
        check_title_and_body::<Self>(note, message.get("notification"))?;
        if let Some(a) = android {
            check_android(a, s.high_importance)?;
        }
        Ok(Checked {
            tokens,
            timestamp_ms: None,
        })
    }

    fn outcome(s: &Shared<Self>, app_id: String, checked: Checked, body: Bytes) -> Answer {
        let tokens = checked.tokens;
        let mut illegal = Vec::new();
        let mut other = None;
        for token in &tokens {
            match s.core.scripts.take(token) {
                Some(Reply::InvalidToken) => illegal.push(token.clone()),
                Some(reply) if other.is_none() => other = Some(reply),
                _ => {}
            }
        }
        if let Some(reply) = other {
            return Self::refuse(&reply);
        }
        if illegal.len() == tokens.len() {
            return Self::refuse(&Reply::InvalidToken);
        }
        let (code, msg) = if illegal.is_empty() {
            ("80000000", "Success".to_owned())
        } else {
            let msg = serde_json::json!({
                "success": tokens.len() - illegal.len(),
                "failure": illegal.len(),
                "illegal_tokens": illegal,
            });
            ("80100000", msg.to_string())
        };
        s.core.recorder.accept(Accepted {
            app_id,
            tokens,
            invalid_tokens: illegal,
            timestamp_ms: None,
            body,
        });
        Answer::new(answer(StatusCode::OK, code, &msg), 200, code.into())
    }

    fn refuse(reply: &Reply) -> Answer {
        let retry_after = match reply {
            Reply::FlowControl { retry_after } => *retry_after,
            _ => None,
        };
        let code = reply.code().map(str::to_owned);
        refuse_with(reply.status(), code, retry_after, |status, code| {
            answer(status, code, &format!("stand-in: {code}"))
        })
    }
}

impl Builder<Family<Huawei>> {
    /// The app (its id is also the OAuth client id, §3.1) and its secret.
    pub fn app(self, app_id: &str, client_secret: &str) -> Self {
        self.credentials(app_id, None, client_secret)
    }

    /// The app holds the permission for `importance: HIGH` (80300011 otherwise).
    pub fn allow_high_importance(mut self) -> Self {
        self.vendor.high_importance = true;
        self
    }
}

// ---------------------------------------------------------------- the family

/// Why a request of the family is refused, in the terms both dialects
/// share; each names it with its own [`Dialect::Reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 80200001: wrong app, no bearer, or a token never issued.
    Auth,
    /// 80200003: an issued token past its lifetime.
    AuthExpired,
    /// 80100001.
    Parameter,
    /// 80100003.
    Structure,
    /// 80300010: not 1–[`MAX_TOKENS`] tokens.
    TokenCount,
    /// A token that is not a non-empty string.
    BadToken,
    /// 80300008: over [`MAX_BODY`] without the tokens.
    TooLarge,
}

/// A provider of the Huawei family: its data (paths, names, error bodies)
/// and what it checks and answers on its own.
pub trait Dialect: Sized + Send + Sync + 'static {
    type Reply: Clone + Send + Sync + 'static;
    const NAME: &'static str;
    const TOKEN_PATH: &'static str;
    /// The send route (with `{app_id}` and `{action}`) and its one action.
    const SEND_ROUTE: &'static str;
    const SEND_ACTION: &'static str;
    /// Whether the send's `Content-Type` must name `charset=UTF-8` (Honor,
    /// vendors.md §4.1) beside `application/json`.
    const CHARSET_REQUIRED: bool;

    fn refusal(refusal: Refusal) -> Self::Reply;
    /// The token endpoint's error body for an RFC 6749 §5.2 error name.
    fn token_refusal(error: &'static str) -> Value;
    /// The checks after the app id and the bearer token.
    fn check(s: &Shared<Self>, headers: &HeaderMap, body: &[u8]) -> Result<Checked, Self::Reply>;
    /// A passing request's answer: scripts applied, the push recorded.
    fn outcome(s: &Shared<Self>, app_id: String, checked: Checked, body: Bytes) -> Answer;
    fn refuse(reply: &Self::Reply) -> Answer;
}

/// What a passing request addressed.
#[derive(Debug)]
pub struct Checked {
    pub(crate) tokens: Vec<String>,
    /// Honor's `timestamp` header.
    pub(crate) timestamp_ms: Option<u64>,
}

/// An answer and what it counts as (HTTP status, vendor code).
#[derive(Debug)]
pub struct Answer {
    response: Response,
    status: u16,
    code: String,
}

impl Answer {
    pub(crate) fn new(response: Response, status: u16, code: String) -> Self {
        Self {
            response,
            status,
            code,
        }
    }
}

/// A family stand-in's settings.
#[derive(Debug)]
pub struct Family<D> {
    app_id: String,
    /// `None`: the app id is the OAuth client id (Huawei).
    client_id: Option<String>,
    client_secret: String,
    token_lifetime: Duration,
    high_importance: bool,
    dialect: PhantomData<D>,
}

impl<D: Dialect> Builder<Family<D>> {
    /// How long issued access tokens live (default an hour).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.vendor.token_lifetime = lifetime;
        self
    }

    /// The app id, the OAuth client id when it is not the app id (Honor),
    /// and the client secret.
    pub(crate) fn credentials(
        mut self,
        app_id: &str,
        client_id: Option<&str>,
        client_secret: &str,
    ) -> Self {
        self.vendor.app_id = app_id.to_owned();
        self.vendor.client_id = client_id.map(str::to_owned);
        self.vendor.client_secret = client_secret.to_owned();
        self
    }
}

/// A running family stand-in's state.
pub struct Shared<D: Dialect> {
    app_id: String,
    client_id: String,
    client_secret: String,
    high_importance: bool,
    pub(crate) core: Issuing<D::Reply>,
}

impl<D: Dialect> Vendor for Family<D> {
    type Reply = D::Reply;
    type State = Shared<D>;
    type Accepted = Accepted;
    type Stats = Stats;
    const NAME: &'static str = D::NAME;

    fn defaults() -> Self {
        Self {
            app_id: String::new(),
            client_id: None,
            client_secret: String::new(),
            token_lifetime: TOKEN_LIFETIME,
            high_importance: false,
            dialect: PhantomData,
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared<D>>, axum::Router), Error> {
        // Huawei's OAuth client is its app; Honor names a client of its own.
        let (client_id, needs) = match self.client_id {
            None => (self.app_id.clone(), "an app id and a secret"),
            Some(id) => (id, "an app id, a client id and a secret"),
        };
        if self.app_id.is_empty() || client_id.is_empty() || self.client_secret.is_empty() {
            return Err(Error::Config(format!(
                "the {} stand-in needs {needs}",
                D::NAME
            )));
        }
        let state = Arc::new(Shared {
            app_id: self.app_id,
            client_id,
            client_secret: self.client_secret,
            high_importance: self.high_importance,
            core: Issuing::new(base, self.token_lifetime),
        });
        let router = axum::Router::new()
            .route(D::TOKEN_PATH, axum::routing::post(token::<D>))
            .route(D::SEND_ROUTE, axum::routing::post(send::<D>))
            .with_state(state.clone());
        Ok((state, router))
    }

    fn stats(state: &Shared<D>, _connections: u64) -> Stats {
        state.core.stats()
    }
}

impl<D: Dialect> TokenVendor for Family<D> {
    const TOKEN_PATH: &'static str = D::TOKEN_PATH;

    fn token_endpoint(state: &Shared<D>) -> &TokenEndpoint {
        &state.core.token_endpoint
    }

    fn expire_tokens(state: &Shared<D>) {
        state.core.tokens.expire_all();
    }
}

async fn token<D: Dialect>(
    State(s): State<Arc<Shared<D>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = s.core.token_endpoint.fault().await {
        return fault;
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let client = (s.client_id.as_str(), s.client_secret.as_str());
    token_answer(
        content_type,
        &body,
        client,
        &s.core.tokens,
        &s.core.recorder,
        D::token_refusal,
    )
}

async fn send<D: Dialect>(
    State(s): State<Arc<Shared<D>>>,
    Path((app_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action != D::SEND_ACTION {
        return StatusCode::NOT_FOUND.into_response();
    }
    s.core.recorder.request();
    let checked = authorize(&s, &app_id, &headers).and_then(|()| D::check(&s, &headers, &body));
    let answer = match checked {
        Err(reply) => D::refuse(&reply),
        Ok(checked) => D::outcome(&s, app_id, checked, body),
    };
    s.core.recorder.answer(answer.status, &answer.code);
    answer.response
}

/// Steps 1–2: the path's app id, then `Authorization: Bearer <token>`
/// (exactly one space) with a token this stand-in issued and still valid.
fn authorize<D: Dialect>(s: &Shared<D>, app_id: &str, headers: &HeaderMap) -> Result<(), D::Reply> {
    if app_id != s.app_id {
        return Err(D::refusal(Refusal::Auth));
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(D::refusal(Refusal::Auth))?;
    match s.core.tokens.check(bearer) {
        TokenState::Valid => Ok(()),
        TokenState::Expired => Err(D::refusal(Refusal::AuthExpired)),
        TokenState::Unknown => Err(D::refusal(Refusal::Auth)),
    }
}

/// `Content-Type: application/json` (with `charset=UTF-8` where the
/// dialect requires it; else 80100001) and a JSON body (else 80100003).
pub(crate) fn json_document<D: Dialect>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, D::Reply> {
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| {
            c.starts_with("application/json")
                && (!D::CHARSET_REQUIRED || c.to_ascii_lowercase().contains("charset=utf-8"))
        });
    if !json_type {
        return Err(D::refusal(Refusal::Parameter));
    }
    serde_json::from_slice(body).map_err(|_| D::refusal(Refusal::Structure))
}

/// The token list: present (80100001), an array (80100003) of
/// 1–[`MAX_TOKENS`] (80300010) non-empty strings.
pub(crate) fn check_tokens<D: Dialect>(value: Option<&Value>) -> Result<Vec<String>, D::Reply> {
    let items = value
        .ok_or(D::refusal(Refusal::Parameter))?
        .as_array()
        .ok_or(D::refusal(Refusal::Structure))?;
    if items.is_empty() || items.len() > MAX_TOKENS {
        return Err(D::refusal(Refusal::TokenCount));
    }
    items
        .iter()
        .map(|t| {
            t.as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or(D::refusal(Refusal::BadToken))
        })
        .collect()
}

/// The body minus each token's JSON string and separator is at most
/// [`MAX_BODY`] bytes (§3.4: the limit excludes tokens).
pub(crate) fn check_size<D: Dialect>(body: &[u8], tokens: &[String]) -> Result<(), D::Reply> {
    let token_bytes: usize = tokens
        .iter()
        .map(|t| serde_json::to_string(t).map_or(0, |j| j.len() + 1))
        .sum();
    if body.len().saturating_sub(token_bytes) > MAX_BODY {
        return Err(D::refusal(Refusal::TooLarge));
    }
    Ok(())
}

/// A non-empty `title` and `body` in `android.notification` or the
/// top-level `notification` (80100003).
pub(crate) fn check_title_and_body<D: Dialect>(
    note: Option<&Value>,
    top: Option<&Value>,
) -> Result<(), D::Reply> {
    for field in ["title", "body"] {
        let given = |n: Option<&Value>| {
            n.and_then(|n| n.get(field))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        };
        if !given(note) && !given(top) {
            return Err(D::refusal(Refusal::Structure));
        }
    }
    Ok(())
}

/// A refusal's answer: the vendor's error body (`body`) when it has a code,
/// else an HTTP-only answer with `Retry-After` when given.
pub(crate) fn refuse_with(
    status: u16,
    code: Option<String>,
    retry_after: Option<u32>,
    body: impl FnOnce(StatusCode, &str) -> Response,
) -> Answer {
    let http = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let response = match &code {
        Some(code) => body(http, code),
        None => http_only(http, retry_after),
    };
    Answer::new(response, status, code.unwrap_or_default())
}

/// An HTTP-only answer (no vendor body), with `Retry-After` when given.
fn http_only(status: StatusCode, retry_after: Option<u32>) -> Response {
    let mut response = status.into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

// ---------------------------------------------------------------- Huawei's checks

/// `\d+(\.\d{1,9})?s?` (vendors.md §3.3).
pub fn is_duration(text: &str) -> bool {
    let text = text.strip_suffix('s').unwrap_or(text);
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(|f| digits(f) && f.len() <= 9)
}

fn check_android(a: &serde_json::Map<String, Value>, high_importance: bool) -> Result<(), Reply> {
    let text = |v: Option<&Value>| -> Result<Option<String>, Reply> {
        match v {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Reply::MessageStructureError),
        }
    };
    if let Some(u) = text(a.get("urgency"))? {
        if u != "HIGH" && u != "NORMAL" {
            return Err(Reply::ParameterError);
        }
    }
    if let Some(ttl) = text(a.get("ttl"))? {
        if !is_duration(&ttl) {
            return Err(Reply::ParameterError);
        }
    }
    if a.get("data").is_some_and(|d| !d.is_string()) {
        return Err(Reply::MessageStructureError);
    }
    if let Some(key) = a.get("collapse_key") {
        if !key.as_i64().is_some_and(|k| (-1..=100).contains(&k)) {
            return Err(Reply::IllegalCollapseKey);
        }
    }
    let Some(note) = a.get("notification") else {
        return Ok(());
    };
    let note = note.as_object().ok_or(Reply::MessageStructureError)?;
    match text(note.get("importance"))?.as_deref() {
        None | Some("LOW" | "NORMAL") => {}
        Some("HIGH") if high_importance => {}
        Some("HIGH") => return Err(Reply::HighImportanceForbidden),
        Some(_) => return Err(Reply::ParameterError),
    }
    if let Some(image) = text(note.get("image"))? {
        if !image.starts_with("https://") {
            return Err(Reply::ParameterError);
        }
    }
    if note.get("default_sound") == Some(&Value::Bool(false)) && !note.contains_key("sound") {
        return Err(Reply::ParameterError);
    }
    if let Some(click) = note.get("click_action") {
        let kind = click.get("type").and_then(Value::as_u64);
        let has = |k: &str| {
            click
                .get(k)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        match kind {
            Some(1) if has("intent") || has("action") => {}
            Some(2) if has("url") => {}
            Some(3) => {}
            Some(4) if has("rich_resource") => {}
            _ => return Err(Reply::MessageStructureError),
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
            "80300007", "80100001", "80100003", "80100013", "80100016", "80100017", "80200001",
            "80200003", "80300002", "80300008", "80300010", "80300011", "80600003", "81000001",
        ] {
            assert_eq!(
                Reply::from_code(code)
                    .and_then(|r| r.code().map(str::to_owned))
                    .as_deref(),
                Some(code)
            );
        }
        assert_eq!(Reply::from_code("503").map(|r| r.status()), Some(503));
        assert_eq!(Reply::from_code("nope"), None);
        assert_eq!(Reply::AuthExpired.status(), 401);
        assert_eq!(Reply::InternalError.status(), 500);
    }

    #[tokio::test]
    async fn a_missing_credential_is_named() {
        let err = HuaweiStandin::builder().app("1", "").start().await;
        let err = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("Huawei stand-in needs an app id and a secret"),
            "{err}"
        );
        let err = crate::honor::HonorStandin::builder()
            .app("1", "", "s")
            .start()
            .await;
        let err = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("a client id"), "{err}");
    }

    #[test]
    fn durations() {
        for ok in ["86400s", "86400", "1.5s", "0.123456789s"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "s", "1.s", "1.1234567890s", "-1s", "1m"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }
}
