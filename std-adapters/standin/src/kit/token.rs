//! Credentials: the auth tokens a stand-in issues (lifetimes on its clock,
//! a switch that expires them all), its token endpoint's fault switch, and
//! the OAuth client-credentials check Huawei and Honor share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ring::rand::SecureRandom as _;
use tidings_std::clock::SharedClock;

use super::form::pairs;
use super::record::Recorder;
use super::util::{constant_time_eq, lock};
use crate::error::Error;

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
pub struct TokenEndpoint {
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
    let pairs = pairs(body).map_err(|_| "invalid_request")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tidings_std::clock::ManualClock;

    #[test]
    fn client_credentials() {
        let form = Some("application/x-www-form-urlencoded");
        let ok = b"grant_type=client_credentials&client_id=1&client_secret=s%2B";
        assert_eq!(check_client_credentials(form, ok, "1", "s+"), Ok(()));
        // Empty pairs and other repeated names pass, as they always did.
        let loose = b"grant_type=client_credentials&&client_id=1&client_secret=s&x&x=1";
        assert_eq!(check_client_credentials(form, loose, "1", "s"), Ok(()));
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
        let escape = b"grant_type=client_credentials&client_id=1&client_secret=%zz";
        assert_eq!(
            check_client_credentials(form, escape, "1", "%zz"),
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
}
