//! TLS on the API's listener: rustls on the ring provider, ALPN `h2` and
//! `http/1.1`, the certificate chain and key read from
//! `server.tls_cert_file` and `server.tls_key_file`. On SIGHUP both files
//! are read again: handshakes from then on use the new certificate,
//! connections already open keep theirs (none is dropped); files that do
//! not load leave the previous certificate in place, with an error logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tidings_std::config::ConfigError;

/// Where the listener's certificate and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

const CERT_KEY: &str = "server.tls_cert_file";
const KEY_KEY: &str = "server.tls_key_file";

/// The certificate handshakes are answered with, swapped on reload.
#[derive(Debug)]
pub struct Certificate {
    files: CertFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl Certificate {
    /// Reads both files again; on an error the previous certificate stays.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let fresh = load(&self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }
}

/// The acceptor for the listener, and its certificate (to reload).
pub fn acceptor(
    files: &CertFiles,
) -> Result<(tokio_rustls::TlsAcceptor, Arc<Certificate>), ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certificate = Arc::new(Certificate {
        current: RwLock::new(Arc::new(load(files, &provider)?)),
        files: files.clone(),
        provider: Arc::clone(&provider),
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new(CERT_KEY, e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        certificate,
    ))
}

/// The chain and key, checked to belong together; errors name the key.
fn load(files: &CertFiles, provider: &CryptoProvider) -> Result<CertifiedKey, ConfigError> {
    let cert_pem = read(&files.cert, CERT_KEY)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ConfigError::new(CERT_KEY, format!("{}: {e}", files.cert.display())))?;
    if chain.is_empty() {
        return Err(ConfigError::new(
            CERT_KEY,
            format!("{}: no PEM certificate in it", files.cert.display()),
        ));
    }
    let key_pem = read(&files.key, KEY_KEY)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        ConfigError::new(
            KEY_KEY,
            format!("{}: no PEM private key in it", files.key.display()),
        )
    })?;
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| ConfigError::new(KEY_KEY, format!("{}: {e}", files.key.display())))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| {
        ConfigError::new(
            KEY_KEY,
            format!(
                "{}: not the key of the certificate in {}",
                files.key.display(),
                files.cert.display()
            ),
        )
    })?;
    Ok(certified)
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::new(key, format!("{}: {e}", path.display())))
}

/// Reloads `certificate` on every SIGHUP, until aborted.
#[cfg(unix)]
pub async fn reload_on_sighup(certificate: Arc<Certificate>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler: the TLS certificate will not be reloaded");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let loading = Arc::clone(&certificate);
        match tokio::task::spawn_blocking(move || loading.reload()).await {
            Ok(Ok(())) => tracing::info!("SIGHUP: TLS certificate reloaded"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded; the previous one stays");
            }
            Err(e) => tracing::error!(error = %e, "SIGHUP: the TLS reload task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> CertFiles {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let files = CertFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.cert.pem()).unwrap();
        std::fs::write(&files.key, cert.signing_key.serialize_pem()).unwrap();
        files
    }

    fn refused(files: &CertFiles) -> ConfigError {
        acceptor(files).err().expect("refused")
    }

    #[test]
    fn bad_files_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_pair(dir.path(), "localhost");
        let other = write_pair(dir.path(), "other");
        let missing = CertFiles {
            cert: dir.path().join("absent.crt"),
            key: good.key.clone(),
        };
        assert_eq!(refused(&missing).key, CERT_KEY);
        let key_as_cert = CertFiles {
            cert: good.key.clone(),
            key: good.key.clone(),
        };
        let e = refused(&key_as_cert);
        assert_eq!(e.key, CERT_KEY);
        assert!(e.reason.contains("no PEM certificate"), "{e}");
        let cert_as_key = CertFiles {
            cert: good.cert.clone(),
            key: good.cert.clone(),
        };
        assert_eq!(refused(&cert_as_key).key, KEY_KEY);
        let mismatched = CertFiles {
            cert: good.cert.clone(),
            key: other.key,
        };
        let e = refused(&mismatched);
        assert_eq!(e.key, KEY_KEY);
        assert!(e.reason.contains("not the key of the certificate"), "{e}");
        assert!(acceptor(&good).is_ok());
    }

    #[test]
    fn a_failed_reload_keeps_the_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_pair(dir.path(), "localhost");
        let (_, certificate) = acceptor(&files).unwrap();
        let before = certificate.current.read().unwrap().cert.clone();
        std::fs::write(&files.key, "not a key").unwrap();
        assert_eq!(certificate.reload().unwrap_err().key, KEY_KEY);
        assert_eq!(certificate.current.read().unwrap().cert, before);
    }
}
