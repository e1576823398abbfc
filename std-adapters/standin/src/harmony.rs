//! The HarmonyOS NEXT Push Kit stand-in (`spec/beyond.md` §11, §13.2) on
//! loopback: `POST /v3/<projectId>/messages:send` and `POST
//! /v1/<clientId>/messages:revoke`, over TLS. There is no token endpoint:
//! the bearer is the service account's own PS256 JWT (§11.1).
//!
//! # Checks, in order (first failure answers)
//!
//! 1. The path names the stand-in's project (send) or client id (revoke)
//!    — else 401 `80200001`.
//! 2. `Authorization: Bearer <JWT>`: header `alg` `PS256` and `kid` the
//!    account's key id, the signature verified with the account's PUBLIC
//!    key (RSASSA-PSS, SHA-256), `aud` [`AUDIENCE`], `iss` the account's
//!    `sub_account`, integer `iat` (at most [`CLOCK_SKEW_SECS`] ahead) and
//!    `exp` after it — else 401 `80200001`. `exp - iat` over a day is 400
//!    `80300036` (§11.1); over an hour (but within a day) is `80200001`
//!    too: the stand-in holds a client to the documented hour. `exp`
//!    passed, or a JWT expired with [`HarmonyStandin::expire_jwts`], is
//!    401 `80200005`.
//! 3. `push-type` — absent 400 `80100003` (§11.3: "missing push-type");
//!    send: `0` only (the stand-in speaks the alert scenario), revoke: `0`
//!    or `2` (§13.2) — else 400 `80100001`.
//! 4. `Content-Type: application/json` — else 400 `80100001`; a JSON
//!    object — else 400 `80100003`.
//! 5. Send: `target.token` an array (else `80100003`; absent `80100001`)
//!    of 1–[`MAX_TOKENS`] (`80300010`) non-empty strings (`80100003`); the
//!    body without its token strings at most [`MAX_BODY`] bytes —
//!    else `80300008`; `payload.notification` an object with a known
//!    `category` (`80100001` when unknown), non-empty `title` and `body`
//!    (`80100003`); `notifyId` an integer −1…2³¹−1, `appMessageId` 1–64
//!    chars, `badge.addNum` 1–99,
//!    `clickAction.actionType` 0 or 1 (`80100003`); `pushOptions.ttl`
//!    0…[`MAX_TTL`] (`80100001`).
//!    Revoke: `notifyId` an integer 1…2³¹−1 (`80100003`) and `token` 1–1000
//!    tokens as above.
//!
//! A request that passes is matched against the per-token scripts: a token
//! scripted [`Reply::IllegalToken`] is illegal for its reason; when every
//! token is, the answer is 400 `80300007` with `msg`
//! `{"failure":n,"illegalTokens":{"<reason>":[...]}}`; when some are, 200
//! `80100000` with `{"illegalTokens":{...},"success":n,"failure":m}`
//! (Huawei's examples, [HM3]) and the push is recorded; any other scripted
//! reply answers the whole request (the first scripted token's). Otherwise
//! the push (or the revoke: [`HarmonyStandin::revokes`]) is recorded and
//! answered 200 `{"code":"80000000","msg":"Success","requestId":...}`.
//! `code` is always a string (§11.3).
//!
//! HTTP statuses beside the codes are the stand-in's choice (Huawei's HTTP
//! table is separate from its codes, [HM3]): 200 for 80000000/80100000,
//! 401 for 802000xx, 500 for 81000001, 503 flow control and 502 without a
//! body, 400 for the rest. The revoke's answers are read like a send's
//! (unconfirmed: §13.2 documents the request only).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ring::signature::RSA_PSS_2048_8192_SHA256;
use serde_json::{json, Value};
use tidings_std::clock::SharedClock;

use crate::error::Error;
use crate::kit::jws::Jws;
use crate::kit::record::{Recorder, Revokes};
use crate::kit::shell::{Base, Builder, Standin, Vendor};
use crate::kit::{fresh_id, lock, Accepted, Revoke, Scripts, Stats};

