//! HTTPS for the providers that speak plain request/response (every one but
//! APNs): a `reqwest` client on our rustls config (ring, Mozilla roots plus
//! an optional extra CA; HTTP/2 when the server offers it, so FCM sends
//! multiplex), and the cached bearer token that OAuth-style providers share.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tidings_std::clock::SharedClock;

use crate::http2::SendError;
use crate::tls::{client_config, TlsError};

/// A client for one provider: its TLS trust and a whole-request deadline.
pub fn client(extra_ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    let config = client_config(extra_ca, None)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .connect_timeout(crate::http2::DEFAULT_CONNECT_TIMEOUT)
        .pool_idle_timeout(Some(crate::http2::DEFAULT_PING_INTERVAL))
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// A client that speaks HTTP/2 only (ALPN `h2`), for providers whose
/// endpoints all do (FCM): concurrent sends wait for the one connection
/// being opened and then multiplex over it, instead of each opening its own
/// while ALPN is still unknown.
pub fn client_http2_only(
    extra_ca: Option<&Path>,
    timeout: Duration,
) -> Result<reqwest::Client, TlsError> {
    let config = client_config(extra_ca, None)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .http2_prior_knowledge()
        .timeout(timeout)
        .connect_timeout(crate::http2::DEFAULT_CONNECT_TIMEOUT)
        .pool_idle_timeout(Some(crate::http2::DEFAULT_PING_INTERVAL))
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// Sorts a failed request the way [`crate::http2`] does: a request that
/// never reached the server may be sent again; one that timed out or lost
/// its connection after it was written may have been acted on.
pub fn classify(e: &reqwest::Error) -> SendError {
    // The error chain may name the endpoint's URL, never a credential: no
    // provider here puts a secret in the URL.
    let text = error_chain(e);
    if e.is_connect() {
        SendError::Connect(text)
    } else if e.is_timeout() {
        SendError::Timeout(text)
    } else {
        SendError::Lost(text)
    }
}

/// An error and its sources, `: `-joined (reqwest's own text is only the
/// outermost layer, "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Runs one send under the client's request timeout, token wait included:
/// when `timeout` passes first the send is dropped and the push is
/// [`crate::Delivery::unanswered`] with reason `Timeout`.
pub(crate) async fn within(
    provider: &str,
    timeout: Duration,
    clock: &SharedClock,
    attempt: u32,
    send: impl std::future::Future<Output = crate::Delivery>,
) -> crate::Delivery {
    match tokio::time::timeout(timeout, send).await {
        Ok(delivery) => delivery,
        Err(_) => SendError::Timeout(format!("no answer within {timeout:?}")).delivery(
            provider,
            clock.now(),
            attempt,
        ),
    }
}

/// A bearer token fetched from a provider's auth endpoint, shared by every
/// send: fetched once when first needed (one fetch at a time), reused until
/// `refresh_before` ahead of its expiry, dropped when the provider says it
/// expired. The token is never logged.
pub struct TokenCache {
    clock: SharedClock,
    refresh_before: Duration,
    current: tokio::sync::Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

struct Cached {
    token: String,
    expires_at: SystemTime,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("refresh_before", &self.refresh_before)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(clock: SharedClock, refresh_before: Duration) -> Self {
        Self {
            clock,
            refresh_before,
            current: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// Tokens fetched so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The current token, fetching one with `fetch` (which answers the
    /// token and how long it lives) when there is none or it is about to
    /// expire.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, Duration), E>>,
    {
        let mut current = self.current.lock().await;
        let now = self.clock.now();
        if let Some(c) = current.as_ref() {
            if now + self.refresh_before < c.expires_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = fetch().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        *current = Some(Cached {
            token: token.clone(),
            expires_at: self.clock.now() + lifetime,
        });
        Ok(token)
    }

    /// The provider refused `rejected` as expired or invalid: forget it so
    /// the next [`TokenCache::get`] fetches a new one. A newer token that
    /// another send already fetched is kept.
    pub async fn invalidate(&self, rejected: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| c.token == rejected) {
            *current = None;
        }
    }
}

/// A send's whole budget (token fetch, request, answer) unless the table
/// sets `request_timeout_secs`: as APNs.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// A token endpoint that answers no `expires_in` is taken to mean an hour
/// (Huawei's documented lifetime, vendors.md §3.1).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// `application/x-www-form-urlencoded` (vendors.md §10.6: keep
/// `A-Z a-z 0-9 * - . _`, space as `+`, everything else `%XX` uppercase).
pub fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(&mut out, name);
        out.push('=');
        encode_component(&mut out, value);
    }
    out
}

fn encode_component(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

/// `Retry-After` in seconds, if the answer carried one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::outcome::retry_after_seconds)
}

/// Why an auth token could not be had. Never carries the secret.
#[derive(Debug)]
pub enum TokenError {
    /// The request did not reach the endpoint, or its answer was lost.
    Transport(SendError),
    /// The endpoint refused the credentials (a 4xx other than 429, or a
    /// vendor code saying so): the configuration must change.
    Refused { status: u16, error: String },
    /// The endpoint failed (5xx, 429) or answered something unreadable:
    /// try again later.
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
}

impl TokenError {
    /// The push's [`crate::Delivery`] when its token could not be had: a
    /// refusal is [`crate::Outcome::Rejected`] (`TokenRefused`, logged at
    /// error level: the configuration is wrong), anything else a retry.
    pub fn delivery(
        &self,
        provider: &str,
        now: SystemTime,
        backoff: crate::outcome::Backoff,
        attempt: u32,
    ) -> crate::Delivery {
        use crate::outcome::Outcome;
        let (outcome, status) = match self {
            TokenError::Transport(e) => return e.delivery(provider, now, attempt),
            TokenError::Refused { status, error } => {
                tracing::error!(provider, status, %error, "the auth endpoint refused the credentials: check the configuration");
                (
                    Outcome::Rejected {
                        reason: "TokenRefused".into(),
                    },
                    Some(*status),
                )
            }
            TokenError::Unavailable {
                status,
                retry_after,
            } => {
                tracing::warn!(provider, status, "the auth endpoint is unavailable");
                (
                    Outcome::Retry {
                        reason: "TokenUnavailable".into(),
                        not_before: now + retry_after.unwrap_or(backoff.delay(attempt)),
                    },
                    Some(*status),
                )
            }
        };
        crate::Delivery {
            outcome,
            status,
            id: None,
            invalid_tokens: Vec::new(),
        }
    }
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4), as Huawei (vendors.md
/// §3.1) and Honor (§4.1) take them: a form POST of `grant_type`,
/// `client_id` and `client_secret`; the answer's `access_token` and
/// `expires_in` (seconds; [`DEFAULT_TOKEN_LIFETIME`] when absent). An
/// `error` answer (Huawei's is a number, Honor's a string) is a refusal
/// when the status is 4xx (not 429).
pub async fn client_credentials(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    client_secret: &str,
) -> Result<(String, Duration), TokenError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: Option<String>,
        expires_in: Option<u64>,
        error: Option<serde_json::Value>,
        error_description: Option<String>,
    }
    let body = form_urlencoded(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ]);
    let answer = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| TokenError::Transport(classify(&e)))?;
    let status = answer.status().as_u16();
    let retry_after = retry_after(answer.headers());
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| TokenError::Transport(classify(&e)))?;
    let parsed: Option<Answer> = serde_json::from_slice(&bytes).ok();
    match parsed {
        Some(Answer {
            access_token: Some(token),
            expires_in,
            ..
        }) if (200..300).contains(&status) && !token.is_empty() => {
            tracing::debug!(status, expires_in, "fetched an OAuth access token");
            Ok((
                token,
                expires_in.map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs),
            ))
        }
        _ if status == 429 || status >= 500 || (200..300).contains(&status) => {
            Err(TokenError::Unavailable {
                status,
                retry_after,
            })
        }
        other => {
            let error = other.map_or_else(String::new, |a| {
                let code = a.error.map_or_else(String::new, |e| match e {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                });
                match a.error_description {
                    Some(d) => format!("{code}: {d}"),
                    None => code,
                }
            });
            Err(TokenError::Refused { status, error })
        }
    }
}

