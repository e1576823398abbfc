//! The one token cache every provider with an auth endpoint shares (FCM,
//! Huawei and Honor OAuth, OPPO's `auth_token`, vivo's `authToken`; APNs
//! mints its JWT locally and Xiaomi, Meizu and TPNS sign each request, so
//! they fetch nothing).
//!
//! - **One fetch at a time.** A send that needs a token takes the cache's
//!   lock; the first one finding no usable token starts the fetch, and every
//!   send arriving meanwhile waits for that fetch and shares its result: the
//!   fresh token, or the failure. The fetch runs as its own task holding the
//!   lock, so a send that gives up (its deadline passed) does not cancel it:
//!   its result is still stored for the sends after.
//! - **Bounded.** A fetch gets at most the client's request timeout; one
//!   that takes longer is a `Timeout` failure like any other. A send's own
//!   deadline covers its wait for the token too (each client runs its send
//!   under [`crate::https::within`]).
//! - **A failure is remembered.** A fetch that fails starts a backoff,
//!   [`TOKEN_BACKOFF`] (1 s, doubling with each failure in a row, at most
//!   60 s; a `Retry-After` from the endpoint wins when longer), reset by the
//!   next success. Until it ends, every send gets the same answer at once,
//!   without a new fetch ([`TokenFailure::delivery`]): a retry not before
//!   the end of the backoff, or [`Outcome::CredentialsRefused`] when the
//!   endpoint refused the credentials. A token that is still valid (a
//!   refresh ahead of its expiry failed) is used through the backoff.
//! - **Refused credentials.** An OAuth `invalid_client`, `invalid_grant`,
//!   `unauthorized_client` (any 4xx but 408 and 429: see
//!   [`read_oauth_answer`]), or a vendor's auth code for a bad app key,
//!   secret, signature or timestamp, is [`TokenError::Refused`]: the push's
//!   outcome is [`Outcome::CredentialsRefused`] with `OAuth2:<error>` or
//!   `auth: <code> <message>` as its reason, and the refusal is remembered
//!   for the backoff as any failure is.
//!
//! Failures are logged once per fetch, at debug level: the gateway logs the
//! channel's state changes. Tokens are never logged.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use tidings_std::clock::SharedClock;

use crate::http2::SendError;
use crate::kit::{ExposeSecret as _, SecretString};
use crate::outcome::{Backoff, Delivery, Outcome};

/// How long a failed token fetch is remembered: 1 s, doubling with each
/// failure in a row, at most a minute; reset by a success.
pub const TOKEN_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(60),
};

/// A token endpoint that answers no `expires_in` is taken to mean an hour
/// (Huawei's documented lifetime, vendors.md §3.1; FCM's, §2.1).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Why a token could not be had. Never carries a secret or a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The request got no answer: the connection was refused or lost, TLS
    /// or DNS failed, or the fetch's deadline passed.
    Transport(SendError),
    /// The endpoint answered but gave no token now (5xx, 429, 408, an
    /// unreadable or token-less success): try again later.
    Unavailable {
        status: u16,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The endpoint refused the credentials (or the request carrying them):
    /// the configuration must change. `status` is `None` when the refusal
    /// is local (an assertion that cannot be signed).
    Refused { status: Option<u16>, reason: String },
}

impl TokenError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            TokenError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A remembered failure: what went wrong, and until when every send gets it
/// without a new fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFailure {
    pub error: TokenError,
    /// The end of the backoff: no fetch before it.
    pub until: SystemTime,
}

impl TokenFailure {
    /// The push's [`Delivery`] when its token could not be had: the same for
    /// every send during the backoff. No answer ([`TokenError::Transport`]):
    /// a retry at [`TokenFailure::until`] with the transport's reason
    /// (`Unreachable`, `ConnectionLost`, `Timeout`) and `status: None`; an
    /// unavailable endpoint: a retry at `until` with its status; refused
    /// credentials: [`Outcome::CredentialsRefused`].
    pub fn delivery(&self) -> Delivery {
        match &self.error {
            TokenError::Transport(e) => Delivery::bare(
                Outcome::Retry {
                    reason: e.reason().to_owned(),
                    not_before: self.until,
                },
                None,
            ),
            TokenError::Unavailable { status, reason, .. } => Delivery::bare(
                Outcome::Retry {
                    reason: reason.clone(),
                    not_before: self.until,
                },
                Some(*status),
            ),
            TokenError::Refused { status, reason } => Delivery::bare(
                Outcome::CredentialsRefused {
                    reason: reason.clone(),
                },
                *status,
            ),
        }
    }
}

