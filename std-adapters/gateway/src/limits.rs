//! What the API does to a client that asks too much: a request body read
//! under a deadline (cut with 408), a request rate per API token and a
//! failed-authentication rate per client address (both answered 429 with
//! `Retry-After`), failed authentications logged at most once a minute per
//! address with their counts.

use std::collections::HashMap;
use std::future::Future as _;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http_body::{Frame, SizeHint};

/// A request rate with a burst: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// Requests per key under a quota (GCRA): a key's flood spends only its
/// own allowance.
pub struct Limiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Limiter<K, C> {
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// `Ok`, or the whole seconds (at least 1, as `Retry-After` says it)
    /// until the key may ask again.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.limiter.check_key(key).map_err(|refused| {
            let wait = refused.wait_time_from(self.clock.now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1_u64)
        })
    }

    /// Drops the keys whose allowance is whole again (memory stays
    /// bounded by the keys active in the last period).
    pub fn forget_rested(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// One client address's failed authentications since its last log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Wrong or missing tokens.
    pub failures: u64,
    /// Of them, answered 429 (over `server.auth_failures_per_minute`).
    pub limited: u64,
}

/// An address's line in the log: `None` stands for the addresses past
/// [`FailedAuth::MAX_ADDRESSES`], counted together.
pub type Line = (Option<IpAddr>, Tally);

/// Failed authentications per client address: a rate over which the
/// address is answered 429 (a valid token still passes: guessing a token
/// is what is slowed, and a backend sharing the address is not locked
/// out), and counts logged at most once a minute per address.
pub struct FailedAuth<C: Clock = DefaultClock> {
    limiter: Limiter<IpAddr, C>,
    /// Address → (last line, Unix ms; counts since).
    seen: Mutex<HashMap<Option<IpAddr>, (u64, Tally)>>,
}

impl<C: Clock + Clone> FailedAuth<C> {
    /// A line per address at most this often.
    pub const EVERY_MS: u64 = 60_000;
    /// Addresses tallied one by one; more are counted together.
    pub const MAX_ADDRESSES: usize = 10_000;

    pub fn with_clock(per_minute: NonZeroU32, clock: C) -> Self {
        Self {
            limiter: Limiter::with_clock(Quota::per_minute(per_minute), clock),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// A failed authentication from `peer` at `now_ms`: `Err(retry
    /// after, seconds)` when the address is over its rate; and the line to
    /// log now, if the address had none in the last minute.
    pub fn note(&self, peer: IpAddr, now_ms: u64) -> (Result<(), u64>, Option<Line>) {
        let key = address_key(peer);
        let verdict = self.limiter.check(&key);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = if seen.len() >= Self::MAX_ADDRESSES && !seen.contains_key(&Some(key)) {
            None
        } else {
            Some(key)
        };
        let (last, tally) = seen.entry(slot).or_insert((0, Tally::default()));
        tally.failures += 1;
        tally.limited += u64::from(verdict.is_err());
        let line = (*last == 0 || now_ms.saturating_sub(*last) >= Self::EVERY_MS).then(|| {
            *last = now_ms.max(1);
            (slot, std::mem::take(tally))
        });
        (verdict, line)
    }

    /// The lines due at `now_ms`: every address with failures not yet
    /// logged whose last line is a minute old. Addresses quiet for a
    /// minute are forgotten.
    pub fn due(&self, now_ms: u64) -> Vec<Line> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut lines = Vec::new();
        seen.retain(|slot, (last, tally)| {
            if now_ms.saturating_sub(*last) < Self::EVERY_MS {
                return true;
            }
            if tally.failures == 0 {
                return false;
            }
            *last = now_ms.max(1);
            lines.push((*slot, std::mem::take(tally)));
            true
        });
        drop(seen);
        self.limiter.forget_rested();
        lines
    }
}

/// The key an address is limited by: IPv6 by its /64 (one host commonly
/// holds a whole /64, so single addresses would be free to rotate).
fn address_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// Logs a failed-authentication line.
pub fn log_failed_auth((address, tally): Line) {
    let client = address.map_or_else(|| "other addresses".to_owned(), |a| a.to_string());
    tracing::warn!(
        client,
        failures = tally.failures,
        limited = tally.limited,
        "failed API authentications (wrong or missing bearer token; logged at most once a minute per address)"
    );
}

/// What the API limits, shared by its requests.
pub struct ApiLimits {
    /// Time for a request's whole body.
    pub body_timeout: Duration,
    /// Per API token, by its index in `server.api_tokens`.
    pub tokens: Option<Limiter<usize>>,
    pub failed_auth: FailedAuth,
}

impl ApiLimits {
    pub fn new(
        body_timeout: Duration,
        token_rate: Option<Rate>,
        auth_per_minute: NonZeroU32,
    ) -> Self {
        Self {
            body_timeout,
            tokens: token_rate
                .map(|rate| Limiter::with_clock(rate.quota(), DefaultClock::default())),
            failed_auth: FailedAuth::with_clock(auth_per_minute, DefaultClock::default()),
        }
    }
}

/// Why a body stopped: it did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A request body that fails once its deadline passes, and says so in
/// `expired` (the handler sees a body error; the middleware answers 408).
/// The timer is set only once the body has to wait: a body that arrived
/// with its headers (most requests) costs no timer.
pub struct DeadlineBody {
    body: Body,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    pub fn new(body: Body, within: Duration, expired: Arc<AtomicBool>) -> Self {
        Self {
            body,
            deadline: tokio::time::Instant::now() + within,
            timer: None,
            expired,
        }
    }