/// The JWT's audience (§11.1).
pub const AUDIENCE: &str = "https://oauth-login.cloud.huawei.com/oauth2/v3/token";
/// Body limit excluding tokens (§11.3).
pub const MAX_BODY: usize = 4096;
/// Most tokens in one request (§11.2).
pub const MAX_TOKENS: usize = 1000;
/// Longest `pushOptions.ttl`, seconds (§11.2: 15 days).
pub const MAX_TTL: i64 = 1_296_000;
/// The documented JWT lifetime (§11.1), and the longest Huawei takes.
pub const JWT_LIFETIME_SECS: i64 = 3600;
pub const JWT_MAX_VALIDITY_SECS: i64 = 86_400;
/// How far ahead of the stand-in's clock an `iat` may be.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// `notification.category` values of a push-type 0 send (§11.2), kept
/// apart from the renderer's list on purpose: the stand-in is the vendor,
/// and checks what the vendor documents. `PLAY_VOICE` is push-type 2's
/// (text-to-speech), which this stand-in's send endpoint does not take.
pub const CATEGORIES: &[&str] = &[
    "IM",
    "VOIP",
    "MISS_CALL",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "MAIL",
    "MARKETING",
];
/// The test key: the FCM stand-in's checked-in throwaway RSA key (ring
/// cannot generate RSA keys; see `testdata/README.md`).
pub const TEST_KEY_PEM: &str = crate::fcm::TEST_KEY_PEM;
/// Another throwaway key: "the wrong key" in tests.
pub const OTHER_TEST_KEY_PEM: &str = crate::fcm::OTHER_TEST_KEY_PEM;

/// What the stand-in answers (beyond.md §11.3), and what can be scripted
/// for a device token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The token is illegal for `reason` (`tokenFormatError`, `noRight`,
    /// …): 80300007 when every token is, else listed in 80100000.
    IllegalToken { reason: String },
    /// 80100001 parameter error.
    ParameterError,
    /// 80100003 payload error.
    PayloadError,
    /// 80100004 ttl before now.
    TtlBeforeNow,
    /// 80100022 image not verified.
    ImageNotVerified,
    /// 80200001 auth error.
    AuthError,
    /// 80200005 JWT expired.
    JwtExpired,
    /// 80300002 push not enabled / wrong project.
    PushNotEnabled,
    /// 80300008 body over 4096 B.
    BodyTooLarge,
    /// 80300010 token count.
    TokenCount,
    /// 80300029 test-message rate.
    TestMessageRate,
    /// 80300030 test token count.
    TestTokenCount,
    /// 80300036 JWT validity over a day.
    JwtTooLong,
    /// 80300037 app penalised.
    Penalised,
    /// 81000001 internal error.
    InternalError,
    /// HTTP 503 flow control (no body); `retry_after` adds the header.
    FlowControl { retry_after: Option<u32> },
    /// HTTP 502 (no body).
    BadGateway,
    /// Any status and code, for a client's unknown-code path.
    Other { status: u16, code: String },
}

/// The documented codes: each reply with its code.
const CODES: &[(Reply, &str)] = &[
    (Reply::ParameterError, "80100001"),
    (Reply::PayloadError, "80100003"),
    (Reply::TtlBeforeNow, "80100004"),
    (Reply::ImageNotVerified, "80100022"),
    (Reply::AuthError, "80200001"),
    (Reply::JwtExpired, "80200005"),
    (Reply::PushNotEnabled, "80300002"),
    (Reply::BodyTooLarge, "80300008"),
    (Reply::TokenCount, "80300010"),
    (Reply::TestMessageRate, "80300029"),
    (Reply::TestTokenCount, "80300030"),
    (Reply::JwtTooLong, "80300036"),
    (Reply::Penalised, "80300037"),
    (Reply::InternalError, "81000001"),
];

