//! The Huawei Push Kit stand-in (`spec/vendors.md` §3) on loopback: the
//! OAuth token endpoint and `POST /v1/<appId>/messages:send`, over TLS.
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

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use tidings_std::clock::{SharedClock, SystemClock};

use crate::https::HttpsServer;
pub use crate::kit::TokenFault;
use crate::kit::{
    self, Accepted, IssuedTokens, Recorder, Scripts, Stats, TokenEndpoint, TokenState,
};
use crate::tls::CertificateAuthority;
use crate::Error;

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

    fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        match self.code() {
            Some(code) => answer(status, code, &format!("stand-in: {code}")),
            None => {
                let mut response = status.into_response();
                if let Reply::FlowControl {
                    retry_after: Some(s),
                } = self
                {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, (*s).into());
                }
                response
            }
        }
    }
}

fn answer(status: StatusCode, code: &str, msg: &str) -> Response {
    let body = serde_json::json!({ "code": code, "msg": msg, "requestId": kit::request_id() });
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------- builder

/// Configures a Huawei stand-in; [`HuaweiStandinBuilder::start`] runs it.
pub struct HuaweiStandinBuilder {
    listen: SocketAddr,
    clock: SharedClock,
    app_id: String,
    client_secret: String,
    token_lifetime: Duration,
    high_importance: bool,
    scripts: Vec<(String, Reply, Option<u32>)>,
    record_to: Option<PathBuf>,
}

impl std::fmt::Debug for HuaweiStandinBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuaweiStandinBuilder")
            .field("listen", &self.listen)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl HuaweiStandinBuilder {
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The clock token lifetimes run on (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The app (its id is also the OAuth client id, §3.1) and its secret.
    pub fn app(mut self, app_id: &str, client_secret: &str) -> Self {
        self.app_id = app_id.to_owned();
        self.client_secret = client_secret.to_owned();
        self
    }

    /// How long issued access tokens live (default an hour).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// The app holds the permission for `importance: HIGH` (80300011 otherwise).
    pub fn allow_high_importance(mut self) -> Self {
        self.high_importance = true;
        self
    }

    /// Every valid request naming `token` gets `reply`.
    pub fn reply_always(mut self, token: &str, reply: Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, None));
        self
    }

    /// The next `n` valid requests naming `token` get `reply`.
    pub fn reply_next(mut self, token: &str, n: u32, reply: Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, Some(n)));
        self
    }

    /// Also append one JSON line per accepted push to `path`.
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    pub async fn start(self) -> Result<HuaweiStandin, Error> {
        if self.app_id.is_empty() || self.client_secret.is_empty() {
            return Err(Error::Config(
                "the Huawei stand-in needs an app id and a secret".into(),
            ));
        }
        let state = Arc::new(Shared {
            app_id: self.app_id,
            client_secret: self.client_secret,
            high_importance: self.high_importance,
            tokens: IssuedTokens::new(self.clock, self.token_lifetime),
            scripts: Scripts::new(self.scripts),
            recorder: Recorder::new(self.record_to.as_ref())?,
            token_endpoint: TokenEndpoint::default(),
        });
        let router = axum::Router::new()
            .route(TOKEN_PATH, axum::routing::post(token))
            .route("/v1/{app_id}/{action}", axum::routing::post(send))
            .with_state(state.clone());
        let ca = CertificateAuthority::generate()?;
        let server = HttpsServer::start(router, &ca, self.listen).await?;
        Ok(HuaweiStandin { server, ca, state })
    }
}

// ---------------------------------------------------------------- running

struct Shared {
    app_id: String,
    client_secret: String,
    high_importance: bool,
    tokens: IssuedTokens,
    scripts: Scripts<Reply>,
    recorder: Recorder,
    token_endpoint: TokenEndpoint,
}

/// A running Huawei stand-in.
pub struct HuaweiStandin {
    server: HttpsServer,
    ca: CertificateAuthority,
    state: Arc<Shared>,
}

