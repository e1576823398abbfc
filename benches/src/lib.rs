//! Benchmarks of Tidings beside the libraries a gateway team would use
//! instead. Everything lives in `benches/compare.rs`; run it with
//! `cargo bench -p tidings-benches --bench compare`.
