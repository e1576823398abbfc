//! A small pool of HTTP/2 connections over TLS to one provider endpoint.
//!
//! - Streams per connection stay under the server's
//!   `SETTINGS_MAX_CONCURRENT_STREAMS`: h2 holds a stream back until the
//!   server has room, and the pool opens another connection (up to
//!   `max_connections`) once every open one is busy, so traffic spreads over
//!   several connections as APNs asks (vendors.md §1.1).
//! - A connection the server closes with GOAWAY is replaced; a stream the
//!   server says it did not process (above the GOAWAY's last stream id, or
//!   reset with `REFUSED_STREAM`) comes back as [`SendError::Unprocessed`]
//!   and may be sent again with no risk of a double send. A stream lost
//!   after it was written comes back as [`SendError::Lost`]: the server may
//!   have acted on it, so only the caller's retry policy may resend it.
//! - Idle connections are pinged (HTTP/2 PING); one that does not answer is
//!   dropped. DNS is resolved afresh for every new connection.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use h2::Reason;
use http::{HeaderMap, Request, StatusCode};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::outcome::Delivery;
use crate::tls::ALPN_H2;

/// The most of an answer body that is read; provider error bodies are a
/// few hundred bytes, so more is a misbehaving server.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where connections go: `https://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Reads `https://host[:port]` (port 443 when absent). Only `https`:
    /// every provider speaks TLS, and so do the stand-ins.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!("{url:?}: only https:// endpoints"));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("{url:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(format!("{url:?}: give the endpoint without a path"));
        }
        Ok(Self {
            host,
            port: uri.port_u16().unwrap_or(443),
        })
    }

    /// `host:port` as it goes into `:authority`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Pool settings; each default is a named const with its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub max_connections: usize,
    pub connect_timeout: Duration,
    /// A connection idle this long is pinged.
    pub ping_interval: Duration,
    /// A ping unanswered this long drops the connection.
    pub ping_timeout: Duration,
}

/// Several connections, as APNs advises; four keep a 2-core gateway's
/// sends spread without opening more TLS sessions than it can use.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4;
/// Long enough for a TLS handshake across the world, short enough that a
/// dead endpoint is reported within a request's deadline.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// APNs: "send a PING after about an hour of idleness" (vendors.md §1.1).
/// Middleboxes drop idle TCP sooner, so we ask every 10 minutes.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(600);
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ping_interval: DEFAULT_PING_INTERVAL,
            ping_timeout: DEFAULT_PING_TIMEOUT,
        }
    }
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No connection could be opened.
    Connect(String),
    /// The server did not act on the request: safe to send again.
    Unprocessed(String),
    /// The request was written and the connection or stream then failed:
    /// the server may have acted on it.
    Lost(String),
    /// The request's deadline passed before its answer came: the server may
    /// have acted on it.
    Timeout(String),
}

impl SendError {
    /// The retry's reason: `Unreachable`, `Unprocessed`, `ConnectionLost` or
    /// `Timeout` (see [`crate::outcome`]).
    pub fn reason(&self) -> &'static str {
        match self {
            SendError::Connect(_) => "Unreachable",
            SendError::Unprocessed(_) => "Unprocessed",
            SendError::Lost(_) => "ConnectionLost",
            SendError::Timeout(_) => "Timeout",
        }
    }

    /// What went wrong, for a log line (never a credential).
    pub fn detail(&self) -> &str {
        match self {
            SendError::Connect(why)
            | SendError::Unprocessed(why)
            | SendError::Lost(why)
            | SendError::Timeout(why) => why,
        }
    }

    /// The push's [`Delivery`]: [`Delivery::unanswered`] for `attempt`,
    /// logged at debug level.
    pub fn delivery(&self, provider: &str, now: SystemTime, attempt: u32) -> Delivery {
        let reason = self.reason();
        tracing::debug!(provider, reason, why = %self.detail(), attempt, "push got no answer");
        Delivery::unanswered(reason, now, attempt)
    }
}

/// A connection's identity within its pool, to retire it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnId(u64);

/// An answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub conn: ConnId,
}

struct Conn {
    id: u64,
    sender: SendRequest<Bytes>,
    in_flight: AtomicUsize,
    retired: AtomicBool,
    /// Milliseconds since the pool's epoch at the last request start.
    last_used: AtomicU64,
}

impl Conn {
    fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    fn is_usable(&self) -> bool {
        !self.retired.load(Ordering::Relaxed)
    }
}

