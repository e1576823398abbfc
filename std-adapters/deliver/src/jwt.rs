//! Compact JWS signing with `ring` (RFC 7515/7518): ES256 for APNs provider
//! tokens, RS256 for Google service-account assertions (FCM), PS256 for
//! HarmonyOS NEXT service-account JWTs (one RSA key type for both). The key never
//! leaves its type and is never printed.

use std::fmt;
use std::marker::PhantomData;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaEncoding, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM \"PRIVATE KEY\" (PKCS#8) block")]
    NotPkcs8Pem,
    #[error("not a P-256 (ES256) private key")]
    NotP256,
    #[error("not an RSA private key of 2048 to 8192 bits")]
    NotRsa,
    #[error("signing failed")]
    Signing,
}

/// An ES256 signing key (ECDSA P-256, SHA-256, fixed-size `r‖s` signature
/// as JWS wants, not DER).
pub struct Es256Key {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Es256Key(..)")
    }
}

impl Es256Key {
    /// Reads a `.p8` file's text as Apple issues it (PEM, PKCS#8).
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| KeyError::NotPkcs8Pem)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|_| KeyError::NotP256)?;
        Ok(Self { pair, rng })
    }

    /// `base64url(header).base64url(claims).base64url(signature)`.
    pub fn sign(&self, header_json: &str, claims_json: &str) -> Result<String, KeyError> {
        let mut jws = String::with_capacity(256);
        URL_SAFE_NO_PAD.encode_string(header_json, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut jws);
        let signature = self
            .pair
            .sign(&self.rng, jws.as_bytes())
            .map_err(|_| KeyError::Signing)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
        Ok(jws)
    }

    /// The public half (uncompressed SEC1 point), for verifiers.
    pub fn public_key(&self) -> &[u8] {
        use ring::signature::KeyPair as _;
        self.pair.public_key().as_ref()
    }
}

/// An RSA JWS algorithm: its `alg` name and ring's padding.
pub trait RsaAlgorithm: Send + Sync + 'static {
    /// `RS256`, `PS256`: also what `Debug` prints (`RS256Key(..)`).
    const NAME: &'static str;
    fn padding() -> &'static dyn RsaEncoding;
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3): Google's assertions.
#[derive(Debug)]
pub struct Rs256;

impl RsaAlgorithm for Rs256 {
    const NAME: &'static str = "RS256";
    fn padding() -> &'static dyn RsaEncoding {
        &RSA_PKCS1_SHA256
    }
}

/// RSASSA-PSS with SHA-256 and MGF1-SHA-256 (RFC 7518 §3.5): HarmonyOS
/// NEXT Push Kit's JWTs (beyond.md §11.1).
#[derive(Debug)]
pub struct Ps256;

impl RsaAlgorithm for Ps256 {
    const NAME: &'static str = "PS256";
    fn padding() -> &'static dyn RsaEncoding {
        &RSA_PSS_SHA256
    }
}

/// An RSA signing key for algorithm `A`, as service-account key files
/// carry it (`private_key`, PKCS#8 PEM).
pub struct RsaKey<A: RsaAlgorithm> {
    pair: RsaKeyPair,
    rng: SystemRandom,
    algorithm: PhantomData<A>,
}

/// Google's service-account assertions (FCM).
pub type Rs256Key = RsaKey<Rs256>;
/// HarmonyOS NEXT's service-account JWTs.
pub type Ps256Key = RsaKey<Ps256>;

impl<A: RsaAlgorithm> fmt::Debug for RsaKey<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Key(..)", A::NAME)
    }
}

impl<A: RsaAlgorithm> RsaKey<A> {
    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) RSA key.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| KeyError::NotPkcs8Pem)?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|_| KeyError::NotRsa)?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
            algorithm: PhantomData,
        })
    }

    /// `base64url(header).base64url(claims).base64url(signature)`.
    pub fn sign(&self, header_json: &str, claims_json: &str) -> Result<String, KeyError> {
        let mut jws = String::with_capacity(1024);
        URL_SAFE_NO_PAD.encode_string(header_json, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut jws);
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(A::padding(), &self.rng, jws.as_bytes(), &mut signature)
            .map_err(|_| KeyError::Signing)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
        Ok(jws)
    }

    /// The public half (DER `RSAPublicKey`), for verifiers.
    pub fn public_key(&self) -> &[u8] {
        use ring::signature::KeyPair as _;
        self.pair.public_key().as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    fn test_key_pem() -> String {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    }

    #[test]
    fn signs_a_jws_that_verifies_with_the_public_half() {
        let key = Es256Key::from_pkcs8_pem(test_key_pem().as_bytes()).unwrap();
        let jws = key.sign(r#"{"alg":"ES256"}"#, r#"{"iat":1}"#).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[1]).unwrap(), br#"{"iat":1}"#);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64, "r||s, not DER");
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key())
            .verify(signed.as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn rs256_signs_a_jws_that_verifies_with_the_public_half() {
        let pem = include_str!("../../standin/testdata/fcm-test-key-1.pem");
        let key = Rs256Key::from_pkcs8_pem(pem.as_bytes()).unwrap();
        let jws = key.sign(r#"{"alg":"RS256"}"#, r#"{"iat":1}"#).unwrap();
        let (signed, signature) = jws.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert_eq!(signature.len(), 256, "2048-bit key");
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key(),
        )
        .verify(signed.as_bytes(), &signature)
        .unwrap();
        // An EC key is not an RSA key.
        assert_eq!(
            Rs256Key::from_pkcs8_pem(test_key_pem().as_bytes()).unwrap_err(),
            KeyError::NotRsa
        );
    }

    #[test]
    fn ps256_signs_a_jws_that_verifies_with_the_public_half_and_hides_the_key() {
        let pem = include_str!("../../standin/testdata/fcm-test-key-1.pem");
        let key = Ps256Key::from_pkcs8_pem(pem.as_bytes()).unwrap();
        let jws = key.sign(r#"{"alg":"PS256"}"#, r#"{"iat":1}"#).unwrap();
        let (signed, signature) = jws.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let verify = |alg| {
            ring::signature::UnparsedPublicKey::new(alg, key.public_key())
                .verify(signed.as_bytes(), &signature)
        };
        verify(&ring::signature::RSA_PSS_2048_8192_SHA256).unwrap();
        assert!(
            verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256).is_err(),
            "PSS, not PKCS#1 v1.5"
        );
        assert_eq!(format!("{key:?}"), "PS256Key(..)");
    }

    #[test]
    fn refuses_what_is_not_a_p256_pkcs8_key() {
        assert_eq!(
            Es256Key::from_pkcs8_pem(b"not a key").unwrap_err(),
            KeyError::NotPkcs8Pem
        );
        let not_ec = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            Es256Key::from_pkcs8_pem(not_ec.as_bytes()).unwrap_err(),
            KeyError::NotP256
        );
    }
}
