//! Tidings std adapters.