/// The per-token reasons `--reply TOKEN=<reason>` takes (§11.3 [HM3]).
pub const TOKEN_REASONS: &[&str] = &[
    "tokenFormatError",
    "tokenPlatformNotSupport",
    "noRight",
    "noPushTypeRight",
    "countryNotSupport",
    "appinfoError",
    "disableSendHuaweiMsgBecauseOfPenalty",
    "differentImgVerifyPolicy",
];

impl Reply {
    /// A dead token for `reason`.
    pub fn illegal(reason: &str) -> Self {
        Reply::IllegalToken {
            reason: reason.to_owned(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Reply::AuthError | Reply::JwtExpired => 401,
            Reply::InternalError => 500,
            Reply::FlowControl { .. } => 503,
            Reply::BadGateway => 502,
            Reply::Other { status, .. } => *status,
            _ => 400,
        }
    }

    /// The result code (`None`: an HTTP-only answer).
    pub fn code(&self) -> Option<&str> {
        match self {
            Reply::IllegalToken { .. } => Some("80300007"),
            Reply::Other { code, .. } => Some(code),
            Reply::FlowControl { .. } | Reply::BadGateway => None,
            reply => CODES.iter().find(|(r, _)| r == reply).map(|(_, c)| *c),
        }
    }

    /// For `tidings standin harmony --reply TOKEN=CODE`: a documented code,
    /// a per-token reason (`noRight`), `503` or `502`.
    pub fn from_code(code: &str) -> Option<Reply> {
        match code {
            "503" => Some(Reply::FlowControl { retry_after: None }),
            "502" => Some(Reply::BadGateway),
            reason if TOKEN_REASONS.contains(&reason) => Some(Reply::illegal(reason)),
            _ => CODES
                .iter()
                .find(|(_, c)| *c == code)
                .map(|(r, _)| r.clone()),
        }
    }

    /// The answer to a refused request.
    fn response(&self) -> Response {
        let Some(code) = self.code() else {
            let mut response = StatusCode::from_u16(self.status())
                .unwrap_or(StatusCode::BAD_GATEWAY)
                .into_response();
            if let Reply::FlowControl {
                retry_after: Some(seconds),
            } = self
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, (*seconds).into());
            }
            return response;
        };
        answer(self.status(), code, &format!("stand-in: {code}"))
    }
}

/// `{"code": "<string>", "msg", "requestId"}` with `status`.
fn answer(status: u16, code: &str, msg: &str) -> Response {
    let body = json!({ "code": code, "msg": msg, "requestId": fresh_id() });
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------- settings

/// A HarmonyOS service account as AppGallery Connect issues its key file.
/// `Debug` leaves the key out.
#[derive(Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub key_id: String,
    pub sub_account: String,
    /// PKCS#8 PEM, RSA.
    pub private_key_pem: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("key_id", &self.key_id)
            .field("sub_account", &self.sub_account)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// A test account of `project_id` with the checked-in [`TEST_KEY_PEM`]
    /// (a test signs with another key by changing `private_key_pem`).
    pub fn test(project_id: &str) -> Self {
        Self {
            project_id: project_id.to_owned(),
            key_id: "standin-key-0001".to_owned(),
            sub_account: "1000000000000001".to_owned(),
            private_key_pem: TEST_KEY_PEM.to_owned(),
        }
    }

    /// The key file's JSON (§11.1 [HM4]).
    pub fn key_file_json(&self) -> String {
        let json = json!({
            "project_id": self.project_id,
            "key_id": self.key_id,
            "private_key": self.private_key_pem,
            "sub_account": self.sub_account,
            "auth_uri": "https://oauth-login.cloud.huawei.com/oauth2/v3/authorize",
            "token_uri": AUDIENCE,
            "auth_provider_cert_uri": "https://oauth-login.cloud.huawei.com/oauth2/v3/certs",
            "client_cert_uri": "https://oauth-login.cloud.huawei.com/oauth2/v3/x509?client_id=",
        });
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }
}

