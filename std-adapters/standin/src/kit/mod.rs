//! The one kit every stand-in is built from, so a provider's module holds
//! only what is its own (paths, checks, code table, answer bodies):
//!
//! * [`tls`] — the throwaway CA, the server certificate for the loopback
//!   names, client identities;
//! * [`https`] — an axum router served over that TLS (HTTP/1.1 and HTTP/2),
//!   its JSON answers and plain POST routes;
//! * [`shell`] — the builder and running stand-in every request/response
//!   provider shares (listen address, clock, scripts, record file, URL, CA,
//!   shutdown), generic over a [`shell::Vendor`];
//! * [`script`] — per-device-token scripted answers;
//! * [`record`] — the accepted pushes, the record file and the counts;
//! * `jws` — a compact JWS split, decoded and verified (HarmonyOS);
//! * [`token`] — issued auth tokens, the token endpoint's fault switch and
//!   the OAuth client-credentials check;
//! * [`form`] — form bodies read with `form_urlencoded`, strictly;
//! * [`util`] — locks, secrets, ids, time, the builders' `listen` and
//!   `clock` setters.
//!
//! Within the kit, imports go one way (`shell` → `token` → `form` →
//! `record` → `util`, `form` → `https` → `tls`): no part imports this
//! module, and none imports `shell`.
//!
//! APNs speaks HTTP/2 at the stream level (GOAWAY, resets) and so runs its
//! own h2 server on [`tls`], with the same scripts and record file.

pub mod form;
pub mod https;
pub(crate) mod jws;
pub mod record;
pub mod script;
pub mod shell;
pub mod tls;
pub mod token;
pub mod util;

pub(crate) use https::{json_answer, post};
pub use record::{Accepted, Revoke, Stats};
pub(crate) use script::Scripts;
pub use token::{TokenFault, TokenState};
pub use util::generate_secret;
pub(crate) use util::{constant_time_eq, fresh_id, listen_and_clock, lock, now_ms};
