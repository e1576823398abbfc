//! A compact JWS (RFC 7515) as a stand-in checks one: split, decoded and
//! verified with `ring`. The stand-in decides what its header and claims
//! must say.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, VerificationAlgorithm};
use serde_json::Value;

/// base64url, with or without padding.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A JWS read but not yet verified.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Three base64url parts, the first two JSON objects; `None` otherwise.
    pub(crate) fn parse(jws: &'a str) -> Option<Self> {
        let mut parts = jws.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let json = |part: &str| -> Option<Value> {
            serde_json::from_slice(&B64URL.decode(part).ok()?)
                .ok()
                .filter(Value::is_object)
        };
        Some(Self {
            header: json(header)?,
            claims: json(claims)?,
            signing_input: jws.get(..jws.rfind('.')?)?,
            signature: B64URL.decode(signature).ok()?,
        })
    }

    /// A header field as text.
    pub(crate) fn header_text(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as text.
    pub(crate) fn claim_text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A claim as an integer.
    pub(crate) fn claim_int(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// Whether `public_key` signed it with `algorithm`.
    pub(crate) fn verifies(
        &self,
        algorithm: &'static dyn VerificationAlgorithm,
        public_key: &[u8],
    ) -> bool {
        UnparsedPublicKey::new(algorithm, public_key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_three_parts_with_json_objects() {
        let part = |json: &str| B64URL.encode(json);
        let jws = format!(
            "{}.{}.{}",
            part(r#"{"alg":"X"}"#),
            part(r#"{"n":1}"#),
            part("sig")
        );
        let read = Jws::parse(&jws).unwrap();
        assert_eq!(read.header_text("alg"), Some("X"));
        assert_eq!(read.claim_int("n"), Some(1));
        assert_eq!(read.signature, b"sig");
        assert!(Jws::parse("a.b").is_none());
        assert!(Jws::parse(&format!("{jws}.x")).is_none());
        assert!(Jws::parse(&format!("{}.{}.", part("[]"), part("{}"))).is_none());
    }
}
