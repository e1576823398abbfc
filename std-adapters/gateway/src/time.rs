//! Times as the store, the queue and the API keep them: Unix milliseconds
//! read from the gateway's clock (a test's manual one, or the system's).

use std::time::{Duration, UNIX_EPOCH};

use tidings_std::clock::SharedClock;

/// Now, in Unix milliseconds (0 before 1970).
pub fn now_ms(clock: &SharedClock) -> u64 {
    clock.now().duration_since(UNIX_EPOCH).map_or(0, millis)
}

/// A duration in whole milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
