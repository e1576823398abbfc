//! What the form-bodied providers (Xiaomi, OPPO, Meizu: vendors.md §10.6)
//! share: `application/x-www-form-urlencoded` encoding of the few values a
//! client adds to the core's body (a credential, a signature), decoding of
//! the core's body where a client must read or sign a value, one form POST
//! with its answer, and the "next day" a daily quota reopens.
//!
//! Nothing here re-encodes the core's body: a client sends the rendered
//! bytes as they are and appends `&name=value` pairs of its own.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;

use tidings_std::config::ConfigError;

use crate::http2::SendError;
use crate::outcome::{retry_after_seconds, Delivery, Outcome};
use crate::tls::TlsError;

/// The content type of every form request (vendors.md §5.1, §8.1).
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// Appends `value` form-encoded as vendors.md §10.6 says (and as the core
/// writes its bodies): `A–Z a–z 0–9 * - . _` kept, space as `+`, every
/// other byte `%XX` with uppercase hex.
pub fn encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

/// `&name=value`, the value form-encoded.
pub fn append_pair(body: &mut Vec<u8>, name: &str, value: &str) {
    let mut pair = String::with_capacity(name.len() + value.len() + 2);
    if !body.is_empty() {
        pair.push('&');
    }
    pair.push_str(name);
    pair.push('=');
    encode_into(&mut pair, value);
    body.extend_from_slice(pair.as_bytes());
}

/// One value decoded: `+` is a space, `%XX` a byte. `None` for a `%` not
/// followed by two hex digits.
pub fn decode(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_digit(*value.get(i + 1)?)?;
                let lo = hex_digit(*value.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The body's pairs in order, names and values decoded (values as bytes:
/// they are signed as they are). `None` when a pair is malformed.
pub fn pairs(body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if body.is_empty() {
        return Some(Vec::new());
    }
    body.split(|&b| b == b'&')
        .map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let name = String::from_utf8(decode(&pair[..eq])?).ok()?;
            Some((name, decode(&pair[eq + 1..])?))
        })
        .collect()
}

/// The decoded value of the first field `name` in a form body.
pub fn field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    pairs(body)?
        .into_iter()
        .find_map(|(n, v)| (n == name).then_some(v))
}

/// What a provider answered one form POST.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

/// POSTs `body` as a form to `url` with `headers`. Network failures are
/// sorted by [`crate::https::classify`].
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<Answer, SendError> {
    let response = http
        .post(url)
        .headers(headers)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| crate::https::classify(&e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after_seconds);
    let body = response
        .bytes()
        .await
        .map_err(|e| crate::https::classify(&e))?;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

pub use crate::outcome::{next_midnight, CHINA_UTC_OFFSET_SECS};

// ------------------------------------------------ shared by the form clients

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Checks an endpoint names a known region or an `https://` URL.
pub(crate) fn check_endpoint(key: &str, endpoint: &str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "https" && u.host().is_some() => Ok(()),
        _ => Err(ConfigError::new(
            key,
            format!("{endpoint:?} is neither a known region nor an https:// URL"),
        )),
    }
}

pub(crate) fn request_timeout(
    key: &str,
    secs: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let timeout = secs.map_or(default, Duration::from_secs);
    if timeout.is_zero() {
        return Err(ConfigError::new(key, "must be at least 1"));
    }
    Ok(timeout)
}

pub(crate) fn required(value: &Option<String>, key: &str) -> Result<String, ConfigError> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError::new(key, "missing"))
}

pub(crate) fn local_reject(reason: &str) -> Delivery {
    Delivery {
        outcome: Outcome::Rejected {
            reason: reason.to_owned(),
        },
        status: None,
        id: None,
        invalid_tokens: Vec::new(),
    }
}

/// A request that got no answer: [`Delivery::unanswered`] for `attempt`
/// (see [`crate::outcome`]), logged at debug level.
pub(crate) fn network_failure(
    provider: &str,
    e: &SendError,
    now: SystemTime,
    attempt: u32,
) -> Delivery {
    e.delivery(provider, now, attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_core_does_and_decodes_back() {
        let mut s = String::new();
        encode_into(&mut s, "a b&c=d/é*-._~");
        assert_eq!(s, "a+b%26c%3Dd%2F%C3%A9*-._%7E");
        assert_eq!(decode(s.as_bytes()).unwrap(), "a b&c=d/é*-._~".as_bytes());
        assert_eq!(decode(b"%2"), None);
        assert_eq!(decode(b"%zz"), None);
        let mut body = b"x=1".to_vec();
        append_pair(&mut body, "sign", "a+b");
        assert_eq!(body, b"x=1&sign=a%2Bb");
        assert_eq!(
            pairs(&body).unwrap(),
            vec![
                ("x".into(), b"1".to_vec()),
                ("sign".into(), b"a+b".to_vec())
            ]
        );
        assert_eq!(field(&body, "sign").unwrap(), b"a+b");
        assert_eq!(pairs(b"novalue"), None);
    }
}
