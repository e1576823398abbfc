//! The records the local store keeps, and how they are encoded
//! (postcard): a device as its send needs it ([`DeviceRecord`]: its
//! channel, token, state and the push rendered at accept time), and the
//! store's error. How a device is laid out in the tables is the `disk`
//! module's.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A store error: the database's own words (no request data in it).
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(String);

impl StoreError {
    pub fn from_join(e: &tokio::task::JoinError) -> Self {
        StoreError(e.to_string())
    }

    /// A commit panicked (it is answered as failed).
    pub fn panicked() -> Self {
        StoreError("the store's commit panicked".into())
    }

    /// The thread that commits could not be started.
    pub fn no_writer(e: &std::io::Error) -> Self {
        StoreError(format!("the store's writer thread could not start: {e}"))
    }
}

pub(super) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(err)
}

pub(super) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(err)
}

/// A device's state, as `GET /v1/jobs/{id}` shows it ([`DeviceState::view`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceState {
    Queued,
    Suppressed {
        reason: String,
    },
    Delivered {
        id: String,
        /// When the provider took it (Unix ms).
        at_ms: u64,
    },
    TokenInvalid {
        reason: String,
    },
    Retrying {
        reason: String,
        /// Unix ms.
        next_attempt_ms: u64,
    },
    /// Waiting, without spending attempts, on a channel that is paused: its
    /// provider cannot be reached, or refuses the sender's credentials.
    Paused {
        reason: String,
        /// When the channel is probed next (Unix ms).
        next_attempt_ms: u64,
    },
    Failed {
        reason: String,
    },
    Expired,
    /// Sent `queue.max_deliver` times without a final outcome, or handed
    /// back unsent far more often (NATS queue only): moved to the
    /// dead-letter subject with the last reason.
    DeadLettered {
        reason: String,
    },
    /// Its message was recalled before it was sent: never sent. (Last, so
    /// records written before it read as they were.)
    Recalled,
}

impl DeviceState {
    pub fn name(&self) -> &'static str {
        match self {
            DeviceState::Queued => "queued",
            DeviceState::Suppressed { .. } => "suppressed",
            DeviceState::Delivered { .. } => "delivered",
            DeviceState::TokenInvalid { .. } => "token_invalid",
            DeviceState::Retrying { .. } => "retrying",
            DeviceState::Paused { .. } => "paused",
            DeviceState::Failed { .. } => "failed",
            DeviceState::Expired => "expired",
            DeviceState::DeadLettered { .. } => "dead_lettered",
            DeviceState::Recalled => "recalled",
        }
    }

    /// Whether this device still has a queue entry.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            DeviceState::Queued | DeviceState::Retrying { .. } | DeviceState::Paused { .. }
        )
    }

    /// A device waiting for its next attempt (retrying, or held on a
    /// paused channel): why, and when it is due (Unix ms).
    pub fn waiting(&self) -> Option<(&str, u64)> {
        match self {
            DeviceState::Retrying {
                reason,
                next_attempt_ms,
            }
            | DeviceState::Paused {
                reason,
                next_attempt_ms,
            } => Some((reason, *next_attempt_ms)),
            _ => None,
        }
    }

    /// The API's view: `{"State": "retrying", "Reason": …, "NextAttempt": …}`.
    pub fn view(&self) -> Value {
        let mut view = json!({ "State": self.name() });
        match self {
            DeviceState::Queued | DeviceState::Expired | DeviceState::Recalled => {}
            DeviceState::Suppressed { reason }
            | DeviceState::TokenInvalid { reason }
            | DeviceState::Failed { reason }
            | DeviceState::DeadLettered { reason } => view["Reason"] = reason.as_str().into(),
            DeviceState::Delivered { id, at_ms } => {
                view["Id"] = id.as_str().into();
                view["DeliveredAt"] = (*at_ms).into();
            }
            DeviceState::Retrying { .. } | DeviceState::Paused { .. } => {
                if let Some((reason, next_attempt_ms)) = self.waiting() {
                    view["Reason"] = reason.into();
                    view["NextAttempt"] = next_attempt_ms.into();
                }
            }
        }
        view
    }
}

/// One device of a job: what its send needs, and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub channel: String,
    pub token: String,
    /// Where it came from in the request: `Recipients[i]` or
    /// `Recipients[i].Devices[j]` (`job` for a wire job).
    pub path: String,
    pub state: DeviceState,
    /// Real send attempts (a device held on a paused channel spends none).
    pub attempts: u32,
    /// Time spent held on a paused channel (ms): added to the retry
    /// budget, which does not run while the channel is paused.
    pub held_ms: u64,
    /// The push rendered at accept time; `None` for a suppressed device.
    pub push: Option<StoredPush>,
}

/// A push as rendered at accept time: the bytes the provider gets, and
/// the times that bound its sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPush {
    /// The provider body exactly as the core rendered it (JSON or a form:
    /// UTF-8 text either way).
    pub body: String,
    pub headers: StoredHeaders,
    /// Unix seconds after which it is not sent (`MsgLifeTime`).
    pub expires_at: Option<i64>,
    /// `MsgLifeTime` (seconds), the retry budget when present.
    pub life_time: Option<u32>,
}

/// The request parts outside the body ([`tidings_core::render::Headers`]
/// owned).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredHeaders {
    None,
    Apns {
        push_type: String,
        priority: String,
        topic: String,
        topic_suffix: String,
        expiration: Option<i64>,
        collapse_id: Option<String>,
        device_token: String,
    },
    /// The body is a revoke (`render::revoke`), sent to the provider's
    /// revoke API (`Action::Revoke`), without headers. (Last, so records
    /// written before it read as they were.)
    Revoke,
}

impl StoredHeaders {
    pub fn of(headers: &tidings_core::render::Headers<'_>) -> Self {
        match headers {
            tidings_core::render::Headers::None => StoredHeaders::None,
            tidings_core::render::Headers::Apns(h) => StoredHeaders::Apns {
                push_type: h.push_type.to_owned(),
                priority: h.priority.to_owned(),
                topic: h.topic.to_owned(),
                topic_suffix: h.topic_suffix.to_owned(),
                expiration: h.expiration,
                collapse_id: h.collapse_id.map(|c| c.as_str().to_owned()),
                device_token: h.device_token.to_owned(),
            },
        }
    }

    /// What the push asks of its provider: a send, or a revoke.
    pub fn action(&self) -> tidings_deliver::Action {
        match self {
            StoredHeaders::Revoke => tidings_deliver::Action::Revoke,
            _ => tidings_deliver::Action::Send,
        }
    }

    /// The headers to send; `None` if a stored value is not one the core
    /// writes (the core's header words are constants: a record that names
    /// another was not written by it).
    pub fn lend(&self) -> Option<tidings_core::render::Headers<'_>> {
        fn known(value: &str, words: &[&'static str]) -> Option<&'static str> {
            words.iter().copied().find(|w| *w == value)
        }
        Some(match self {
            StoredHeaders::None | StoredHeaders::Revoke => tidings_core::render::Headers::None,
            StoredHeaders::Apns {
                push_type,
                priority,
                topic,
                topic_suffix,
                expiration,
                collapse_id,
                device_token,
            } => tidings_core::render::Headers::Apns(tidings_core::render::ApnsHeaders {
                push_type: known(push_type, &["alert", "voip", "background"])?,
                priority: known(priority, &["10", "5", "1"])?,
                topic,
                topic_suffix: known(topic_suffix, &["", ".voip"])?,
                expiration: *expiration,
                collapse_id: collapse_id.as_deref().map(Into::into),
                device_token,
            }),
        })
    }
}