    /// Says the deadline passed, and fails the body.
    fn expire(&self) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.expired.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        // The deadline first: a body trickling a byte at a time is always
        // about to have more.
        if this
            .timer
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready())
        {
            return this.expire();
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if frame.is_pending() && this.timer.is_none() {
            // Set (and polled, so it wakes this task) on the first wait.
            let timer = this
                .timer
                .insert(Box::pin(tokio::time::sleep_until(this.deadline)));
            if timer.as_mut().poll(cx).is_ready() {
                return this.expire();
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn a_keys_flood_spends_only_its_own_allowance() {
        let clock = FakeRelativeClock::default();
        let rate = Rate {
            per_second: nz(2),
            burst: nz(3),
        };
        let limiter = Limiter::with_clock(rate.quota(), clock.clone());
        for _ in 0..3 {
            assert_eq!(limiter.check(&0usize), Ok(()));
        }
        // Over its burst: a retry after a second (the next half-second
        // slot, rounded up to a whole second).
        assert_eq!(limiter.check(&0), Err(1));
        assert_eq!(limiter.check(&1), Ok(()), "another key is untouched");
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.check(&0), Ok(()), "one more every half second");
        assert_eq!(limiter.check(&0), Err(1));
    }

    #[test]
    fn failed_auth_is_limited_per_address_and_logged_once_a_minute() {
        let clock = FakeRelativeClock::default();
        let auth = FailedAuth::with_clock(nz(3), clock.clone());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut now = 1_000_000;
        // The first failure is logged at once, alone.
        let (verdict, line) = auth.note(a, now);
        assert_eq!(verdict, Ok(()));
        let first = Tally {
            failures: 1,
            limited: 0,
        };
        assert_eq!(line, Some((Some(a), first)));
        let mut limited = 0;
        for _ in 0..9 {
            now += 100;
            let (verdict, line) = auth.note(a, now);
            assert_eq!(line, None, "at most one line a minute");
            if let Err(wait) = verdict {
                assert!((1..=20).contains(&wait), "{wait}");
                limited += 1;
            }
        }
        assert_eq!(limited, 7, "3 a minute: the 4th and later are refused");
        assert_eq!(auth.note(b, now).0, Ok(()), "another address is untouched");
        assert!(auth.due(now + 1_000).is_empty(), "not a minute yet");
        let due = auth.due(1_000_000 + FailedAuth::<FakeRelativeClock>::EVERY_MS);
        assert_eq!(
            due,
            vec![(
                Some(a),
                Tally {
                    failures: 9,
                    limited: 7
                }
            )],
            "a's counts since its first line; b's first line is not a minute old"
        );
        // Quiet for a minute: forgotten, and its next failure logged at once.
        let later = now + 3 * FailedAuth::<FakeRelativeClock>::EVERY_MS;
        let due = auth.due(later);
        assert!(due.is_empty(), "nothing new to log: {due:?}");
        clock.advance(Duration::from_secs(180));
        assert_eq!(auth.note(a, later).1, Some((Some(a), first)));
    }

    #[test]
    fn ipv6_is_limited_by_its_64() {
        let clock = FakeRelativeClock::default();
        let auth = FailedAuth::with_clock(nz(1), clock);
        assert_eq!(auth.note("2001:db8::1".parse().unwrap(), 1).0, Ok(()));
        assert_eq!(auth.note("2001:db8::2".parse().unwrap(), 2).0, Err(60));
        assert_eq!(auth.note("2001:db8:0:1::1".parse().unwrap(), 3).0, Ok(()));
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            IpAddr::from([192, 0, 2, 1])
        );
    }
}
