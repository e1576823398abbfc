//! Tidings std adapters: what needs an OS around the `no_std` core.
//!
//! - [`ingest`]: the case format (JSON) read with serde_json and lent to
//!   the core model;
//! - [`report`]: one case decided and rendered into the result object that
//!   `tidings render` prints;
//! - [`conform`]: conformance vectors matched against results.

pub mod conform;
pub mod ingest;
pub mod report;
