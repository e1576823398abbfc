//! The Honor Push stand-in (`spec/vendors.md` §4) on loopback: Honor's
//! OAuth token endpoint and `POST /api/v1/<appId>/sendMessage`, over TLS.
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

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

/// Token path (vendors.md §4.1).
pub const TOKEN_PATH: &str = "/auth/realms/developer/protocol/openid-connect/token";
/// An access token lives an hour (the stand-in's choice, as Huawei's).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Body limit excluding tokens (assumed Huawei's, vendors.md §4.3).
pub const MAX_BODY: usize = 4096;
/// Most tokens in one request (assumed Huawei's, vendors.md §4.3).
pub const MAX_TOKENS: usize = 1000;
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

    fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        match self.code() {
            Some(code) => answer(status, code, "stand-in error", Value::Null),
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

fn answer(status: StatusCode, code: u32, message: &str, data: Value) -> Response {
    let body = serde_json::json!({ "code": code, "message": message, "data": data });
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------- builder

/// Configures a Honor stand-in; [`HonorStandinBuilder::start`] runs it.
pub struct HonorStandinBuilder {
    listen: SocketAddr,
    clock: SharedClock,
    app_id: String,
    client_id: String,
    client_secret: String,
    token_lifetime: Duration,
    scripts: Vec<(String, Reply, Option<u32>)>,
    record_to: Option<PathBuf>,
}

impl std::fmt::Debug for HonorStandinBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HonorStandinBuilder")
            .field("listen", &self.listen)
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl HonorStandinBuilder {
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The clock token lifetimes and `timestamp` run on (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The app id (URL path) and the OAuth client it sends as (§4.1).
    pub fn app(mut self, app_id: &str, client_id: &str, client_secret: &str) -> Self {
        self.app_id = app_id.to_owned();
        self.client_id = client_id.to_owned();
        self.client_secret = client_secret.to_owned();
        self
    }

    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    pub fn reply_always(mut self, token: &str, reply: Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, None));
        self
    }

    pub fn reply_next(mut self, token: &str, n: u32, reply: Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, Some(n)));
        self
    }

    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    pub async fn start(self) -> Result<HonorStandin, Error> {
        if self.app_id.is_empty() || self.client_id.is_empty() || self.client_secret.is_empty() {
            return Err(Error::Config(
                "the Honor stand-in needs an app id, a client id and a secret".into(),
            ));
        }
        let state = Arc::new(Shared {
            app_id: self.app_id,
            client_id: self.client_id,
            client_secret: self.client_secret,
            clock: self.clock.clone(),
            tokens: IssuedTokens::new(self.clock, self.token_lifetime),
            scripts: Scripts::new(self.scripts),
            recorder: Recorder::new(self.record_to.as_ref())?,
            token_endpoint: TokenEndpoint::default(),
        });
        let router = axum::Router::new()
            .route(TOKEN_PATH, axum::routing::post(token))
            .route("/api/v1/{app_id}/{action}", axum::routing::post(send))
            .with_state(state.clone());
        let ca = CertificateAuthority::generate()?;
        let server = HttpsServer::start(router, &ca, self.listen).await?;
        Ok(HonorStandin { server, ca, state })
    }
}

// ---------------------------------------------------------------- running

struct Shared {
    app_id: String,
    client_id: String,
    client_secret: String,
    clock: SharedClock,
    tokens: IssuedTokens,
    scripts: Scripts<Reply>,
    recorder: Recorder,
    token_endpoint: TokenEndpoint,
}

/// A running Honor stand-in.
pub struct HonorStandin {
    server: HttpsServer,
    ca: CertificateAuthority,
    state: Arc<Shared>,
}

impl std::fmt::Debug for HonorStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HonorStandin")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl HonorStandin {
    /// Defaults: `127.0.0.1:0`, the system clock, hour-long tokens, no
    /// scripts. [`HonorStandinBuilder::app`] is required.
    pub fn builder() -> HonorStandinBuilder {
        HonorStandinBuilder {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clock: Arc::new(SystemClock),
            app_id: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            token_lifetime: TOKEN_LIFETIME,
            scripts: Vec::new(),
            record_to: None,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.server.url())
    }

    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    pub fn write_ca_pem(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        self.ca.write_pem(path)
    }

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

    /// Every access token issued so far is expired from now on (80200003).
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    pub fn script(&self, token: &str, reply: Reply) {
        self.state.scripts.set(token, reply, None);
    }

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
    let client = (s.client_id.as_str(), s.client_secret.as_str());
    kit::token_answer(
        content_type,
        &body,
        client,
        &s.tokens,
        &s.recorder,
        |error| {
            serde_json::json!({
                "error": error,
                "error_description": "stand-in: the client credentials were not accepted",
            })
        },
    )
}

