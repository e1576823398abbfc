//! TLS client set-up shared by every provider: rustls on the `ring`
//! provider, the Mozilla roots plus an optional extra CA (a stand-in's, a
//! corporate proxy's), and an optional client identity (APNs certificate
//! auth) from PEM or PKCS#12.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// ALPN for HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";

/// Why TLS could not be set up. Names the file; never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: PathBuf },
    #[error("{path}: no PEM private key in it")]
    NoPrivateKey { path: PathBuf },
    #[error("{path}: not a PKCS#12 file, or the password is wrong")]
    Pkcs12 { path: PathBuf },
    #[error("{path}: the PKCS#12 file holds no private key with a certificate")]
    Pkcs12Empty { path: PathBuf },
    #[error("{path}: {reason}")]
    Rejected { path: PathBuf, reason: String },
    #[error("TLS set-up failed: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("HTTPS client set-up failed: {0}")]
    Client(String),
}

/// A client certificate with its private key.
pub struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClientIdentity({} certificates, key ..)",
            self.chain.len()
        )
    }
}

impl ClientIdentity {
    /// A PEM file holding the certificate chain and the private key (as
    /// `openssl pkcs12 -nodes` writes it), or a `.p12`/`.pfx` file opened
    /// with `password`.
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, TlsError> {
        let bytes = read(path)?;
        let is_pkcs12 = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"));
        if is_pkcs12 {
            Self::from_pkcs12(path, &bytes, password.unwrap_or(""))
        } else {
            Self::from_pem(path, &bytes)
        }
    }

    fn from_pem(path: &Path, pem: &[u8]) -> Result<Self, TlsError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { path: path.into() });
        }
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| TlsError::NoPrivateKey { path: path.into() })?;
        Ok(Self { chain, key })
    }

    fn from_pkcs12(path: &Path, der: &[u8], password: &str) -> Result<Self, TlsError> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        let store = KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict)
            .map_err(|_| TlsError::Pkcs12 { path: path.into() })?;
        let (_, keychain) = store
            .private_key_chain()
            .ok_or_else(|| TlsError::Pkcs12Empty { path: path.into() })?;
        let chain: Vec<CertificateDer<'static>> = keychain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if chain.is_empty() {
            return Err(TlsError::Pkcs12Empty { path: path.into() });
        }
        let key = PrivatePkcs8KeyDer::from(keychain.key().as_der().to_vec()).into();
        Ok(Self { chain, key })
    }
}

/// A client config for HTTP/2 to one provider.
pub fn client_config(
    extra_ca: Option<&Path>,
    identity: Option<ClientIdentity>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let pem = read(path)?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok) {
            roots.add(cert).map_err(|e| TlsError::Rejected {
                path: path.into(),
                reason: e.to_string(),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsError::NoCertificate { path: path.into() });
        }
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder.with_client_auth_cert(id.chain, id.key)?,
    };
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })
}
