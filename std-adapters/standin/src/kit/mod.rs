//! The one kit every stand-in is built from, so a provider's module holds
//! only what is its own (paths, checks, code table, answer bodies):
//!
//! * [`tls`] — the throwaway CA, the server certificate for the loopback
//!   names, client identities;
//! * [`https`] — an axum router served over that TLS (HTTP/1.1 and HTTP/2);
//! * [`shell`] — the builder and running stand-in every request/response
//!   provider shares (listen address, clock, scripts, record file, URL, CA,
//!   shutdown), generic over a [`shell::Vendor`];
//! * [`script`] — per-device-token scripted answers;
//! * [`record`] — the accepted pushes, the record file and the counts;
//! * [`token`] — issued auth tokens, the token endpoint's fault switch and
//!   the OAuth client-credentials check;
//! * [`form`] — form bodies read with `form_urlencoded`, strictly.
//!
//! APNs speaks HTTP/2 at the stream level (GOAWAY, resets) and so runs its
//! own h2 server on [`tls`], with the same scripts and record file.

use std::sync::{Mutex, MutexGuard, PoisonError};

use ring::rand::SecureRandom as _;

use crate::Error;

pub mod form;
pub mod https;
pub mod record;
pub mod script;
pub mod shell;
pub mod tls;
pub mod token;

pub use record::{Accepted, Stats};
pub(crate) use script::Scripts;
pub use token::{TokenFault, TokenState};

/// A poisoned lock still holds consistent data here (every critical section
/// is a plain update), so it is taken rather than propagated as a panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

/// A fresh id for a request, a message or a credential (32 hex digits).
pub(crate) fn fresh_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Milliseconds since the epoch on `clock`.
pub(crate) fn now_ms(clock: &tidings_std::clock::SharedClock) -> u64 {
    clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A JSON answer with `status`, and a `retry-after` header when given.
pub(crate) fn json_answer(
    status: u16,
    retry_after: Option<u32>,
    body: String,
) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    response
}