async fn send(
    State(s): State<Arc<Shared>>,
    Path((app_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action != "sendMessage" {
        return StatusCode::NOT_FOUND.into_response();
    }
    s.recorder.request();
    let (response, status, code) = match check(&s, &app_id, &headers, &body) {
        Err(reply) => (
            reply.response(),
            reply.status(),
            reply.code().map(|c| c.to_string()).unwrap_or_default(),
        ),
        Ok((tokens, timestamp_ms)) => outcome(&s, app_id, tokens, timestamp_ms, body),
    };
    s.recorder.answer(status, &code);
    response
}

fn outcome(
    s: &Shared,
    app_id: String,
    tokens: Vec<String>,
    timestamp_ms: u64,
    body: Bytes,
) -> (Response, u16, String) {
    let (mut expired, mut failed) = (Vec::new(), Vec::new());
    let mut other = None;
    for token in &tokens {
        match s.scripts.take(token) {
            Some(Reply::ExpiredToken) => expired.push(token.clone()),
            Some(Reply::FailToken) => failed.push(token.clone()),
            Some(reply) if other.is_none() => other = Some(reply),
            _ => {}
        }
    }
    if let Some(reply) = other {
        let code = reply.code().map(|c| c.to_string()).unwrap_or_default();
        return (reply.response(), reply.status(), code);
    }
    let sent = expired.len() + failed.len() < tokens.len();
    let data = serde_json::json!({
        "sendResult": sent,
        "requestId": kit::request_id(),
        "failTokens": failed,
        "expireTokens": expired,
    });
    if sent {
        s.recorder.accept(Accepted {
            app_id,
            tokens,
            invalid_tokens: expired,
            timestamp_ms: Some(timestamp_ms),
            body,
        });
    }
    (
        answer(StatusCode::OK, CODE_SUCCESS, "success", data),
        200,
        CODE_SUCCESS.to_string(),
    )
}

/// Steps 1–8 of the module doc; the tokens and the timestamp when it passes.
fn check(
    s: &Shared,
    app_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<String>, u64), Reply> {
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
    let timestamp_ms = headers
        .get("timestamp")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or(Reply::ParameterError)?;
    let now_ms = s
        .clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let window = u64::try_from(TIMESTAMP_WINDOW.as_millis()).unwrap_or(u64::MAX);
    if timestamp_ms.abs_diff(now_ms) > window {
        return Err(Reply::ParameterError);
    }
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| {
            c.starts_with("application/json") && c.to_ascii_lowercase().contains("charset=utf-8")
        });
    if !json_type {
        return Err(Reply::ParameterError);
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| Reply::MessageStructureError)?;
    let top = doc.as_object().ok_or(Reply::MessageStructureError)?;
    if top.contains_key("message") {
        return Err(Reply::MessageStructureError);
    }
    let tokens = check_tokens(top.get("token"))?;
    let token_bytes: usize = tokens
        .iter()
        .map(|t| serde_json::to_string(t).map_or(0, |j| j.len() + 1))
        .sum();
    if body.len().saturating_sub(token_bytes) > MAX_BODY {
        return Err(Reply::BodyTooLarge);
    }
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
    for field in ["title", "body"] {
        let given = |n: Option<&Value>| {
            n.and_then(|n| n.get(field))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        };
        if !given(note) && !given(top.get("notification")) {
            return Err(Reply::MessageStructureError);
        }
    }
    if let Some(note) = note {
        check_notification(note)?;
    }
    Ok((tokens, timestamp_ms))
}

fn check_tokens(value: Option<&Value>) -> Result<Vec<String>, Reply> {
    let items = value
        .ok_or(Reply::ParameterError)?
        .as_array()
        .ok_or(Reply::MessageStructureError)?;
    if items.is_empty() || items.len() > MAX_TOKENS {
        return Err(Reply::TokenCountOutOfRange);
    }
    items
        .iter()
        .map(|t| {
            t.as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or(Reply::ParameterError)
        })
        .collect()
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

// ---------------------------------------------------------------- CLI

/// The command line stand-in's app and client ids.
pub const CLI_APP_ID: &str = "104400000";
pub const CLI_CLIENT_ID: &str = "honor-client-000001";

/// `tidings standin honor`: a generated secret in `honor-secret.txt`, and
/// the `[honor]` table pointing at the stand-in.
pub async fn start_for_cli(setup: crate::cli::CliSetup) -> Result<crate::cli::CliStandin, Error> {
    use crate::cli::{toml_string, write_private, CliStandin};
    let secret = kit::generate_secret()?;
    let secret_file = setup.dir.join("honor-secret.txt");
    write_private(&secret_file, &secret)?;
    let mut builder =
        HonorStandin::builder()
            .listen(setup.listen)
            .app(CLI_APP_ID, CLI_CLIENT_ID, &secret);
    for (token, code) in &setup.replies {
        let reply = Reply::from_code(code)
            .ok_or_else(|| Error::Config(format!("--reply {token}={code}: not a Honor code")))?;
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &setup.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await?;
    let ca_file = setup.dir.join("ca.pem");
    standin.write_ca_pem(&ca_file)?;
    let config_table = format!(
        "[honor]\napp_id = {}\nclient_id = {}\nclient_secret = {}\nendpoint = {}\ntoken_endpoint = {}\nca_file = {}\n",
        toml_string(CLI_APP_ID),
        toml_string(CLI_CLIENT_ID),
        toml_string(&secret),
        toml_string(&standin.url()),
        toml_string(&standin.token_url()),
        toml_string(&ca_file.to_string_lossy()),
    );
    let info = serde_json::json!({
        "Url": standin.url(),
        "TokenUrl": standin.token_url(),
        "CaFile": ca_file,
        "AppId": CLI_APP_ID,
        "ClientId": CLI_CLIENT_ID,
        "SecretFile": secret_file,
    });
    Ok(CliStandin {
        url: standin.url(),
        config_table,
        info,
        running: Box::new(standin),
    })
}

impl crate::cli::CliRunning for HonorStandin {
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
