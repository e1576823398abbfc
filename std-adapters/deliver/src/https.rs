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

/// Sorts a failed request the way [`crate::http2`] does: a request that
/// never reached the server may be sent again; one that timed out or lost
/// its connection after it was written may have been acted on.
pub fn classify(e: &reqwest::Error) -> SendError {
    // The error chain may name the endpoint's URL, never a credential: no
    // provider here puts a secret in the URL.
    let text = e.to_string();
    if e.is_connect() {
        SendError::Connect(text)
    } else {
        SendError::Lost(text)
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
}
