//! Loopback stand-ins for the push providers.
//!
//! A stand-in speaks a provider's documented protocol on `127.0.0.1`:
//! it validates what the provider validates, answers the provider's exact
//! status codes and bodies, records what it accepted, and can be scripted and
//! faulted so a client's tests reach every documented answer. The client's
//! tests, the benchmarks and `tidings standin <provider>` all use them.
//!
//! * [`apns`] — Apple's HTTP/2 provider API (`spec/vendors.md` §1): TLS with
//!   a generated CA, token (ES256 JWT) and certificate auth, the §1.7 reply
//!   table, GOAWAY / cut-connection / delay faults.
//! * [`fcm`] — Google's OAuth2 token endpoint and FCM HTTP v1 (§2): RS256
//!   service-account assertions verified, google.rpc error bodies, access
//!   tokens that can be expired on demand.
//! * [`harmony`] — HarmonyOS NEXT Push Kit v3 (beyond.md §11): PS256
//!   service-account JWTs verified with the public key, string `code`
//!   answers, partial success per token, the revoke endpoint (§13.2).
//! * [`huawei`], [`honor`] — Huawei Push Kit and Honor Push (§3, §4): an
//!   OAuth client-credentials token endpoint and the send API, result codes
//!   and partial success per token. Honor is the Huawei family
//!   ([`huawei::Family`]) with Honor's differences as a [`huawei::Dialect`].
//! * [`vivo`] — vivo Push (§7): the md5-signed `/message/auth` and
//!   `/message/send`, `result` codes and `invalidUser`.
//! * [`xiaomi`], [`oppo`], [`meizu`] — the form-bodied Chinese vendors
//!   (§5, §6, §8): AppSecret header, SHA-256-signed auth token with its
//!   10-minute timestamp window, MD5 signature over the raw parameters;
//!   each answers its vendor's result JSON and codes from its code table.
//! * [`tpns`] — TPNS `push/app` (§9): the HMAC-SHA256 `Sign` over the exact
//!   body and the timestamp window checked, `ret_code` answers.
//! * [`kit`] — what every stand-in is built from, written once: TLS,
//!   the HTTPS server, the shared builder and running stand-in
//!   ([`kit::shell`]), scripts, the record, issued tokens and credential
//!   checks, strict form bodies.
//! * [`cli`] — the registry `tidings standin <provider>` starts stand-ins
//!   from; it imports the stand-ins, and none of them imports it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tidings_standin::Error> {
//! use tidings_standin::apns::{generate_signing_key, ApnsStandin, Reply};
//!
//! let key = generate_signing_key("TEAM123456", "KEY1234567")?;
//! let standin = ApnsStandin::builder()
//!     .signing_key(&key.team_id, &key.key_id, &key.public_key)
//!     .topic("com.example.app")
//!     .reply_always("deadbeef", Reply::Unregistered { timestamp_ms: None })
//!     .start()
//!     .await?;
//! // point a client at standin.url(), trusting standin.ca_pem()
//! # let _ = standin.accepted();
//! standin.shutdown().await?;
//! # Ok(()) }
//! ```
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod apns;
pub mod cli;
pub mod error;
pub mod fcm;
pub mod harmony;
pub mod honor;
pub mod huawei;
pub mod kit;
pub mod meizu;
pub mod oppo;
pub mod tpns;
pub mod vivo;
pub mod xiaomi;

pub use kit::tls;

pub use apns::{
    generate_signing_key, public_key_from_p8, AcceptedPush, ApnsSigningKey, ApnsStandin,
    ApnsStandinBuilder, Auth, PushType, Reply, Stats,
};
pub use error::Error;
pub use kit::tls::{CertificateAuthority, ClientIdentity};
