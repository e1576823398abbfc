//! Why a stand-in could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a stand-in could not start (or, from `shutdown`, that one of its
/// tasks panicked).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    #[error("signing key: {0}")]
    Key(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot open record file {path}: {source}")]
    RecordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("a stand-in task panicked: {0}")]
    TaskPanicked(String),
}
