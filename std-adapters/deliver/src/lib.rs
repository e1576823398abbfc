//! Tidings provider clients: one module per provider, each with its auth,
//! its transport and its answer → [`Outcome`] table. A client takes the
//! core's rendered body and headers as they are; nothing here builds a
//! payload.
//!
//! - [`outcome`]: the one vocabulary of delivery ([`Outcome`], [`Delivery`]);
//! - [`apns`]: Apple (HTTP/2, ES256 provider token or client certificate);
//! - [`http2`]: the HTTP/2 connection pool the HTTP/2 providers share;
//! - [`jwt`], [`tls`]: signing and TLS set-up shared by the providers.

#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::future::Future;
use std::pin::Pin;

pub mod apns;
pub mod http2;
pub mod jwt;
pub mod outcome;
pub mod tls;

pub use outcome::{Delivery, Outcome};
use tidings_core::render::Headers;

/// One rendered push ready to go out.
#[derive(Clone, Copy, Debug)]
pub struct Push<'a> {
    /// The provider body exactly as the core rendered it.
    pub body: &'a [u8],
    /// The request parts outside the body, as the core rendered them.
    pub headers: Headers<'a>,
    /// The push's identity, the same for every attempt (APNs: `apns-id`).
    pub id: uuid::Uuid,
    /// 0 for the first attempt; the retry policy grows with it.
    pub attempt: u32,
}

/// A boxed send future, so providers can sit behind one `dyn Provider`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every provider client does: send one rendered push, answer one
/// [`Delivery`]. It never fails otherwise: a lost connection, a deadline
/// or a local refusal is a `Delivery` too.
pub trait Provider: Send + Sync {
    fn send<'a>(&'a self, push: &'a Push<'a>) -> BoxFuture<'a, Delivery>;
}