/// A provider's token, shared by every send (see the module doc).
pub struct TokenCache {
    provider: &'static str,
    clock: SharedClock,
    refresh_before: Duration,
    fetch_timeout: Duration,
    state: Arc<tokio::sync::Mutex<State>>,
    fetches: Arc<AtomicU64>,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    failure: Option<TokenFailure>,
    /// Failed fetches in a row.
    failures: u32,
}

struct Cached {
    token: String,
    expires_at: SystemTime,
}

impl State {
    /// The token when it is still valid at `now`.
    fn valid(&self, now: SystemTime) -> Option<String> {
        self.token
            .as_ref()
            .filter(|c| now < c.expires_at)
            .map(|c| c.token.clone())
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("provider", &self.provider)
            .field("refresh_before", &self.refresh_before)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache for `provider`'s tokens (the name is for logs), renewed
    /// `refresh_before` ahead of their expiry; a fetch may take at most
    /// `fetch_timeout` (the client's request timeout).
    pub fn new(
        provider: &'static str,
        clock: SharedClock,
        refresh_before: Duration,
        fetch_timeout: Duration,
    ) -> Self {
        Self {
            provider,
            clock,
            refresh_before,
            fetch_timeout,
            state: Arc::new(tokio::sync::Mutex::new(State::default())),
            fetches: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Token requests made so far (successful or not).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The current token; `fetch` (which answers a token and how long it
    /// lives) is called, and its future run, only when there is none or it
    /// is about to expire and no failure is remembered. The future runs to
    /// its end (or its deadline) even when this send is dropped meanwhile.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, TokenFailure>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, Duration), TokenError>> + Send + 'static,
    {
        let mut state = Arc::clone(&self.state).lock_owned().await;
        let now = self.clock.now();
        if let Some(token) = state.valid(now + self.refresh_before) {
            return Ok(token);
        }
        if let Some(failure) = state.failure.clone().filter(|f| now < f.until) {
            return state.valid(now).ok_or(failure);
        }
        let fetch = fetch();
        let (provider, clock, timeout) =
            (self.provider, Arc::clone(&self.clock), self.fetch_timeout);
        let fetches = Arc::clone(&self.fetches);
        let task = tokio::spawn(async move {
            fetches.fetch_add(1, Ordering::Relaxed);
            let result = match tokio::time::timeout(timeout, fetch).await {
                Ok(Ok((token, _))) if HeaderValue::from_str(&token).is_err() => {
                    Err(TokenError::Unavailable {
                        status: 200,
                        reason: "TokenUnusable".into(),
                        retry_after: None,
                    })
                }
                Ok(result) => result,
                Err(_) => Err(TokenError::Transport(SendError::Timeout(format!(
                    "no token within {timeout:?}"
                )))),
            };
            let now = clock.now();
            match result {
                Ok((token, lifetime)) => {
                    tracing::debug!(
                        provider,
                        lifetime_secs = lifetime.as_secs(),
                        "fetched a token"
                    );
                    state.token = Some(Cached {
                        token: token.clone(),
                        expires_at: now + lifetime,
                    });
                    state.failure = None;
                    state.failures = 0;
                    Ok(token)
                }
                Err(error) => {
                    let wait = TOKEN_BACKOFF
                        .delay(state.failures)
                        .max(error.retry_after().unwrap_or_default());
                    state.failures = state.failures.saturating_add(1);
                    tracing::debug!(
                        provider,
                        ?error,
                        wait_secs = wait.as_secs(),
                        "token fetch failed; remembered for the backoff"
                    );
                    let failure = TokenFailure {
                        error,
                        until: now + wait,
                    };
                    state.failure = Some(failure.clone());
                    state.valid(now).ok_or(failure)
                }
            }
        });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(TokenFailure {
                error: TokenError::Transport(SendError::Lost(format!("token fetch ended: {e}"))),
                until: self.clock.now() + TOKEN_BACKOFF.base,
            }),
        }
    }

    /// One send with the current token, in a header value `prefix` + token
    /// marked sensitive. `send` answers what the provider said and whether
    /// it refused the token; then the token is dropped and the push sent
    /// ONCE more with a fresh one (a second refusal is `finish`'s to
    /// report: the credentials are wrong). `finish` makes the delivery of
    /// the last answer. No token: the failure's delivery; a token that
    /// cannot go into a header: dropped, and the push unanswered
    /// (`TokenUnusable`).
    pub async fn send_once_more<T, F, Fut, S, SFut>(
        &self,
        fetch: F,
        prefix: &str,
        attempt: u32,
        send: S,
        finish: impl FnOnce(T) -> Delivery,
    ) -> Delivery
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(String, Duration), TokenError>> + Send + 'static,
        S: Fn(HeaderValue, String) -> SFut,
        SFut: Future<Output = Result<(T, bool), Delivery>>,
    {
        let mut refreshed = false;
        loop {
            let token = match self.get(&fetch).await {
                Ok(token) => token,
                Err(failure) => return failure.delivery(),
            };
            let Ok(mut value) = HeaderValue::try_from(format!("{prefix}{token}")) else {
                self.invalidate(&token).await;
                return Delivery::unanswered("TokenUnusable", self.clock.now(), attempt);
            };
            value.set_sensitive(true);
            let (answer, token_refused) = match send(value, token.clone()).await {
                Ok(sent) => sent,
                Err(delivery) => return delivery,
            };
            if token_refused {
                self.invalidate(&token).await;
                if !refreshed {
                    let provider = self.provider;
                    tracing::debug!(
                        provider,
                        "the token was refused; sending once more with a new one"
                    );
                    refreshed = true;
                    continue;
                }
            }
            return finish(answer);
        }
    }

    /// The provider refused `rejected` as expired or invalid: forget it so
    /// the next [`TokenCache::get`] fetches a new one. A newer token that
    /// another send already fetched is kept.
    pub async fn invalidate(&self, rejected: &str) {
        let mut state = self.state.lock().await;
        if state.token.as_ref().is_some_and(|c| c.token == rejected) {
            state.token = None;
        }
    }
}

/// Reads an OAuth 2.0 token answer (RFC 6749 §5.1, §5.2), as FCM, Huawei
/// and Honor give it: a 2xx with a non-empty `access_token` is the token
/// and its `expires_in` (seconds; [`DEFAULT_TOKEN_LIFETIME`] when absent).
/// Otherwise the `error` (a string, or Huawei's number) makes the reason
/// `OAuth2:<error>` (`OAuth2:http_<status>` without one), and:
/// - 408, 429 and 5xx are [`TokenError::Unavailable`];
/// - a 2xx without a token is `Unavailable` too (`OAuth2:BadTokenAnswer`);
/// - every other status is [`TokenError::Refused`]. This covers the
///   credential errors (`invalid_client`, `invalid_grant`,
///   `unauthorized_client`, Huawei's numbers) and, as a decision where
///   the vendors are silent, also `invalid_request`, `invalid_scope`,
///   `unsupported_grant_type` and a 404: the request carries nothing but
///   the configured credentials and endpoint, so every send of the channel
///   would meet the same refusal until the configuration changes.
pub fn read_oauth_answer(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<(String, Duration), TokenError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: Option<String>,
        expires_in: Option<u64>,
        error: Option<serde_json::Value>,
        error_description: Option<String>,
    }
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let success = (200..300).contains(&status);
    if let Some(Answer {
        access_token: Some(token),
        expires_in,
        ..
    }) = answer.as_ref().filter(|_| success)
    {
        if !token.is_empty() {
            let lifetime = expires_in.map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
            return Ok((token.clone(), lifetime));
        }
    }
    if success {
        return Err(TokenError::Unavailable {
            status,
            reason: "OAuth2:BadTokenAnswer".into(),
            retry_after,
        });
    }
    let (error, description) = answer.map_or((None, None), |a| (a.error, a.error_description));
    let error = match error {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => format!("http_{status}"),
    };
    let reason = format!("OAuth2:{error}");
    if matches!(status, 408 | 429 | 500..=599) {
        return Err(TokenError::Unavailable {
            status,
            reason,
            retry_after,
        });
    }
    tracing::debug!(status, %reason, description = description.as_deref().unwrap_or(""), "the token endpoint refused the credentials");
    Err(TokenError::Refused {
        status: Some(status),
        reason,
    })
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4), as Huawei (vendors.md
/// §3.1) and Honor (§4.1) take them: a form POST of `grant_type`,
/// `client_id` and `client_secret`, the answer read by
/// [`read_oauth_answer`]. Takes its values by value: the fetch runs as its
/// own task.
pub async fn client_credentials(
    http: reqwest::Client,
    clock: SharedClock,
    url: String,
    client_id: String,
    client_secret: SecretString,
) -> Result<(String, Duration), TokenError> {
    let body = crate::kit::form::body(&[
        ("grant_type", "client_credentials"),
        ("client_id", &client_id),
        ("client_secret", client_secret.expose_secret()),
    ]);
    let request = http
        .post(&url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    let answer = crate::https::exchange(request, &clock)
        .await
        .map_err(TokenError::Transport)?;
    read_oauth_answer(answer.status, answer.retry_after, &answer.body)
}

/// A token endpoint's answers as rows `(status, body, what the reader
/// makes of it)`: the OAuth reader's test and the vendors' auth readers'.
#[cfg(test)]
pub(crate) fn assert_token_answers(
    read: impl Fn(u16, &[u8]) -> TokenAnswer,
    rows: &[(u16, &[u8], TokenAnswer)],
) {
    for (status, body, expected) in rows {
        let body_text = String::from_utf8_lossy(body);
        assert_eq!(&read(*status, body), expected, "{status} {body_text}");
    }
}

/// What a token endpoint's answer reader makes of it.
#[cfg(test)]
pub(crate) type TokenAnswer = Result<(String, Duration), TokenError>;

#[cfg(test)]
pub(crate) fn refused(status: u16, reason: &str) -> TokenAnswer {
    Err(TokenError::Refused {
        status: Some(status),
        reason: reason.into(),
    })
}

#[cfg(test)]
pub(crate) fn unavailable(status: u16, reason: &str, retry_after: Option<Duration>) -> TokenAnswer {
    Err(TokenError::Unavailable {
        status,
        reason: reason.into(),
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use tidings_std::clock::{Clock, ManualClock};

    const HOUR: Duration = Duration::from_secs(3600);

    fn cache(clock: &ManualClock) -> TokenCache {
        TokenCache::new(
            "test",
            Arc::new(clock.clone()),
            Duration::from_secs(180),
            Duration::from_secs(5),
        )
    }

    #[tokio::test]
    async fn fetches_once_refreshes_early_and_after_invalidation() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        let fetch = |n: u32| async move { Ok((format!("t{n}"), HOUR)) };
        assert_eq!(cache.get(|| fetch(1)).await.unwrap(), "t1");
        assert_eq!(cache.get(|| fetch(2)).await.unwrap(), "t1");
        clock.advance(HOUR - Duration::from_secs(181));
        assert_eq!(cache.get(|| fetch(3)).await.unwrap(), "t1");
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            cache.get(|| fetch(4)).await.unwrap(),
            "t4",
            "refreshed 180 s early"
        );
        cache.invalidate("t1").await;
        assert_eq!(
            cache.get(|| fetch(5)).await.unwrap(),
            "t4",
            "a stale rejection keeps the newer token"
        );
        cache.invalidate("t4").await;
        assert_eq!(cache.get(|| fetch(6)).await.unwrap(), "t6");
        assert_eq!(cache.fetches(), 3);
    }

    #[tokio::test]
    async fn a_failure_is_remembered_for_a_doubling_backoff_reset_by_success() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        let unavailable = || async {
            Err::<(String, Duration), _>(TokenError::Unavailable {
                status: 503,
                reason: "OAuth2:http_503".into(),
                retry_after: None,
            })
        };
        let start = clock.now();
        let first = cache.get(unavailable).await.unwrap_err();
        assert_eq!(first.until, start + Duration::from_secs(1));
        assert_eq!(
            first.delivery(),
            Delivery::bare(
                Outcome::Retry {
                    reason: "OAuth2:http_503".into(),
                    not_before: start + Duration::from_secs(1)
                },
                Some(503)
            )
        );
        // Within the backoff: the same failure, no fetch.
        clock.advance(Duration::from_millis(999));
        let called = AtomicU32::new(0);
        let again = cache
            .get(|| {
                called.fetch_add(1, Ordering::Relaxed);
                unavailable()
            })
            .await
            .unwrap_err();
        assert_eq!(again, first);
        assert_eq!(called.load(Ordering::Relaxed), 0);
        // After it: a fetch; its failure doubles the backoff …
        let (mut until, mut waits) = (first.until, Vec::new());
        for _ in 0..8 {
            clock.set(until);
            let failure = cache.get(unavailable).await.unwrap_err();
            waits.push(failure.until.duration_since(until).unwrap().as_secs());
            until = failure.until;
        }
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(cache.fetches(), 9);
        // … a success resets it.
        clock.set(until);
        assert_eq!(
            cache
                .get(|| async { Ok(("t".into(), HOUR)) })
                .await
                .unwrap(),
            "t"
        );
        cache.invalidate("t").await;
        let now = clock.now();
        assert_eq!(
            cache.get(unavailable).await.unwrap_err().until,
            now + Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn retry_after_wins_when_longer_and_a_valid_token_outlives_a_failed_refresh() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        assert_eq!(
            cache
                .get(|| async { Ok(("t1".into(), HOUR)) })
                .await
                .unwrap(),
            "t1"
        );
        clock.advance(HOUR - Duration::from_secs(60));
        let busy = || async {
            Err::<(String, Duration), _>(TokenError::Unavailable {
                status: 429,
                reason: "OAuth2:http_429".into(),
                retry_after: Some(Duration::from_secs(30)),
            })
        };
        assert_eq!(cache.get(busy).await.unwrap(), "t1", "still valid a minute");
        let until = cache.state.lock().await.failure.clone().unwrap().until;
        assert_eq!(until, clock.now() + Duration::from_secs(30));
        clock.advance(Duration::from_secs(29));
        assert_eq!(cache.get(busy).await.unwrap(), "t1");
        assert_eq!(cache.fetches(), 2);
    }

    #[tokio::test]
    async fn refusals_are_credentials_refused_and_tokens_must_fit_a_header() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        let refused = cache
            .get(|| async {
                Err::<(String, Duration), _>(TokenError::Refused {
                    status: Some(401),
                    reason: "OAuth2:invalid_client".into(),
                })
            })
            .await
            .unwrap_err();
        assert_eq!(
            refused.delivery(),
            Delivery::bare(
                Outcome::CredentialsRefused {
                    reason: "OAuth2:invalid_client".into()
                },
                Some(401)
            )
        );
        clock.advance(Duration::from_secs(1));
        let bad = cache
            .get(|| async { Ok(("line\nbreak".into(), HOUR)) })
            .await
            .unwrap_err();
        assert_eq!(
            bad.error,
            TokenError::Unavailable {
                status: 200,
                reason: "TokenUnusable".into(),
                retry_after: None
            }
        );
        assert_eq!(bad.until, clock.now() + Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_fetch_outlives_the_send_that_started_it_and_is_bounded() {
        let clock = ManualClock::starting_now();
        let cache = TokenCache::new(
            "test",
            Arc::new(clock.clone()),
            Duration::ZERO,
            Duration::from_millis(50),
        );
        // The first send gives up at once; its fetch never answers.
        let gave_up =
            tokio::time::timeout(Duration::from_millis(1), cache.get(std::future::pending)).await;
        assert!(gave_up.is_err());
        // The next send waits for that same fetch and gets its deadline.
        let failure = cache
            .get(|| async { Ok(("never fetched".into(), HOUR)) })
            .await
            .unwrap_err();
        assert_eq!(
            failure.delivery(),
            Delivery::bare(
                Outcome::Retry {
                    reason: "Timeout".into(),
                    not_before: clock.now() + Duration::from_secs(1)
                },
                None
            )
        );
        assert_eq!(cache.fetches(), 1);
    }

    #[test]
    fn oauth_answers() {
        let nine = Some(Duration::from_secs(9));
        let read = |status, body: &[u8]| read_oauth_answer(status, nine, body);
        assert_token_answers(
            read,
            &[
                (
                    200,
                    br#"{"access_token":"a","expires_in":60}"#,
                    Ok(("a".into(), Duration::from_secs(60))),
                ),
                (
                    200,
                    br#"{"access_token":"a"}"#,
                    Ok(("a".into(), DEFAULT_TOKEN_LIFETIME)),
                ),
                (
                    401,
                    br#"{"error":1101,"sub_error":20152}"#,
                    refused(401, "OAuth2:1101"),
                ),
                (404, b"<html>", refused(404, "OAuth2:http_404")),
                (503, b"", unavailable(503, "OAuth2:http_503", nine)),
                (
                    429,
                    br#"{"error":"rate_limited"}"#,
                    unavailable(429, "OAuth2:rate_limited", nine),
                ),
                (200, b"{}", unavailable(200, "OAuth2:BadTokenAnswer", nine)),
                (
                    200,
                    br#"{"access_token":""}"#,
                    unavailable(200, "OAuth2:BadTokenAnswer", nine),
                ),
            ],
        );
        // RFC 6749's credential errors refuse, under their own name.
        for (status, error) in [
            (400, "invalid_grant"),
            (401, "invalid_client"),
            (400, "unauthorized_client"),
        ] {
            let body = serde_json::json!({ "error": error }).to_string();
            let reason = format!("OAuth2:{error}");
            assert_eq!(read(status, body.as_bytes()), refused(status, &reason));
        }
    }
}
