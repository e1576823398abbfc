//! The stand-ins' TLS: a throwaway certificate authority generated at start,
//! the server certificate it issues for the loopback names, the rustls
//! server configuration (ALPN `h2`, client certificates optional) and client
//! identities for certificate-authenticated providers. Shared by every
//! provider stand-in.
//!
//! Everything runs on rustls's ring provider; nothing pulls in aws-lc.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::Error;

/// The names the server certificate is valid for: a client may dial the
/// stand-in by any of them.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The ALPN protocol every HTTP/2 stand-in offers.
pub const ALPN_H2: &[u8] = b"h2";

/// Common name of the generated CA certificate.
pub const CA_COMMON_NAME: &str = "Tidings stand-in CA";

/// The rustls crypto provider every stand-in uses (ring).
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate authority, generated fresh for each stand-in.
/// It issues the server certificate and any client identities, and it is
/// the only root the server accepts client certificates from.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("pem_len", &self.pem.len())
            .finish_non_exhaustive()
    }
}

/// A client certificate and its key, issued by a stand-in's CA: what a
/// certificate-authenticated provider (APNs with a `.p12`) hands a client.
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate's subject common name.
    pub common_name: String,
    /// The leaf certificate, PEM.
    pub cert_pem: String,
    /// The leaf's private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
    /// The leaf certificate, DER.
    pub cert_der: Vec<u8>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The same identity as a PKCS#12 file (certificate, key and the CA
    /// certificate), encrypted with [`ClientIdentity::pkcs12_password`].
    pub pkcs12: Vec<u8>,
    /// The PKCS#12 file's password.
    pub pkcs12_password: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Certificate then key, PEM, in one text (what many clients load as
    /// an "identity" file).
    pub fn identity_pem(&self) -> String {
        let mut s = String::with_capacity(self.cert_pem.len() + self.key_pem.len());
        s.push_str(&self.cert_pem);
        s.push_str(&self.key_pem);
        s
    }

    /// The certificate chain and key as rustls takes them for
    /// `with_client_auth_cert`.
    pub fn rustls_parts(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (
            vec![CertificateDer::from(self.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
        )
    }
}

impl CertificateAuthority {
    /// Generates a fresh CA (ECDSA P-256) named [`CA_COMMON_NAME`].
    pub fn generate() -> Result<Self, Error> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        let pem = cert.pem();
        let der = cert.der().clone();
        Ok(Self {
            issuer: Issuer::new(params, key),
            der,
            pem,
        })
    }

    /// The CA certificate, PEM: hand it to clients as their only trusted root.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// Writes the CA certificate (PEM) to `path`, replacing the file.
    pub fn write_pem(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.pem.as_bytes())
    }

    fn leaf(
        &self,
        names: &[&str],
        common_name: &str,
        eku: ExtendedKeyUsagePurpose,
    ) -> Result<(rcgen::Certificate, KeyPair), Error> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert, key))
    }

    /// Issues the server certificate for [`SERVER_NAMES`]: leaf then CA.
    pub fn issue_server(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
        let (cert, key) = self.leaf(
            &SERVER_NAMES,
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        Ok((
            vec![cert.der().clone(), self.der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ))
    }

    /// Issues a client certificate for `common_name` (key usage clientAuth),
    /// as PEM, DER and a PKCS#12 file.
    pub fn issue_client_identity(&self, common_name: &str) -> Result<ClientIdentity, Error> {
        let (cert, key) = self.leaf(&[], common_name, ExtendedKeyUsagePurpose::ClientAuth)?;
        let cert_der = cert.der().to_vec();
        let key_der = key.serialize_der();
        let pkcs12_password = uuid::Uuid::new_v4().simple().to_string();
        let pkcs12 = write_pkcs12(&cert_der, &key_der, self.der.as_ref(), &pkcs12_password)?;
        Ok(ClientIdentity {
            common_name: common_name.to_owned(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der,
            key_der,
            pkcs12,
            pkcs12_password,
        })
    }

    /// The rustls server configuration: the issued server certificate,
    /// ALPN `h2`, TLS 1.2 and 1.3, and client certificates *optional* — a
    /// connection without one is accepted (token auth), one with a
    /// certificate must chain to this CA or the handshake fails.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, Error> {
        let provider = crypto_provider();
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone())?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()?;
        let (chain, key) = self.issue_server()?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }
}

fn write_pkcs12(
    cert_der: &[u8],
    key_der: &[u8],
    ca_der: &[u8],
    password: &str,
) -> Result<Vec<u8>, Error> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let p12 = |e: p12_keystore::error::Error| Error::Pkcs12(e.to_string());
    let leaf = Certificate::from_der(cert_der).map_err(p12)?;
    let ca = Certificate::from_der(ca_der).map_err(p12)?;
    let key = PrivateKey::from_der(key_der).map_err(p12)?;
    let local_key_id = ring::digest::digest(&ring::digest::SHA256, cert_der);
    let chain = PrivateKeyChain::new(local_key_id.as_ref(), key, [leaf, ca]);
    let mut store = KeyStore::new();
    store.add_entry("identity", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(p12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs12_round_trips_through_p12_keystore() {
        let ca = CertificateAuthority::generate().unwrap();
        let id = ca.issue_client_identity("com.example.app").unwrap();
        let store = p12_keystore::KeyStore::from_pkcs12(
            &id.pkcs12,
            &id.pkcs12_password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        assert_eq!(chain.key().as_der(), id.key_der.as_slice());
        assert_eq!(chain.certs()[0].as_der(), id.cert_der.as_slice());
        assert!(chain.certs()[0].subject().contains("com.example.app"));
        assert!(id.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
