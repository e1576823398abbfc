//! What the request/response stand-ins (Huawei, Honor, vivo) share: the
//! per-device-token scripts, the auth tokens they issue (with lifetimes on
//! the stand-in's clock, and a switch that expires them all), the record of
//! accepted pushes, and the counts.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ring::rand::SecureRandom as _;
use tidings_std::clock::SharedClock;

use crate::Error;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A scripted answer for one device token: always, or for the next `n`
/// requests naming it.
#[derive(Clone, Debug)]
pub(crate) struct Script<R> {
    reply: R,
    remaining: Option<u32>,
}

/// Per-device-token scripts.
#[derive(Debug)]
pub(crate) struct Scripts<R> {
    map: Mutex<HashMap<String, Script<R>>>,
}

impl<R> Default for Scripts<R> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Clone> Scripts<R> {
    pub(crate) fn new(initial: Vec<(String, R, Option<u32>)>) -> Self {
        let map = initial
            .into_iter()
            .filter(|(_, _, n)| *n != Some(0))
            .map(|(token, reply, remaining)| (token, Script { reply, remaining }))
            .collect();
        Self {
            map: Mutex::new(map),
        }
    }

    /// `n`: `None` always, `Some(n)` the next `n` requests (0 removes).
    pub(crate) fn set(&self, token: &str, reply: R, n: Option<u32>) {
        let mut map = lock(&self.map);
        if n == Some(0) {
            map.remove(token);
        } else {
            map.insert(
                token.to_owned(),
                Script {
                    reply,
                    remaining: n,
                },
            );
        }
    }

    pub(crate) fn remove(&self, token: &str) {
        lock(&self.map).remove(token);
    }

    /// The reply scripted for `token`, counting one use.
    pub(crate) fn take(&self, token: &str) -> Option<R> {
        let mut map = lock(&self.map);
        let script = map.get_mut(token)?;
        let reply = script.reply.clone();
        if let Some(n) = script.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(token);
            }
        }
        Some(reply)
    }
}

/// What an auth token presented to a stand-in turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    /// Issued by this stand-in, but past its lifetime or expired on request.
    Expired,
    /// Never issued here.
    Unknown,
}

/// The auth tokens a stand-in issued: random, each with its expiry on the
/// stand-in's clock.
#[derive(Debug)]
pub(crate) struct IssuedTokens {
    clock: SharedClock,
    lifetime: Duration,
    issued: Mutex<HashMap<String, SystemTime>>,
    fetches: AtomicU64,
}

impl IssuedTokens {
    pub(crate) fn new(clock: SharedClock, lifetime: Duration) -> Self {
        Self {
            clock,
            lifetime,
            issued: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        }
    }

    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A fresh token (40 hex digits of randomness).
    pub(crate) fn issue(&self) -> Result<String, Error> {
        let mut bytes = [0u8; 20];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Key("no randomness for a token".into()))?;
        let token = hex::encode(bytes);
        lock(&self.issued).insert(token.clone(), self.clock.now() + self.lifetime);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        Ok(token)
    }

    pub(crate) fn check(&self, token: &str) -> TokenState {
        match lock(&self.issued).get(token) {
            None => TokenState::Unknown,
            Some(expiry) if self.clock.now() < *expiry => TokenState::Valid,
            Some(_) => TokenState::Expired,
        }
    }

    /// Every token issued so far is expired from now on.
    pub(crate) fn expire_all(&self) {
        let now = self.clock.now();
        for expiry in lock(&self.issued).values_mut() {
            *expiry = now;
        }
    }

    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

/// What a stand-in's token endpoint can be told to answer instead of a
/// token (every stand-in whose provider has one: Huawei, Honor, vivo, FCM,
/// OPPO), so a client's tests reach a failing or silent endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenFault {
    /// This HTTP status with an empty JSON object as the body, and a
    /// `Retry-After: <seconds>` header when given.
    Status {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Read the request and never answer it (until the stand-in stops).
    Hang,
}

/// A token endpoint's fault switch and its count of requests (answered or
/// not, refused or not).
#[derive(Debug, Default)]
pub(crate) struct TokenEndpoint {
    fault: Mutex<Option<TokenFault>>,
    requests: AtomicU64,
}

