//! Small things every part of the kit uses: locks, secrets, ids, time,
//! and the builders' `listen` and `clock` setters.

use std::sync::{Mutex, MutexGuard, PoisonError};

use ring::rand::SecureRandom as _;

use crate::error::Error;

/// The `listen` and `clock` setters of every stand-in builder (the kit's
/// `shell::Builder` and APNs' own), on a struct with `listen` and `clock`
/// fields; `$clock` documents what the clock times there.
macro_rules! listen_and_clock {
    ($clock:literal) => {
        /// Listen on `addr` instead of `127.0.0.1:0`.
        pub fn listen(mut self, addr: std::net::SocketAddr) -> Self {
            self.listen = addr;
            self
        }

        #[doc = concat!("The clock ", $clock, " (default: the system clock).")]
        pub fn clock(mut self, clock: tidings_std::clock::SharedClock) -> Self {
            self.clock = clock;
            self
        }
    };
}
pub(crate) use listen_and_clock;

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