/// A running HarmonyOS stand-in.
pub type HarmonyStandin = Standin<Harmony>;
/// Configures a HarmonyOS stand-in; [`Builder::start`] runs it.
pub type HarmonyStandinBuilder = Builder<Harmony>;

/// The stand-in's settings: the service account whose public key checks
/// the JWTs, and the app's client id (the revoke path).
#[derive(Debug)]
pub struct Harmony {
    account: ServiceAccount,
    client_id: String,
}

impl Builder<Harmony> {
    /// The account (default: [`ServiceAccount::test`] of project
    /// `101388000000000001`).
    pub fn account(mut self, account: ServiceAccount) -> Self {
        self.vendor.account = account;
        self
    }

    /// The client id the revoke path must name (default `110000001`).
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.vendor.client_id = client_id.to_owned();
        self
    }
}

impl Standin<Harmony> {
    pub fn account(&self) -> &ServiceAccount {
        &self.state().account
    }

    pub fn client_id(&self) -> &str {
        &self.state().client_id
    }

    /// Every revoke taken so far.
    pub fn revokes(&self) -> Vec<Revoke> {
        self.state().revokes.all()
    }

    /// Every JWT seen so far is expired from now on (80200005).
    pub fn expire_jwts(&self) {
        let s = self.state();
        let seen: Vec<String> = lock(&s.jwts).iter().cloned().collect();
        lock(&s.expired).extend(seen);
    }
}

/// The running stand-in's state.
pub struct Shared {
    account: ServiceAccount,
    client_id: String,
    public_key: Vec<u8>,
    clock: SharedClock,
    scripts: Arc<Scripts<Reply>>,
    recorder: Recorder,
    accepted: Arc<crate::kit::record::Accepts<Accepted>>,
    revokes: Revokes,
    /// Distinct JWTs that passed the checks.
    jwts: std::sync::Mutex<HashSet<String>>,
    expired: std::sync::Mutex<HashSet<String>>,
}

impl Vendor for Harmony {
    type Reply = Reply;
    type State = Shared;
    type Accepted = Accepted;
    type Stats = Stats;
    const NAME: &'static str = "HarmonyOS";