impl std::fmt::Debug for HuaweiStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuaweiStandin")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl HuaweiStandin {
    /// Defaults: `127.0.0.1:0`, the system clock, hour-long tokens, no
    /// scripts. [`HuaweiStandinBuilder::app`] is required.
    pub fn builder() -> HuaweiStandinBuilder {
        HuaweiStandinBuilder {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clock: Arc::new(SystemClock),
            app_id: String::new(),
            client_secret: String::new(),
            token_lifetime: TOKEN_LIFETIME,
            high_importance: false,
            scripts: Vec::new(),
            record_to: None,
        }
    }

    /// `https://127.0.0.1:PORT`: the push endpoint.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.server.url())
    }

    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    pub fn write_ca_pem(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        self.ca.write_pem(path)
    }

    /// Every accepted push so far, in arrival order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.state.recorder.accepted()
    }

    pub fn stats(&self) -> Stats {
        let s = &self.state;
        s.recorder
            .stats(s.tokens.fetches(), s.token_endpoint.requests())
    }

    /// From now on the token endpoint answers `fault` instead of a token
    /// (`None`: normally again). Every request counts in
    /// [`Stats::token_requests`].
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        self.state.token_endpoint.set_fault(fault);
    }

    /// Every access token issued so far is expired from now on (the next
    /// send with one is answered 80200003).
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    /// From now on every valid request naming `token` gets `reply`.
    pub fn script(&self, token: &str, reply: Reply) {
        self.state.scripts.set(token, reply, None);
    }

    /// The next `n` valid requests naming `token` get `reply`.
    pub fn script_next(&self, token: &str, n: u32, reply: Reply) {
        self.state.scripts.set(token, reply, Some(n));
    }

    pub fn unscript(&self, token: &str) {
        self.state.scripts.remove(token);
    }

    pub async fn shutdown(self) -> Result<(), Error> {
        self.server.shutdown().await
    }
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(fault) = s.token_endpoint.fault().await {
        return fault;
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let client = (s.app_id.as_str(), s.client_secret.as_str());
    kit::token_answer(
        content_type,
        &body,
        client,
        &s.tokens,
        &s.recorder,
        |error| {
            let number = if error == "invalid_client" {
                OAUTH_ERROR_INVALID_CLIENT
            } else {
                OAUTH_ERROR_INVALID_REQUEST
            };
            serde_json::json!({ "error": number, "error_description": error })
        },
    )
}