/// Config helpers every HTTPS provider's `from_section` shares.
pub mod config {
    use std::time::Duration;

    use tidings_std::config::ConfigError;

    /// A required text value, trimmed of nothing but refused when blank.
    pub fn required(value: &Option<String>, key: &str) -> Result<String, ConfigError> {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ConfigError::new(key, "missing"))
    }

    /// An `https://host[:port]` base (or any absolute URL), without a
    /// trailing `/`; `default` when absent.
    pub fn base_url(
        value: &Option<String>,
        default: &str,
        key: &str,
    ) -> Result<String, ConfigError> {
        let text = value.as_deref().unwrap_or(default);
        let url = reqwest::Url::parse(text)
            .map_err(|e| ConfigError::new(key, format!("{text:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ConfigError::new(
                key,
                format!("{text:?} is not an https URL"),
            ));
        }
        Ok(text.trim_end_matches('/').to_owned())
    }

    /// `request_timeout_secs`, at least 1; the shared default when absent.
    pub fn request_timeout(value: Option<u64>, key: &str) -> Result<Duration, ConfigError> {
        let timeout = value.map_or(super::DEFAULT_REQUEST_TIMEOUT, Duration::from_secs);
        if timeout.is_zero() {
            return Err(ConfigError::new(key, "must be at least 1"));
        }
        Ok(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tidings_std::clock::ManualClock;

    #[tokio::test]
    async fn fetches_once_refreshes_early_and_after_invalidation() {
        let clock = ManualClock::starting_now();
        let cache = TokenCache::new(Arc::new(clock.clone()), Duration::from_secs(180));
        let hour = Duration::from_secs(3600);
        let fetch = |n: u32| async move { Ok::<_, ()>((format!("t{n}"), hour)) };
        assert_eq!(cache.get(|| fetch(1)).await.unwrap(), "t1");
        assert_eq!(cache.get(|| fetch(2)).await.unwrap(), "t1");
        clock.advance(Duration::from_secs(3600 - 181));
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
        let failing = cache.get(|| async { Err::<(String, Duration), _>("down") });
        assert_eq!(failing.await.unwrap(), "t6");
    }

    #[test]
    fn form_encoding_keeps_the_unreserved_set_only() {
        assert_eq!(
            form_urlencoded(&[
                ("grant_type", "client_credentials"),
                ("client_secret", "a b+c/=&é~*")
            ]),
            "grant_type=client_credentials&client_secret=a+b%2Bc%2F%3D%26%C3%A9%7E*"
        );
    }
}
