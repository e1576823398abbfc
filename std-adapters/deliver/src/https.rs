//! HTTPS for the providers that speak plain request/response (every one but
//! APNs): a `reqwest` client on our rustls config (ring, Mozilla roots plus
//! an optional extra CA; HTTP/2 when the server offers it, so FCM sends
//! multiplex), the sorting of its failures into [`SendError`]s, and the
//! request timeout every send runs under ([`within`]). The token cache
//! the OAuth-style providers share is [`crate::token`].

use std::path::Path;
use std::time::{Duration, SystemTime};

use tidings_std::clock::SharedClock;

use crate::http2::SendError;
use crate::tls::{client_config, TlsError};

/// A client for one provider: its TLS trust and a whole-request deadline
/// (HTTP/2 when the server offers it, else HTTP/1.1).
pub fn client(extra_ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    build(&ClientOptions {
        extra_ca,
        timeout,
        http2_only: None,
    })
}

/// A client that speaks HTTP/2 only (ALPN `h2`), for providers whose
/// endpoints all do (FCM): concurrent sends wait for the one connection
/// being opened and then multiplex over it, instead of each opening its own
/// while ALPN is still unknown. Its connections are kept while idle and
/// pinged every `ping.0`, dropped when a PING goes unanswered for `ping.1`,
/// as APNs' pool does ([`crate::http2`]).
pub fn client_http2_only(
    extra_ca: Option<&Path>,
    timeout: Duration,
    ping: (Duration, Duration),
) -> Result<reqwest::Client, TlsError> {
    build(&ClientOptions {
        extra_ca,
        timeout,
        http2_only: Some(ping),
    })
}

/// How a provider's client is built.
struct ClientOptions<'a> {
    extra_ca: Option<&'a Path>,
    timeout: Duration,
    /// HTTP/2 only, with its keep-alive PING interval and timeout.
    http2_only: Option<(Duration, Duration)>,
}

fn build(options: &ClientOptions<'_>) -> Result<reqwest::Client, TlsError> {
    let config = client_config(options.extra_ca, None)?;
    let mut config = (*config).clone();
    config.alpn_protocols = match options.http2_only {
        Some(_) => vec![b"h2".to_vec()],
        None => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    let builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(options.timeout)
        .connect_timeout(crate::http2::DEFAULT_CONNECT_TIMEOUT);
    let builder = match options.http2_only {
        Some((interval, timeout)) => builder
            .http2_prior_knowledge()
            .http2_keep_alive_interval(interval)
            .http2_keep_alive_timeout(timeout)
            .http2_keep_alive_while_idle(true)
            .pool_idle_timeout(None),
        None => builder.pool_idle_timeout(Some(crate::http2::DEFAULT_PING_INTERVAL)),
    };
    builder.build().map_err(|e| TlsError::Client(e.to_string()))
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

pub use crate::kit::config::DEFAULT_REQUEST_TIMEOUT;

/// What a provider answered one request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, when sent.
    pub retry_after: Option<Duration>,
    pub body: bytes::Bytes,
}

/// Sends `request` and reads its whole answer; a failure on the way is
/// sorted by [`classify`].
pub async fn exchange(
    request: reqwest::RequestBuilder,
    clock: &SharedClock,
) -> Result<Answer, SendError> {
    let response = request.send().await.map_err(|e| classify(&e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), clock.now());
    let body = response.bytes().await.map_err(|e| classify(&e))?;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// `Retry-After` at `now` (seconds or an HTTP-date), if the answer carried
/// one.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::outcome::retry_after(v, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates_at_the_clock_s_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 07:26:40 GMT
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(80)));
        headers.insert(reqwest::header::RETRY_AFTER, "30".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
    }

    /// The FCM client's connection is pinged when idle, as APNs' are: a
    /// real HTTP/2 server over TLS counts the client's PING frames.
    #[tokio::test]
    async fn an_http2_only_client_pings_its_idle_connection() {
        use crate::http2::{FrameNote, Sniffed};
        use std::sync::Arc;
        let ca = tidings_standin::tls::CertificateAuthority::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        ca.write_pem(&ca_file).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let note = Arc::new(FrameNote::default());
        let server_note = Arc::clone(&note);
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            let sniffed = Sniffed::server_side(tls, server_note);
            let mut conn = h2::server::handshake(sniffed).await.unwrap();
            // Polling the connection answers its PINGs.
            while let Some(Ok((_, mut respond))) = conn.accept().await {
                let _ = respond.send_response(http::Response::new(()), true);
            }
        });
        let ping = (Duration::from_millis(50), Duration::from_secs(5));
        let client = client_http2_only(Some(&ca_file), Duration::from_secs(10), ping).unwrap();
        let answer = client
            .get(format!("https://localhost:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.version(), reqwest::Version::HTTP_2);
        // Idle now: the next frame the client sends is a PING.
        tokio::time::timeout(Duration::from_secs(10), note.pinged.notified())
            .await
            .expect("no PING within 10 s");
        assert!(note.pings() >= 1);
    }
}
