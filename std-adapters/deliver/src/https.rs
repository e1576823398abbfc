//! HTTPS for the providers that speak plain request/response (every one but
//! APNs): a `reqwest` client on our rustls config (ring, Mozilla roots plus
//! an optional extra CA; HTTP/2 when the server offers it, so FCM sends
//! multiplex), the sorting of its failures into [`SendError`]s, and the
//! request timeout every send runs under ([`within`]). The token cache
//! the OAuth-style providers share is [`crate::token`].

use std::path::Path;
use std::time::Duration;

use tidings_std::clock::SharedClock;

use crate::http2::SendError;
use crate::tls::{client_config, TlsError};

/// A client for one provider: its TLS trust and a whole-request deadline.
pub fn client(extra_ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    let config = client_config(extra_ca, None)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .connect_timeout(crate::http2::DEFAULT_CONNECT_TIMEOUT)
        .pool_idle_timeout(Some(crate::http2::DEFAULT_PING_INTERVAL))
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// A client that speaks HTTP/2 only (ALPN `h2`), for providers whose
/// endpoints all do (FCM): concurrent sends wait for the one connection
/// being opened and then multiplex over it, instead of each opening its own
/// while ALPN is still unknown.
pub fn client_http2_only(
    extra_ca: Option<&Path>,
    timeout: Duration,
) -> Result<reqwest::Client, TlsError> {
    let config = client_config(extra_ca, None)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .http2_prior_knowledge()
        .timeout(timeout)
        .connect_timeout(crate::http2::DEFAULT_CONNECT_TIMEOUT)
        .pool_idle_timeout(Some(crate::http2::DEFAULT_PING_INTERVAL))
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// Sorts a failed request the way [`crate::http2`] does: a request that
/// never reached the server may be sent again; one that timed out or lost
/// its connection after it was written may have been acted on.
pub fn classify(e: &reqwest::Error) -> SendError {
    // The error chain may name the endpoint's URL, never a credential: no
    // provider here puts a secret in the URL.
    let text = error_chain(e);
    if e.is_connect() {
        SendError::Connect(text)
    } else if e.is_timeout() {
        SendError::Timeout(text)
    } else {
        SendError::Lost(text)
    }
}

/// An error and its sources, `: `-joined (reqwest's own text is only the
/// outermost layer, "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Runs one send under the client's request timeout, token wait included:
/// when `timeout` passes first the send is dropped and the push is
/// [`crate::Delivery::unanswered`] with reason `Timeout`.
pub async fn within(
    provider: &str,
    timeout: Duration,
    clock: &SharedClock,
    attempt: u32,
    send: impl std::future::Future<Output = crate::Delivery>,
) -> crate::Delivery {
    match tokio::time::timeout(timeout, send).await {
        Ok(delivery) => delivery,
        Err(_) => SendError::Timeout(format!("no answer within {timeout:?}")).delivery(
            provider,
            clock.now(),
            attempt,
        ),
    }
}

/// A send's whole budget (token fetch, request, answer) unless the table
/// sets `request_timeout_secs`: as APNs.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// `application/x-www-form-urlencoded` (vendors.md §10.6: keep
/// `A-Z a-z 0-9 * - . _`, space as `+`, everything else `%XX` uppercase).
pub fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(&mut out, name);
        out.push('=');
        encode_component(&mut out, value);
    }
    out
}

fn encode_component(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
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

/// `Retry-After` in seconds, if the answer carried one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::outcome::retry_after_seconds)
}

/// Config helpers every HTTPS provider's `from_section` shares.
pub mod config {
    use std::time::Duration;

    use tidings_std::config::ConfigError;

    /// A required text value, trimmed of nothing but refused when blank.
    pub fn required(value: &Option<String>, key: &str) -> Result<String, ConfigError> {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ConfigError::new(key, "missing"))
    }

    /// An `https://host[:port]` base (or any absolute URL), without a
    /// trailing `/`; `default` when absent.
    pub fn base_url(
        value: &Option<String>,
        default: &str,
        key: &str,
    ) -> Result<String, ConfigError> {
        let text = value.as_deref().unwrap_or(default);
        let url = reqwest::Url::parse(text)
            .map_err(|e| ConfigError::new(key, format!("{text:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ConfigError::new(
                key,
                format!("{text:?} is not an https URL"),
            ));
        }
        Ok(text.trim_end_matches('/').to_owned())
    }

    /// `request_timeout_secs`, at least 1; the shared default when absent.
    pub fn request_timeout(value: Option<u64>, key: &str) -> Result<Duration, ConfigError> {
        let timeout = value.map_or(super::DEFAULT_REQUEST_TIMEOUT, Duration::from_secs);
        if timeout.is_zero() {
            return Err(ConfigError::new(key, "must be at least 1"));
        }
        Ok(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_keeps_the_unreserved_set_only() {
        assert_eq!(
            form_urlencoded(&[
                ("grant_type", "client_credentials"),
                ("client_secret", "a b+c/=&é~*")
            ]),
            "grant_type=client_credentials&client_secret=a+b%2Bc%2F%3D%26%C3%A9%7E*"
        );
    }
}