impl TokenEndpoint {
    pub(crate) fn set_fault(&self, fault: Option<TokenFault>) {
        *lock(&self.fault) = fault;
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one token request and answers the fault set, if any (a
    /// [`TokenFault::Hang`] never returns); `None`: answer normally.
    pub(crate) async fn fault(&self) -> Option<axum::response::Response> {
        use axum::response::IntoResponse as _;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let fault = lock(&self.fault).clone()?;
        match fault {
            TokenFault::Status {
                status,
                retry_after,
            } => {
                let status = axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = (
                    status,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    "{}",
                )
                    .into_response();
                if let Some(seconds) = retry_after {
                    response.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from(seconds),
                    );
                }
                Some(response)
            }
            TokenFault::Hang => std::future::pending().await,
        }
    }
}

/// One accepted push, as the stand-in received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The app id the request named (URL path or body).
    pub app_id: String,
    /// The device tokens the body addressed (Huawei/Honor `token[]`, vivo
    /// `regId`), including any the answer called invalid.
    pub tokens: Vec<String>,
    /// The tokens the answer called invalid (a partial success).
    pub invalid_tokens: Vec<String>,
    /// Honor's `timestamp` header (epoch milliseconds).
    pub timestamp_ms: Option<u64>,
    /// The body, exactly as received.
    pub body: Bytes,
}

impl Accepted {
    /// The body parsed as JSON (every stand-in checks it is JSON).
    pub fn payload(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Auth tokens issued.
    pub token_fetches: u64,
    /// Token requests refused (bad credentials, signature or timestamp).
    pub token_refusals: u64,
    /// Token requests received (issued, refused or faulted: see
    /// [`TokenFault`]).
    pub token_requests: u64,
    /// Push requests received (every one, refused or not).
    pub requests: u64,
    /// Push answers by HTTP status.
    pub answers: BTreeMap<u16, u64>,
    /// Push answers by the vendor's result code (`""` when it has none).
    pub codes: BTreeMap<String, u64>,
}

impl Stats {
    /// Push answers carrying this vendor code.
    pub fn answered_code(&self, code: &str) -> u64 {
        self.codes.get(code).copied().unwrap_or(0)
    }
}

/// The accepted pushes, the optional record file and the counts.
#[derive(Debug)]
pub(crate) struct Recorder {
    accepted: Mutex<Vec<Accepted>>,
    file: Option<Mutex<std::fs::File>>,
    answers: Mutex<BTreeMap<u16, u64>>,
    codes: Mutex<BTreeMap<String, u64>>,
    requests: AtomicU64,
    token_refusals: AtomicU64,
}

impl Recorder {
    pub(crate) fn new(record_to: Option<&PathBuf>) -> Result<Self, Error> {
        let file = match record_to {
            None => None,
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| Error::RecordFile {
                        path: path.clone(),
                        source,
                    })?,
            )),
        };
        Ok(Self {
            accepted: Mutex::new(Vec::new()),
            file,
            answers: Mutex::new(BTreeMap::new()),
            codes: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
            token_refusals: AtomicU64::new(0),
        })
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_refused(&self) {
        self.token_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn answer(&self, status: u16, code: &str) {
        *lock(&self.answers).entry(status).or_insert(0) += 1;
        *lock(&self.codes).entry(code.to_owned()).or_insert(0) += 1;
    }

    pub(crate) fn accept(&self, push: Accepted) {
        if let Some(file) = &self.file {
            let payload = push.payload().unwrap_or_else(|| {
                serde_json::Value::String(String::from_utf8_lossy(&push.body).into_owned())
            });
            let mut line = serde_json::json!({
                "app_id": push.app_id,
                "tokens": push.tokens,
                "invalid_tokens": push.invalid_tokens,
                "timestamp_ms": push.timestamp_ms,
                "body": String::from_utf8_lossy(&push.body),
                "payload": payload,
            })
            .to_string();
            line.push('\n');
            // A failed write to the record file must not fail the push.
            let _ = lock(file).write_all(line.as_bytes());
        }
        lock(&self.accepted).push(push);
    }

    pub(crate) fn accepted(&self) -> Vec<Accepted> {
        lock(&self.accepted).clone()
    }

    pub(crate) fn accepted_count(&self) -> usize {
        lock(&self.accepted).len()
    }

    pub(crate) fn stats(&self, token_fetches: u64, token_requests: u64) -> Stats {
        Stats {
            token_fetches,
            token_requests,
            token_refusals: self.token_refusals.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            answers: lock(&self.answers).clone(),
            codes: lock(&self.codes).clone(),
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs (`+` is
/// a space, `%XX` a byte); `None` when it is not UTF-8 after decoding.
pub fn form_decode(body: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(part: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while let Some(&b) = part.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = part.get(i + 1..i + 3)?;
                    let text = std::str::from_utf8(hex).ok()?;
                    out.push(u8::from_str_radix(text, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let name = decode(it.next().unwrap_or_default())?;
            let value = decode(it.next().unwrap_or_default())?;
            Some((name, value))
        })
        .collect()
}

/// An OAuth client-credentials token request (RFC 6749 §4.4) checked
/// against one client: what the Huawei and Honor stand-ins' token endpoints
/// share. `Ok(())` when `grant_type`, `client_id` and `client_secret` are
/// right; else the RFC 6749 §5.2 error name.
pub(crate) fn check_client_credentials(
    content_type: Option<&str>,
    body: &[u8],
    client_id: &str,
    client_secret: &str,
) -> Result<(), &'static str> {
    if !content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return Err("invalid_request");
    }
    let pairs = form_decode(body).ok_or("invalid_request")?;
    let get = |name: &str| {
        let mut values = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    };
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(_) => return Err("unsupported_grant_type"),
        None => return Err("invalid_request"),
    }
    let (Some(id), Some(secret)) = (get("client_id"), get("client_secret")) else {
        return Err("invalid_request");
    };
    if id != client_id || !constant_time_eq(secret.as_bytes(), client_secret.as_bytes()) {
        return Err("invalid_client");
    }
    Ok(())
}

/// A client-credentials token endpoint's answer, as Huawei's and Honor's
/// share it: the checked request gets a fresh token (`access_token`,
/// `expires_in`, `token_type`); a refused one is counted and its RFC 6749
/// error name (and whether it is `invalid_client`, a 401) is handed to
/// `refusal`, which writes the vendor's error body.
pub(crate) fn token_answer(
    content_type: Option<&str>,
    body: &[u8],
    client: (&str, &str),
    tokens: &IssuedTokens,
    recorder: &Recorder,
    refusal: impl FnOnce(&'static str) -> serde_json::Value,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    match check_client_credentials(content_type, body, client.0, client.1) {
        Ok(()) => match tokens.issue() {
            Ok(token) => axum::Json(serde_json::json!({
                "access_token": token,
                "expires_in": tokens.lifetime().as_secs(),
                "token_type": "Bearer",
            }))
            .into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(error) => {
            recorder.token_refused();
            let status = if error == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, axum::Json(refusal(error))).into_response()
        }
    }
}

/// Compares secrets without an early exit on the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random secret for a stand-in's test credentials (32 hex digits).
pub fn generate_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Key("no randomness for a secret".into()))?;
    Ok(hex::encode(bytes))
}