    fn defaults() -> Self {
        Self {
            account: ServiceAccount::test("101388000000000001"),
            client_id: "110000001".to_owned(),
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        if self.account.project_id.is_empty() || self.client_id.is_empty() {
            return Err(Error::Config(
                "the HarmonyOS stand-in needs a project id and a client id".into(),
            ));
        }
        let state = Arc::new(Shared {
            public_key: crate::fcm::public_key_from_pem(&self.account.private_key_pem)?,
            account: self.account,
            client_id: self.client_id,
            clock: base.clock,
            scripts: base.scripts,
            recorder: Recorder::new(Arc::clone(&base.accepted)),
            accepted: base.accepted,
            revokes: Revokes::default(),
            jwts: std::sync::Mutex::default(),
            expired: std::sync::Mutex::default(),
        });
        let router = axum::Router::new()
            .route("/v3/{project_id}/{action}", axum::routing::post(send))
            .route("/v1/{client_id}/{action}", axum::routing::post(revoke))
            .with_state(state.clone());
        Ok((state, router))
    }

    /// `token_fetches` counts the distinct JWTs that passed.
    fn stats(state: &Shared, _connections: u64) -> Stats {
        state.recorder.stats(lock(&state.jwts).len() as u64, 0)
    }
}

// ---------------------------------------------------------------- routes

async fn send(
    State(s): State<Arc<Shared>>,
    Path((project_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action != "messages:send" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let checked = s
        .authorize(project_id == s.account.project_id, &headers, &["0"])
        .and_then(|()| check_send(&headers, &body));
    s.answer(checked, |(), tokens, illegal| {
        s.recorder.accept(Accepted {
            app_id: project_id,
            tokens: tokens.to_vec(),
            invalid_tokens: illegal.to_vec(),
            timestamp_ms: None,
            body: body.clone(),
        });
    })
}

async fn revoke(
    State(s): State<Arc<Shared>>,
    Path((client_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action != "messages:revoke" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let checked = s
        .authorize(client_id == s.client_id, &headers, &["0", "2"])
        .and_then(|()| check_revoke(&headers, &body));
    let checked = checked.map(|(notify_id, tokens)| (tokens, notify_id));
    s.answer(checked, |notify_id, tokens, _| {
        s.revokes.record(
            Revoke {
                notify_id,
                tokens: tokens.to_vec(),
            },
            &s.accepted,
        );
    })
}

impl Shared {
    /// Counts the request, applies the scripts to a checked request's
    /// tokens and answers; `record(what, tokens, illegal)` keeps what was
    /// taken.
    fn answer<T>(
        &self,
        checked: Result<(Vec<String>, T), Reply>,
        record: impl FnOnce(T, &[String], &[String]),
    ) -> Response {
        self.recorder.request();
        let (status, code, response) = match checked {
            Err(reply) => (
                reply.status(),
                reply.code().unwrap_or_default().to_owned(),
                reply.response(),
            ),
            Ok((tokens, what)) => self.outcome(&tokens, |t, i| record(what, t, i)),
        };
        self.recorder.answer(status, &code);
        response
    }

    /// The per-token scripts over a passing request (see the module doc).
    fn outcome(
        &self,
        tokens: &[String],
        record: impl FnOnce(&[String], &[String]),
    ) -> (u16, String, Response) {
        let mut illegal: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut other = None;
        for token in tokens {
            match self.scripts.take(token) {
                Some(Reply::IllegalToken { reason }) => {
                    illegal.entry(reason).or_default().push(token.clone());
                }
                Some(reply) if other.is_none() => other = Some(reply),
                _ => {}
            }
        }
        if let Some(reply) = other {
            let code = reply.code().unwrap_or_default().to_owned();
            return (reply.status(), code, reply.response());
        }
        let failed: Vec<String> = illegal.values().flatten().cloned().collect();
        if failed.len() == tokens.len() {
            let msg = json!({ "failure": failed.len(), "illegalTokens": illegal });
            let code = "80300007";
            return (400, code.into(), answer(400, code, &msg.to_string()));
        }
        record(tokens, &failed);
        let (code, msg) = if failed.is_empty() {
            ("80000000", "Success".to_owned())
        } else {
            let msg = json!({
                "illegalTokens": illegal,
                "success": tokens.len() - failed.len(),
                "failure": failed.len(),
            });
            ("80100000", msg.to_string())
        };
        (200, code.into(), answer(200, code, &msg))
    }

    /// Checks 1–3 of the module doc: the path's id (`path_ok`), the JWT,
    /// and `push-type` (one of `push_types`).
    fn authorize(
        &self,
        path_ok: bool,
        headers: &HeaderMap,
        push_types: &[&str],
    ) -> Result<(), Reply> {
        if !path_ok {
            return Err(Reply::AuthError);
        }
        let jwt = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Reply::AuthError)?;
        self.check_jwt(jwt)?;
        let push_type = headers
            .get("push-type")
            .ok_or(Reply::PayloadError)?
            .to_str()
            .map_err(|_| Reply::ParameterError)?;
        if !push_types.contains(&push_type) {
            return Err(Reply::ParameterError);
        }
        Ok(())
    }

    fn check_jwt(&self, jwt: &str) -> Result<(), Reply> {
        let jws = Jws::parse(jwt).ok_or(Reply::AuthError)?;
        let a = &self.account;
        if jws.header_text("alg") != Some("PS256") || jws.header_text("kid") != Some(&a.key_id) {
            return Err(Reply::AuthError);
        }
        if !jws.verifies(&RSA_PSS_2048_8192_SHA256, &self.public_key) {
            return Err(Reply::AuthError);
        }
        if jws.claim_text("aud") != Some(AUDIENCE) || jws.claim_text("iss") != Some(&a.sub_account)
        {
            return Err(Reply::AuthError);
        }
        let (Some(iat), Some(exp)) = (jws.claim_int("iat"), jws.claim_int("exp")) else {
            return Err(Reply::AuthError);
        };
        let now = self.clock.unix_seconds();
        let validity = exp.saturating_sub(iat);
        if validity > JWT_MAX_VALIDITY_SECS {
            return Err(Reply::JwtTooLong);
        }
        if validity <= 0
            || validity > JWT_LIFETIME_SECS
            || iat > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(Reply::AuthError);
        }
        if exp <= now || lock(&self.expired).contains(jwt) {
            return Err(Reply::JwtExpired);
        }
        lock(&self.jwts).insert(jwt.to_owned());
        Ok(())
    }
}

// ---------------------------------------------------------------- bodies

/// `Content-Type: application/json` (80100001) and a JSON object
/// (80100003).
fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Map<String, Value>, Reply> {
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_type {
        return Err(Reply::ParameterError);
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Reply::PayloadError),
    }
}

/// A token list: present (80100001), an array (80100003) of
/// 1–[`MAX_TOKENS`] (80300010) non-empty strings (80100003).
fn tokens(value: Option<&Value>) -> Result<Vec<String>, Reply> {
    let items = value
        .ok_or(Reply::ParameterError)?
        .as_array()
        .ok_or(Reply::PayloadError)?;
    if items.is_empty() || items.len() > MAX_TOKENS {
        return Err(Reply::TokenCount);
    }
    items
        .iter()
        .map(|t| {
            t.as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or(Reply::PayloadError)
        })
        .collect()
}

/// An optional integer field within `range` (else `refusal`).
fn int_in(
    value: Option<&Value>,
    range: std::ops::RangeInclusive<i64>,
    refusal: Reply,
) -> Result<(), Reply> {
    match value {
        None => Ok(()),
        Some(v) if v.as_i64().is_some_and(|n| range.contains(&n)) => Ok(()),
        Some(_) => Err(refusal),
    }
}

/// Step 5 for a send; answers the tokens.
fn check_send(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<String>, ()), Reply> {
    let doc = json_object(headers, body)?;
    let target = doc.get("target").ok_or(Reply::ParameterError)?;
    let tokens = tokens(target.get("token"))?;
    let token_bytes: usize = tokens
        .iter()
        .map(|t| serde_json::to_string(t).map_or(0, |j| j.len() + 1))
        .sum();
    if body.len().saturating_sub(token_bytes) > MAX_BODY {
        return Err(Reply::BodyTooLarge);
    }
    let note = doc
        .get("payload")
        .and_then(|p| p.get("notification"))
        .and_then(Value::as_object)
        .ok_or(Reply::PayloadError)?;
    let category = note
        .get("category")
        .and_then(Value::as_str)
        .ok_or(Reply::PayloadError)?;
    if !CATEGORIES.contains(&category) {
        return Err(Reply::ParameterError);
    }
    for field in ["title", "body"] {
        if note
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Reply::PayloadError);
        }
    }
    if note.get("appMessageId").is_some_and(|id| {
        !id.as_str()
            .is_some_and(|id| (1..=64).contains(&id.chars().count()))
    }) {
        return Err(Reply::PayloadError);
    }
    int_in(
        note.get("notifyId"),
        -1..=i64::from(i32::MAX),
        Reply::PayloadError,
    )?;
    int_in(
        note.get("badge").and_then(|b| b.get("addNum")),
        1..=99,
        Reply::PayloadError,
    )?;
    if let Some(click) = note.get("clickAction") {
        int_in(
            Some(click.get("actionType").unwrap_or(&Value::Null)),
            0..=1,
            Reply::PayloadError,
        )?;
    }
    int_in(
        doc.get("pushOptions").and_then(|o| o.get("ttl")),
        0..=MAX_TTL,
        Reply::ParameterError,
    )?;
    Ok((tokens, ()))
}

