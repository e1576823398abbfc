//! What the form-bodied providers (Xiaomi, OPPO, Meizu: vendors.md §10.6)
//! share: `application/x-www-form-urlencoded` encoding of the few values a
//! client adds to the core's body (a credential, a signature), decoding of
//! the core's body where a client must read or sign a value, one form POST
//! with its answer, and the "next day" a daily quota reopens.
//!
//! Nothing here re-encodes the core's body: a client sends the rendered
//! bytes as they are and appends `&name=value` pairs of its own.

use std::time::SystemTime;

use http::HeaderMap;
use tidings_std::clock::SharedClock;

use crate::http2::SendError;
use crate::kit::answer::StatusClass;
use crate::outcome::{Backoff, Delivery, Outcome};

/// The content type of every form request (vendors.md §5.1, §8.1).
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";

pub use crate::kit::form::{append_pair, encode_into, field, pairs};

pub use crate::https::Answer;

/// POSTs `body` as a form to `url` with `headers`. Network failures are
/// sorted by [`crate::https::classify`].
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: Vec<u8>,
    clock: &SharedClock,
) -> Result<Answer, SendError> {
    let request = http
        .post(url)
        .headers(headers)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(body);
    crate::https::exchange(request, clock).await
}

pub use crate::outcome::{next_midnight, CHINA_UTC_OFFSET_SECS};

// ------------------------------------------------------------- answers

/// What one answer asks of a form vendor's client (Xiaomi, OPPO and Meizu
/// share the vocabulary; each uses the rows its table needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    DropToken,
    /// The auth token is refused: fetch a new one, send again once (OPPO).
    Reauth,
    /// Server trouble: the server backoff or `Retry-After`.
    Backoff,
    /// Called too fast / flow control: the rate backoff or `Retry-After`.
    RateBackoff,
    /// The device is away (Xiaomi 65003): the offline backoff.
    OfflineBackoff,
    /// A daily quota spent: the next midnight, China Standard Time.
    NextDay,
    /// Fix the push or the configuration.
    Reject,
    /// The app's secret, identity, signature or standing is refused:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
}

impl StatusClass for Action {
    /// 2xx taken, 401/403 the sender refused, 429 the rate backoff, 5xx the
    /// server backoff, anything else rejected.
    fn by_status(status: u16) -> Self {
        match status {
            200..=299 => Action::Deliver,
            401 | 403 => Action::CredentialsRefused,
            429 => Action::RateBackoff,
            500..=599 => Action::Backoff,
            _ => Action::Reject,
        }
    }
    const DELIVER: Self = Action::Deliver;
    const REJECT: Self = Action::Reject;
}

/// A form vendor's code table: `rows`' action for a code, else by HTTP
/// status class (a 2xx with an unknown code a rejection, logged).
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub vendor: &'static str,
    pub rows: &'static [(i64, Action)],
}

impl Table {
    pub fn action(&self, status: u16, code: Option<i64>) -> Action {
        crate::kit::answer::action_for(self.vendor, self.rows, status, code.as_ref())
    }
}

/// An answer without a (readable) code: by HTTP status class.
pub fn status_action(status: u16) -> Action {
    Action::by_status(status)
}

/// The id a delivery reports: the vendor's message id, or the push's own
/// when the vendor sent none or an empty one (as every other provider
/// does: a delivered push always has an id).
pub fn delivered_id(id: Option<&String>, push: &crate::Push<'_>) -> String {
    id.filter(|id| !id.is_empty())
        .cloned()
        .unwrap_or_else(|| push.id.to_string())
}

/// A form vendor's name (for logs) and retry policy.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub vendor: &'static str,
    pub server: Backoff,
    pub rate: Backoff,
    /// Used by [`Action::OfflineBackoff`] only.
    pub offline: Backoff,
}

/// The outcome of `action` for `answer` at attempt `attempt`:
/// `delivered_id` when taken, `reason` otherwise; `Retry-After` wins over
/// every backoff and the next midnight. A refusal is logged.
pub fn outcome(
    policy: &Policy,
    action: Action,
    reason: String,
    delivered_id: String,
    answer: &Answer,
    now: SystemTime,
    attempt: u32,
) -> Outcome {
    let vendor = policy.vendor;
    let later = |backoff: Backoff| backoff.not_before(now, attempt, answer.retry_after);
    let retry = |not_before| Outcome::Retry {
        reason: reason.clone(),
        not_before,
    };
    match action {
        Action::Deliver => Outcome::Delivered { id: delivered_id },
        Action::DropToken => Outcome::TokenInvalid {
            reason,
            since: None,
        },
        Action::Backoff => retry(later(policy.server)),
        Action::RateBackoff => retry(later(policy.rate)),
        Action::OfflineBackoff => retry(later(policy.offline)),
        Action::NextDay => retry(
            answer
                .retry_after
                .map_or_else(|| next_midnight(now, CHINA_UTC_OFFSET_SECS), |d| now + d),
        ),
        // OPPO's 11/29 again right after a fresh auth_token, or the app's
        // key, signature, clock or standing refused.
        Action::CredentialsRefused | Action::Reauth => {
            tracing::debug!(vendor, status = answer.status, %reason, "the sender's credentials were refused");
            Outcome::CredentialsRefused { reason }
        }
        Action::Reject => {
            tracing::debug!(vendor, status = answer.status, %reason, "a push was rejected: check the configuration or the payload");
            Outcome::Rejected { reason }
        }
    }
}

// ------------------------------------------------ shared by the form clients

pub use crate::kit::InitError;

pub(crate) fn local_reject(reason: &str) -> Delivery {
    Delivery::local_reject(reason)
}

/// A request that got no answer: [`Delivery::unanswered`] for `attempt`
/// (see [`crate::outcome`]), logged at debug level.
pub(crate) fn network_failure(
    provider: &str,
    e: &SendError,
    now: SystemTime,
    attempt: u32,
) -> Delivery {
    e.delivery(provider, now, attempt)
}