/// A random request id for answers.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tidings_std::clock::ManualClock;

    #[test]
    fn form_decoding_and_client_credentials() {
        assert_eq!(
            form_decode(b"a=b+c&d=%C3%A9%2B").unwrap(),
            [
                ("a".to_owned(), "b c".to_owned()),
                ("d".to_owned(), "é+".to_owned())
            ]
        );
        assert!(form_decode(b"a=%zz").is_none());
        let form = Some("application/x-www-form-urlencoded");
        let ok = b"grant_type=client_credentials&client_id=1&client_secret=s%2B";
        assert_eq!(check_client_credentials(form, ok, "1", "s+"), Ok(()));
        assert_eq!(
            check_client_credentials(form, ok, "1", "s"),
            Err("invalid_client")
        );
        assert_eq!(
            check_client_credentials(Some("application/json"), ok, "1", "s+"),
            Err("invalid_request")
        );
        let twice = b"grant_type=client_credentials&client_id=1&client_id=1&client_secret=s";
        assert_eq!(
            check_client_credentials(form, twice, "1", "s"),
            Err("invalid_request")
        );
        let grant = b"grant_type=password&client_id=1&client_secret=s";
        assert_eq!(
            check_client_credentials(form, grant, "1", "s"),
            Err("unsupported_grant_type")
        );
    }

    #[test]
    fn issued_tokens_expire_on_the_clock_and_on_request() {
        let clock = ManualClock::starting_now();
        let tokens = IssuedTokens::new(Arc::new(clock.clone()), Duration::from_secs(60));
        let t = tokens.issue().unwrap();
        assert_eq!(tokens.check(&t), TokenState::Valid);
        assert_eq!(tokens.check("other"), TokenState::Unknown);
        clock.advance(Duration::from_secs(60));
        assert_eq!(tokens.check(&t), TokenState::Expired);
        let u = tokens.issue().unwrap();
        tokens.expire_all();
        assert_eq!(tokens.check(&u), TokenState::Expired);
        assert_eq!(tokens.fetches(), 2);
    }

    #[test]
    fn scripts_count_down() {
        let scripts = Scripts::new(vec![("a".into(), 1, Some(2)), ("b".into(), 2, None)]);
        assert_eq!(
            (scripts.take("a"), scripts.take("a"), scripts.take("a")),
            (Some(1), Some(1), None)
        );
        assert_eq!((scripts.take("b"), scripts.take("b")), (Some(2), Some(2)));
        scripts.remove("b");
        assert_eq!(scripts.take("b"), None);
    }
}