/// Decrements the in-flight count however the request ends.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Http2Pool {
    endpoint: Endpoint,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    config: PoolConfig,
    conns: Mutex<Vec<Arc<Conn>>>,
    /// One connect at a time; others keep using the open connections.
    connect_gate: tokio::sync::Mutex<()>,
    connecting: AtomicBool,
    next_id: AtomicU64,
    epoch: Instant,
}

impl std::fmt::Debug for Http2Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Pool")
            .field("endpoint", &self.endpoint)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Http2Pool {
    pub fn new(
        endpoint: Endpoint,
        tls: Arc<ClientConfig>,
        config: PoolConfig,
    ) -> Result<Self, String> {
        let server_name = ServerName::try_from(endpoint.host.clone())
            .map_err(|_| format!("{:?} is not a host name or address", endpoint.host))?;
        Ok(Self {
            endpoint,
            server_name,
            tls: TlsConnector::from(tls),
            config: PoolConfig {
                max_connections: config.max_connections.max(1),
                ..config
            },
            conns: Mutex::new(Vec::new()),
            connect_gate: tokio::sync::Mutex::new(()),
            connecting: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Connections opened over the pool's life.
    pub fn connections_opened(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed)
    }

    /// Stops new requests going to a connection (the server asked for a
    /// new one: `Shutdown`, `IdleTimeout`, a key bound to it). Requests in
    /// flight on it finish; it closes when the last one does.
    pub fn retire(&self, conn: ConnId) {
        let conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = conns.iter().find(|c| c.id == conn.0) {
            c.retire();
        }
    }

    /// Sends one request with its whole body and reads the whole answer.
    pub async fn send(&self, request: Request<()>, body: Bytes) -> Result<Answer, SendError> {
        let conn = self.acquire().await?;
        let in_flight = InFlight(conn);
        let conn = &in_flight.0;
        let id = ConnId(conn.id);
        let mut sender = conn.sender.clone().ready().await.map_err(|e| {
            conn.retire();
            SendError::Unprocessed(format!("connection closed: {e}"))
        })?;
        let end_of_stream = body.is_empty();
        let (response, mut stream) = sender.send_request(request, end_of_stream).map_err(|e| {
            conn.retire();
            SendError::Unprocessed(format!("stream not opened: {e}"))
        })?;
        if !end_of_stream {
            stream
                .send_data(body, true)
                .map_err(|e| stream_failure(conn, &e))?;
        }
        let response = response.await.map_err(|e| stream_failure(conn, &e))?;
        let (parts, mut recv) = response.into_parts();
        let mut body = BytesMut::new();
        while let Some(chunk) = recv.data().await {
            let chunk = chunk.map_err(|e| stream_failure(conn, &e))?;
            let _ = recv.flow_control().release_capacity(chunk.len());
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                conn.retire();
                return Err(SendError::Lost(format!(
                    "answer body over {MAX_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.freeze(),
            conn: id,
        })
    }

    /// The least busy usable connection, opening one when all are busy and
    /// the pool has room. The returned connection counts the request.
    async fn acquire(&self) -> Result<Arc<Conn>, SendError> {
        if let Some(conn) = self.pick(false) {
            return Ok(conn);
        }
        let _gate = self.connect_gate.lock().await;
        // Another request may have opened one while this one waited.
        if let Some(conn) = self.pick(false) {
            return Ok(conn);
        }
        self.connecting.store(true, Ordering::Relaxed);
        let opened = self.connect().await;
        self.connecting.store(false, Ordering::Relaxed);
        match opened {
            Ok(conn) => {
                self.mark_used(&conn);
                let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
                conns.push(Arc::clone(&conn));
                Ok(conn)
            }
            // A failed extra connection does not fail a request that an
            // open connection can carry.
            Err(e) => self.pick(true).ok_or(SendError::Connect(e)),
        }
    }

    /// `any`: take the least busy usable connection even if all are busy.
    fn pick(&self, any: bool) -> Option<Arc<Conn>> {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        conns.retain(|c| c.is_usable());
        let best = conns
            .iter()
            .min_by_key(|c| c.in_flight.load(Ordering::Relaxed))?;
        let idle = best.in_flight.load(Ordering::Relaxed) == 0;
        let full = conns.len() >= self.config.max_connections;
        if any || idle || full || self.connecting.load(Ordering::Relaxed) {
            let best = Arc::clone(best);
            drop(conns);
            self.mark_used(&best);
            Some(best)
        } else {
            None
        }
    }

    fn mark_used(&self, conn: &Conn) {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        conn.last_used.store(self.millis(), Ordering::Relaxed);
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn connect(&self) -> Result<Arc<Conn>, String> {
        let endpoint = &self.endpoint;
        let open = async {
            let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
                .await
                .map_err(|e| format!("connecting to {}: {e}", endpoint.authority()))?;
            let _ = tcp.set_nodelay(true);
            let tls = self
                .tls
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", endpoint.authority()))?;
            if tls.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
                return Err(format!("{} does not speak HTTP/2", endpoint.authority()));
            }
            h2::client::Builder::new()
                .handshake::<_, Bytes>(tls)
                .await
                .map_err(|e| format!("HTTP/2 with {}: {e}", endpoint.authority()))
        };
        let (sender, mut connection) = tokio::time::timeout(self.config.connect_timeout, open)
            .await
            .map_err(|_| format!("connecting to {}: timed out", endpoint.authority()))??;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            sender,
            in_flight: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            last_used: AtomicU64::new(self.millis()),
        });
        tracing::debug!(endpoint = %endpoint.authority(), conn = id, "HTTP/2 connection open");
        let ping = connection.ping_pong();
        let watch = Watch {
            conn: Arc::downgrade(&conn),
            epoch: self.epoch,
            interval: self.config.ping_interval,
            timeout: self.config.ping_timeout,
        };
        tokio::spawn(watch.drive(connection, ping));
        Ok(conn)
    }
}

/// Drives one connection and pings it when idle; ends when the server
/// closes it, a ping goes unanswered, or the pool has let go of it.
struct Watch {
    conn: Weak<Conn>,
    epoch: Instant,
    interval: Duration,
    timeout: Duration,
}

impl Watch {
    async fn drive<T>(
        self,
        connection: h2::client::Connection<T, Bytes>,
        ping: Option<h2::PingPong>,
    ) where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        tokio::pin!(connection);
        let mut ping = ping;
        loop {
            tokio::select! {
                closed = &mut connection => {
                    if let Err(e) = closed {
                        tracing::debug!(error = %e, "HTTP/2 connection ended");
                    }
                    break;
                }
                () = tokio::time::sleep(self.interval) => {
                    let Some(conn) = self.conn.upgrade() else { break };
                    let idle_ms = u64::try_from(self.epoch.elapsed().as_millis())
                        .unwrap_or(u64::MAX)
                        .saturating_sub(conn.last_used.load(Ordering::Relaxed));
                    let idle = conn.in_flight.load(Ordering::Relaxed) == 0
                        && u128::from(idle_ms) >= self.interval.as_millis();
                    drop(conn);
                    let Some(pinger) = ping.as_mut().filter(|_| idle) else { continue };
                    let answered = tokio::select! {
                        closed = &mut connection => {
                            if let Err(e) = closed {
                                tracing::debug!(error = %e, "HTTP/2 connection ended");
                            }
                            break;
                        }
                        pong = tokio::time::timeout(self.timeout, pinger.ping(h2::Ping::opaque())) => {
                            matches!(pong, Ok(Ok(_)))
                        }
                    };
                    if !answered {
                        tracing::debug!("HTTP/2 ping unanswered; dropping the connection");
                        break;
                    }
                }
            }
        }
        if let Some(conn) = self.conn.upgrade() {
            conn.retire();
        }
    }
}

/// Classifies a stream's failure. RFC 9113 §8.7: a stream above a GOAWAY's
/// last stream id, or reset with REFUSED_STREAM, was not processed.
fn stream_failure(conn: &Conn, e: &h2::Error) -> SendError {
    let refused = e.reason() == Some(Reason::REFUSED_STREAM) && e.is_remote();
    let above_goaway = e.is_go_away() && e.is_remote() && e.reason() == Some(Reason::NO_ERROR);
    if e.is_go_away() || e.is_io() {
        conn.retire();
    }
    if refused || above_goaway {
        SendError::Unprocessed(format!("not processed by the server: {e}"))
    } else {
        SendError::Lost(format!("stream failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_reads_https_urls_only() {
        assert_eq!(
            Endpoint::parse("https://api.push.apple.com").unwrap(),
            Endpoint {
                host: "api.push.apple.com".into(),
                port: 443
            }
        );
        let local = Endpoint::parse("https://127.0.0.1:2197").unwrap();
        assert_eq!(local.authority(), "127.0.0.1:2197");
        let v6 = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority().as_str()),
            ("::1", "[::1]:8443")
        );
        assert!(Endpoint::parse("http://127.0.0.1:80")
            .unwrap_err()
            .contains("https"));
        assert!(Endpoint::parse("https://h/3/device")
            .unwrap_err()
            .contains("path"));
        assert!(Endpoint::parse("not a url").is_err());
    }
}