async fn send(
    State(s): State<Arc<Shared>>,
    Path((app_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action != "messages:send" {
        return StatusCode::NOT_FOUND.into_response();
    }
    s.recorder.request();
    let (response, status, code) = match check(&s, &app_id, &headers, &body) {
        Err(reply) => (
            reply.response(),
            reply.status(),
            reply.code().unwrap_or("").to_owned(),
        ),
        Ok(tokens) => outcome(&s, app_id, tokens, body),
    };
    s.recorder.answer(status, &code);
    response
}

fn outcome(
    s: &Shared,
    app_id: String,
    tokens: Vec<String>,
    body: Bytes,
) -> (Response, u16, String) {
    let mut illegal = Vec::new();
    let mut other = None;
    for token in &tokens {
        match s.scripts.take(token) {
            Some(Reply::InvalidToken) => illegal.push(token.clone()),
            Some(reply) if other.is_none() => other = Some(reply),
            _ => {}
        }
    }
    if let Some(reply) = other {
        return (
            reply.response(),
            reply.status(),
            reply.code().unwrap_or("").to_owned(),
        );
    }
    if illegal.len() == tokens.len() {
        let reply = Reply::InvalidToken;
        return (reply.response(), 400, "80300007".into());
    }
    let code = if illegal.is_empty() {
        "80000000"
    } else {
        "80100000"
    };
    let msg = if illegal.is_empty() {
        "Success".to_owned()
    } else {
        serde_json::json!({
            "success": tokens.len() - illegal.len(),
            "failure": illegal.len(),
            "illegal_tokens": illegal,
        })
        .to_string()
    };
    s.recorder.accept(Accepted {
        app_id,
        tokens,
        invalid_tokens: illegal,
        timestamp_ms: None,
        body,
    });
    (answer(StatusCode::OK, code, &msg), 200, code.into())
}

/// Steps 1–7 of the module doc; the request's tokens when it passes.
fn check(s: &Shared, app_id: &str, headers: &HeaderMap, body: &[u8]) -> Result<Vec<String>, Reply> {
    if app_id != s.app_id {
        return Err(Reply::AuthError);
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Reply::AuthError)?;
    match s.tokens.check(bearer) {
        TokenState::Valid => {}
        TokenState::Expired => return Err(Reply::AuthExpired),
        TokenState::Unknown => return Err(Reply::AuthError),
    }
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_type {
        return Err(Reply::ParameterError);
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| Reply::MessageStructureError)?;
    let message = doc
        .get("message")
        .and_then(Value::as_object)
        .ok_or(Reply::MessageStructureError)?;
    let tokens = check_tokens(message.get("token"))?;
    if message.contains_key("topic") || message.contains_key("condition") {
        return Err(Reply::ParameterError);
    }
    let token_bytes: usize = tokens
        .iter()
        .map(|t| serde_json::to_string(t).map_or(0, |j| j.len() + 1))
        .sum();
    if body.len().saturating_sub(token_bytes) > MAX_BODY {
        return Err(Reply::BodyTooLarge);
    }
    if message.get("data").is_some_and(|d| !d.is_string()) {
        return Err(Reply::MessageStructureError);
    }
    let android = match message.get("android") {
        None => None,
        Some(Value::Object(a)) => Some(a),
        Some(_) => return Err(Reply::MessageStructureError),
    };
    let top = message.get("notification");
    let note = android.and_then(|a| a.get("notification"));
    for field in ["title", "body"] {
        let given = |n: Option<&Value>| {
            n.and_then(|n| n.get(field))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        };
        if !given(note) && !given(top) {
            return Err(Reply::MessageStructureError);
        }
    }
    if let Some(a) = android {
        check_android(a, s.high_importance)?;
    }
    Ok(tokens)
}

fn check_tokens(value: Option<&Value>) -> Result<Vec<String>, Reply> {
    let Some(value) = value else {
        return Err(Reply::ParameterError);
    };
    let items = value.as_array().ok_or(Reply::MessageStructureError)?;
    if items.is_empty() || items.len() > MAX_TOKENS {
        return Err(Reply::TokenCountOutOfRange);
    }
    items
        .iter()
        .map(|t| {
            t.as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or(Reply::InvalidToken)
        })
        .collect()
}

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

// ---------------------------------------------------------------- CLI

/// `tidings standin huawei`: app id `10400000` (or `TIDINGS`-free test
/// values), a generated secret in `huawei-secret.txt`, and the `[huawei]`
/// table pointing at the stand-in.
pub async fn start_for_cli(setup: crate::cli::CliSetup) -> Result<crate::cli::CliStandin, Error> {
    use crate::cli::{toml_string, write_private, CliStandin};
    let app_id = CLI_APP_ID;
    let secret = kit::generate_secret()?;
    let secret_file = setup.dir.join("huawei-secret.txt");
    write_private(&secret_file, &secret)?;
    let mut builder = HuaweiStandin::builder()
        .listen(setup.listen)
        .app(app_id, &secret);
    for (token, code) in &setup.replies {
        let reply = Reply::from_code(code)
            .ok_or_else(|| Error::Config(format!("--reply {token}={code}: not a Huawei code")))?;
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &setup.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await?;
    let ca_file = setup.dir.join("ca.pem");
    standin.write_ca_pem(&ca_file)?;
    let config_table = format!(
        "[huawei]\napp_id = {}\nclient_secret = {}\nendpoint = {}\ntoken_endpoint = {}\nca_file = {}\n",
        toml_string(app_id),
        toml_string(&secret),
        toml_string(&standin.url()),
        toml_string(&standin.token_url()),
        toml_string(&ca_file.to_string_lossy()),
    );
    let info = serde_json::json!({
        "Url": standin.url(),
        "TokenUrl": standin.token_url(),
        "CaFile": ca_file,
        "AppId": app_id,
        "SecretFile": secret_file,
    });
    Ok(CliStandin {
        url: standin.url(),
        config_table,
        info,
        running: Box::new(standin),
    })
}

/// The command line stand-in's app id.
pub const CLI_APP_ID: &str = "10400000";

impl crate::cli::CliRunning for HuaweiStandin {
    fn stop(
        self: Box<Self>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, Error>> + Send>> {
        Box::pin(async move {
            let stats = self.stats();
            let accepted = self.state.recorder.accepted_count();
            self.shutdown().await?;
            Ok(format!(
                "{accepted} pushes accepted of {} requests; {} access tokens issued",
                stats.requests, stats.token_fetches
            ))
        })
    }
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
