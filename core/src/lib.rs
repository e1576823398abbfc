//! Tidings core: decides whether an IM message becomes an offline push for
//! one device, by Tencent Cloud IM's rules, and renders the exact provider
//! payload into the caller's buffer.
//!
//! `no_std`, no allocator, no `unsafe`, no panics on any input: the caller
//! passes the case (borrowed), the current time and an output `&mut [u8]`.
//!
//! ```
//! use tidings_core::model::*;
//! use tidings_core::{decide, render, Decision};
//!
//! let elems = [Elem::Text("hi")];
//! let sender = Sender { account: "ann", nick: "Ann", name_card: "" };
//! let device = Device { channel: Channel::Apns, token: "a1b2", state: DeviceState::Background };
//! let case = Case {
//!     message: Message::new(sender, Conversation::C2c { to_account: "bob" }, &elems),
//!     recipient: Recipient { badge: 4, ..Recipient::new("bob", device) },
//!     app: App { bundle_id: "com.example.chat", package_name: "com.example.chat", ..App::default() },
//!     now: 1_795_236_000,
//! };
//! let Ok(Decision::Push(notification)) = decide(&case) else { panic!() };
//! let mut buf = [0u8; 4096];
//! let rendered = render(&notification, &mut buf).unwrap();
//! assert_eq!(
//!     &buf[..rendered.len],
//!     br#"{"aps":{"alert":"Ann:hi","badge":5,"sound":"default","thread-id":"c2c:ann"}}"#
//! );
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo
    )
)]

pub mod decide;
pub mod error;
pub mod explain;
pub mod grapheme;
#[cfg(feature = "json")]
pub mod ingest;
pub mod json;
pub mod lint;
pub mod model;
pub mod recall;
pub mod render;
// Test-only fixtures, kept under tests/ with the other test code.
#[cfg(test)]
#[path = "tests/testkit.rs"]
mod testkit;
pub mod text;
#[cfg(feature = "postcard")]
pub mod wire;
pub mod write;

pub use decide::{decide, decide_observed, Decision, Notification, Reason};
pub use error::{Error, Field};
pub use render::{render, Rendered};
