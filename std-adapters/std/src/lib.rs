//! Tidings std adapters: what needs an OS around the `no_std` core.
//!
//! - [`ingest`]: the case format (JSON) read with serde_json and lent to
//!   the core model;
//! - [`report`]: one case decided and rendered into the result object that
//!   `tidings render` prints;
//! - [`explain`]: the core's trace of one case as `tidings explain` prints it;
//! - [`conform`]: conformance vectors matched against results;
//! - [`config`]: the TOML configuration with environment overrides;
//! - [`clock`]: time passed in, so credential lifetimes and retries are
//!   tested by moving a clock, not by sleeping.

pub mod clock;
pub mod config;
pub mod conform;
pub mod explain;
pub mod ingest;
pub mod report;
