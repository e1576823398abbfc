//! The plumbing every provider client shares, written once (issue 26): a
//! provider module keeps only what is its own (endpoint, auth recipe, code
//! table, answer parsing) and takes the rest from here.
//!
//! - [`answer`]: a vendor's code table and the one lookup with its
//!   status-class fallback;
//! - [`config`]: reading a provider's table (required values, secrets as
//!   [`SecretString`], `https://` URLs, regions, the request timeout);
//! - [`form`]: `application/x-www-form-urlencoded` bodies (vendors.md
//!   §10.6), encoded and decoded by `form_urlencoded`;
//! - `Retry-After` in both its forms: [`crate::outcome::retry_after`].
//!
//! The token cache and the OAuth client-credentials fetch are
//! [`crate::token`]; the HTTPS client and the sorting of its failures
//! [`crate::https`].

pub mod answer;
pub mod config;
pub mod form;

pub use secrecy::{ExposeSecret, SecretString};

/// Why a client could not be made: its configuration, or its TLS set-up.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Config(#[from] tidings_std::config::ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}
