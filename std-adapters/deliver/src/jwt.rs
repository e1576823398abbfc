//! Compact JWS signing with `ring` (RFC 7515/7518): ES256 for APNs provider
//! tokens, RS256 for Google service-account assertions (FCM). The key never
//! leaves its type and is never printed.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
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
    #[error("not an RSA (RS256) private key of 2048 to 8192 bits")]
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

/// An RS256 signing key (RSASSA-PKCS1-v1_5, SHA-256), as Google's
/// service-account JSON carries it (`private_key`, PKCS#8 PEM).
pub struct Rs256Key {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for Rs256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rs256Key(..)")
    }
}

impl Rs256Key {
    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) RSA key.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| KeyError::NotPkcs8Pem)?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|_| KeyError::NotRsa)?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
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
            .sign(&RSA_PKCS1_SHA256, &self.rng, jws.as_bytes(), &mut signature)
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