/// Step 5 for a revoke: `notifyId` and the tokens.
fn check_revoke(headers: &HeaderMap, body: &[u8]) -> Result<(i64, Vec<String>), Reply> {
    let doc = json_object(headers, body)?;
    let notify_id = doc
        .get("notifyId")
        .and_then(Value::as_i64)
        .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
        .ok_or(Reply::PayloadError)?;
    Ok((notify_id, tokens(doc.get("token"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reasons_are_dead_tokens() {
        for (reply, code) in CODES {
            assert_eq!(Reply::from_code(code).as_ref(), Some(reply));
            assert_eq!(reply.code(), Some(*code));
        }
        assert_eq!(Reply::from_code("noRight"), Some(Reply::illegal("noRight")));
        assert_eq!(Reply::illegal("noRight").code(), Some("80300007"));
        assert_eq!(Reply::from_code("503").map(|r| r.status()), Some(503));
        assert_eq!(Reply::from_code("nope"), None);
        assert_eq!(Reply::JwtExpired.status(), 401);
    }

    fn shared(clock: &tidings_std::clock::ManualClock) -> Shared {
        Shared {
            account: ServiceAccount::test("101388000000000001"),
            client_id: "110000001".into(),
            public_key: crate::fcm::public_key_from_pem(TEST_KEY_PEM).unwrap(),
            clock: Arc::new(clock.clone()),
            scripts: Arc::default(),
            recorder: Recorder::new(Arc::default()),
            accepted: Arc::default(),
            revokes: Revokes::default(),
            jwts: std::sync::Mutex::default(),
            expired: std::sync::Mutex::default(),
        }
    }

    /// A JWS of `header` and `claims` signed by `pem`, PSS or PKCS#1 v1.5.
    fn jwt(pem: &str, header: &Value, claims: &Value, pss: bool) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; pair.public().modulus_len()];
        let padding: &'static dyn ring::signature::RsaEncoding = if pss {
            &ring::signature::RSA_PSS_SHA256
        } else {
            &ring::signature::RSA_PKCS1_SHA256
        };
        let rng = ring::rand::SystemRandom::new();
        pair.sign(padding, &rng, input.as_bytes(), &mut signature)
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn the_jwt_s_signature_header_and_claims() {
        use tidings_std::clock::Clock as _;
        let clock = tidings_std::clock::ManualClock::starting_now();
        let s = shared(&clock);
        let now = clock.unix_seconds();
        let a = s.account.clone();
        let header = json!({ "kid": a.key_id, "typ": "JWT", "alg": "PS256" });
        let claims =
            json!({ "aud": AUDIENCE, "iss": a.sub_account, "iat": now, "exp": now + 3600 });
        let with = |value: &Value, key: &str, v: Value| {
            let mut changed = value.clone();
            changed[key] = v;
            changed
        };
        let check = |header: &Value, claims: &Value, pem: &str, pss: bool| {
            s.check_jwt(&jwt(pem, header, claims, pss))
        };
        assert_eq!(check(&header, &claims, TEST_KEY_PEM, true), Ok(()));
        let rows = [
            (
                header.clone(),
                claims.clone(),
                OTHER_TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
            (
                header.clone(),
                claims.clone(),
                TEST_KEY_PEM,
                false,
                Reply::AuthError,
            ),
            (
                with(&header, "alg", json!("RS256")),
                claims.clone(),
                TEST_KEY_PEM,
                false,
                Reply::AuthError,
            ),
            (
                with(&header, "kid", json!("other")),
                claims.clone(),
                TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
            (
                header.clone(),
                with(&claims, "aud", json!("https://x")),
                TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
            (
                header.clone(),
                with(&claims, "iss", json!("2")),
                TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
            (
                header.clone(),
                with(&claims, "exp", json!(now + 2 * 86_400)),
                TEST_KEY_PEM,
                true,
                Reply::JwtTooLong,
            ),
            (
                header.clone(),
                with(&claims, "exp", json!(now + 7200)),
                TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
            (
                header.clone(),
                with(&with(&claims, "iat", json!(now - 3600)), "exp", json!(now)),
                TEST_KEY_PEM,
                true,
                Reply::JwtExpired,
            ),
            (
                header.clone(),
                with(
                    &with(&claims, "iat", json!(now + 600)),
                    "exp",
                    json!(now + 4200),
                ),
                TEST_KEY_PEM,
                true,
                Reply::AuthError,
            ),
        ];
        for (i, (header, claims, pem, pss, reply)) in rows.into_iter().enumerate() {
            assert_eq!(check(&header, &claims, pem, pss), Err(reply), "row {i}");
        }
        // A JWT the stand-in was told to expire.
        let token = jwt(TEST_KEY_PEM, &header, &claims, true);
        assert_eq!(s.check_jwt(&token), Ok(()));
        lock(&s.expired).insert(token.clone());
        assert_eq!(s.check_jwt(&token), Err(Reply::JwtExpired));
        assert_eq!(s.check_jwt("not.a.jwt"), Err(Reply::AuthError));
    }

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h
    }

    #[test]
    fn send_bodies() {
        let ok = json!({
            "payload": { "notification": { "category": "IM", "title": "T", "body": "B",
                "notifyId": 7, "badge": { "addNum": 1 }, "clickAction": { "actionType": 0 } } },
            "target": { "token": ["t1"] },
            "pushOptions": { "ttl": 86400 }
        });
        let check = |v: &Value| check_send(&headers(), v.to_string().as_bytes()).map(|(t, ())| t);
        assert_eq!(check(&ok), Ok(vec!["t1".to_owned()]));
        let with = |path: &[&str], value: Value| {
            let mut v = ok.clone();
            let mut at = &mut v;
            for key in &path[..path.len() - 1] {
                at = &mut at[*key];
            }
            at[path[path.len() - 1]] = value;
            check(&v).unwrap_err()
        };
        assert_eq!(with(&["target", "token"], json!([])), Reply::TokenCount);
        assert_eq!(with(&["target", "token"], json!("t")), Reply::PayloadError);
        for category in ["CHAT", "PLAY_VOICE"] {
            assert_eq!(
                with(&["payload", "notification", "category"], json!(category)),
                Reply::ParameterError,
                "{category}"
            );
        }
        assert_eq!(
            with(
                &["payload", "notification", "appMessageId"],
                json!("x".repeat(65))
            ),
            Reply::PayloadError
        );
        assert_eq!(
            with(&["payload", "notification", "title"], json!("")),
            Reply::PayloadError
        );
        assert_eq!(
            with(
                &["payload", "notification", "badge"],
                json!({ "addNum": 100 })
            ),
            Reply::PayloadError
        );
        assert_eq!(
            with(&["pushOptions", "ttl"], json!(MAX_TTL + 1)),
            Reply::ParameterError
        );
        let big = "x".repeat(MAX_BODY);
        assert_eq!(
            with(&["payload", "notification", "body"], json!(big)),
            Reply::BodyTooLarge
        );
        // The token array does not count.
        let many: Vec<String> = (0..MAX_TOKENS).map(|i| format!("token-{i:0>40}")).collect();
        assert_eq!(
            check(&{
                let mut v = ok.clone();
                v["target"]["token"] = json!(many);
                v
            })
            .map(|t| t.len()),
            Ok(MAX_TOKENS)
        );
        assert_eq!(
            check_send(&HeaderMap::new(), b"{}").unwrap_err(),
            Reply::ParameterError
        );
    }

    #[test]
    fn revoke_bodies() {
        let check = |v: Value| check_revoke(&headers(), v.to_string().as_bytes());
        assert_eq!(
            check(json!({ "notifyId": 5, "token": ["t"] })),
            Ok((5, vec!["t".to_owned()]))
        );
        assert_eq!(
            check(json!({ "notifyId": 0, "token": ["t"] })),
            Err(Reply::PayloadError)
        );
        assert_eq!(check(json!({ "notifyId": 5 })), Err(Reply::ParameterError));
    }
}
