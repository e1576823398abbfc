//! A small pool of HTTP/2 connections over TLS to one provider endpoint.
//!
//! - Streams per connection stay under the server's
//!   `SETTINGS_MAX_CONCURRENT_STREAMS`: h2 holds a stream back until the
//!   server has room, and the pool opens another connection (up to
//!   `max_connections`) once every open one is busy, so traffic spreads over
//!   several connections as APNs asks (vendors.md §1.1).
//! - A connection the server closes with GOAWAY is replaced; a stream the
//!   server says it did not process (above the GOAWAY's last stream id,
//!   whatever its error code, RFC 9113 §6.8; or reset with
//!   `REFUSED_STREAM`) comes back as [`SendError::Unprocessed`]
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
    /// The server's GOAWAY, once one arrived.
    goaway: Arc<FrameNote>,
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
        let stream_id = u32::from(response.stream_id());
        let failed = |e: h2::Error| {
            if e.is_go_away() || e.is_io() {
                conn.retire();
            }
            stream_failure(&conn.goaway, stream_id, &e)
        };
        if !end_of_stream {
            stream.send_data(body, true).map_err(failed)?;
        }
        let response = response.await.map_err(failed)?;
        let (parts, mut recv) = response.into_parts();
        let mut body = BytesMut::new();
        while let Some(chunk) = recv.data().await {
            let chunk = chunk.map_err(failed)?;
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
            let goaway = Arc::new(FrameNote::default());
            let sniffed = Sniffed::new(tls, Arc::clone(&goaway));
            h2::client::Builder::new()
                .handshake::<_, Bytes>(sniffed)
                .await
                .map(|(sender, connection)| (sender, connection, goaway))
                .map_err(|e| format!("HTTP/2 with {}: {e}", endpoint.authority()))
        };
        let (sender, mut connection, goaway) =
            tokio::time::timeout(self.config.connect_timeout, open)
                .await
                .map_err(|_| format!("connecting to {}: timed out", endpoint.authority()))??;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            sender,
            in_flight: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            last_used: AtomicU64::new(self.millis()),
            goaway,
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

/// Classifies the failure of stream `stream_id`. RFC 9113 §6.8: a stream
/// above a GOAWAY's last stream id was not processed, whatever the
/// GOAWAY's error code, and may be sent again; so was one reset with
/// REFUSED_STREAM (§8.7). Anything else may have been acted on.
fn stream_failure(goaway: &FrameNote, stream_id: u32, e: &h2::Error) -> SendError {
    let refused = e.reason() == Some(Reason::REFUSED_STREAM) && e.is_remote();
    let above_goaway = e.is_go_away()
        && e.is_remote()
        && (goaway.last_stream_id().is_some_and(|last| stream_id > last)
            // h2 fails a stream with a graceful (NO_ERROR) GOAWAY only when
            // it is above the last stream id.
            || e.reason() == Some(Reason::NO_ERROR));
    if refused || above_goaway {
        SendError::Unprocessed(format!("not processed by the server: {e}"))
    } else {
        SendError::Lost(format!("stream failed: {e}"))
    }
}

/// What the peer's frames said that h2 keeps to itself: a GOAWAY's last
/// stream id (and debug data, logged), and how many PINGs arrived. Written
/// by [`Sniffed`] as a frame arrives, before h2 acts on it.
#[derive(Debug, Default)]
pub(crate) struct FrameNote {
    last_stream_id: Mutex<Option<u32>>,
    pings: AtomicU64,
    /// Woken at each PING (tests wait on it).
    pub(crate) pinged: tokio::sync::Notify,
}

impl FrameNote {
    fn last_stream_id(&self) -> Option<u32> {
        *self
            .last_stream_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// PINGs (not acknowledgements) received so far.
    #[cfg(test)]
    pub(crate) fn pings(&self) -> u64 {
        self.pings.load(Ordering::Relaxed)
    }

    /// A GOAWAY payload (§6.8): last stream id, error code, debug data. A
    /// later GOAWAY may only lower the last stream id.
    fn record(&self, payload: &[u8]) {
        let word = |at: usize| {
            payload
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
        };
        let (Some(last), Some(code)) = (word(0), word(4)) else {
            return;
        };
        let last = last & 0x7fff_ffff;
        let mut note = self
            .last_stream_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *note = Some(note.map_or(last, |earlier| earlier.min(last)));
        drop(note);
        // APNs puts its JSON reason in the debug data; a server's text, no
        // secret. Bounded by what `Sniffed` keeps.
        let debug_data = String::from_utf8_lossy(payload.get(8..).unwrap_or_default());
        let reason = Reason::from(code);
        if reason == Reason::NO_ERROR {
            tracing::debug!(last_stream_id = last, %debug_data, "the server sent GOAWAY");
        } else {
            tracing::warn!(last_stream_id = last, error = ?reason, %debug_data, "the server closed the connection with GOAWAY and an error");
        }
    }
}

/// The most GOAWAY debug data kept for the log.
const MAX_GOAWAY_DEBUG: usize = 1024;

/// A connection's read side, its frame headers watched for GOAWAY (RFC
/// 9113 §4.1: 9-byte headers, a 24-bit payload length, type 0x7 GOAWAY).
pub(crate) struct Sniffed<T> {
    inner: T,
    /// Bytes still to pass before the first frame (a client's preface).
    preface_left: usize,
    note: Arc<FrameNote>,
    header: [u8; 9],
    have: usize,
    /// Payload bytes of the current frame still to pass.
    payload_left: usize,
    /// The GOAWAY payload being collected, when the frame is one.
    goaway: Option<Vec<u8>>,
}

impl<T> Sniffed<T> {
    /// The client side: the server's frames from the first byte.
    pub(crate) fn new(inner: T, note: Arc<FrameNote>) -> Self {
        Self {
            inner,
            preface_left: 0,
            note,
            header: [0; 9],
            have: 0,
            payload_left: 0,
            goaway: None,
        }
    }

    /// The server side: the client's frames after its 24-byte preface.
    #[cfg(test)]
    pub(crate) fn server_side(inner: T, note: Arc<FrameNote>) -> Self {
        Self {
            preface_left: 24,
            ..Self::new(inner, note)
        }
    }

    fn scan(&mut self, mut bytes: &[u8]) {
        let skip = self.preface_left.min(bytes.len());
        self.preface_left -= skip;
        bytes = &bytes[skip..];
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len());
                if let Some(payload) = &mut self.goaway {
                    let room = (8 + MAX_GOAWAY_DEBUG).saturating_sub(payload.len());
                    payload.extend_from_slice(&bytes[..n.min(room)]);
                }
                self.payload_left -= n;
                bytes = &bytes[n..];
            } else {
                let n = (9 - self.have).min(bytes.len());
                self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
                self.have += n;
                bytes = &bytes[n..];
                if self.have < 9 {
                    continue;
                }
                self.have = 0;
                let [a, b, c, kind, flags, ..] = self.header;
                self.payload_left = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                self.goaway = (kind == 0x7).then(Vec::new);
                // PING (0x6) without ACK (0x1).
                if kind == 0x6 && flags & 0x1 == 0 {
                    self.note.pings.fetch_add(1, Ordering::Relaxed);
                    self.note.pinged.notify_one();
                }
            }
            if self.payload_left == 0 {
                if let Some(payload) = self.goaway.take() {
                    self.note.record(&payload);
                }
            }
        }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Sniffed<T> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = std::pin::Pin::new(&mut this.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = read {
            this.scan(&buf.filled()[before..]);
        }
        read
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Sniffed<T> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
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

    /// A frame header (RFC 9113 §4.1) and payload.
    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut out = vec![len[1], len[2], len[3], kind, 0, 0, 0, 0, 0];
        out.extend_from_slice(payload);
        out
    }

    fn goaway(last_stream_id: u32, reason: Reason, debug: &[u8]) -> Vec<u8> {
        let mut payload = last_stream_id.to_be_bytes().to_vec();
        payload.extend_from_slice(&u32::from(reason).to_be_bytes());
        payload.extend_from_slice(debug);
        frame(0x7, &payload)
    }

    #[test]
    fn the_scan_finds_a_goaway_however_the_bytes_are_cut() {
        let mut wire = frame(0x4, &[]);
        wire.extend(frame(0x0, b"data before"));
        wire.extend(goaway(
            5,
            Reason::ENHANCE_YOUR_CALM,
            br#"{"reason":"TooManyRequests"}"#,
        ));
        wire.extend(goaway(3, Reason::NO_ERROR, b""));
        let note = Arc::new(FrameNote::default());
        let mut sniffed = Sniffed::new((), Arc::clone(&note));
        let (first, second) = wire.split_at(wire.len() - 17);
        for byte in first {
            sniffed.scan(std::slice::from_ref(byte));
        }
        assert_eq!(note.last_stream_id(), Some(5));
        sniffed.scan(second);
        assert_eq!(note.last_stream_id(), Some(3), "a later GOAWAY lowers it");
    }

    /// RFC 9113 §6.8 with an error code: h2 fails the stream above the last
    /// stream id at once, and it was not processed; the one at or below it
    /// fails when the connection ends, and may have been acted on.
    #[tokio::test]
    async fn above_an_error_goaway_s_last_stream_id_is_not_processed() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (client_io, mut server_io) = tokio::io::duplex(64 * 1024);
        let note = Arc::new(FrameNote::default());
        let (client, connection) =
            h2::client::handshake(Sniffed::new(client_io, Arc::clone(&note)))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = || {
            Request::post("https://push.example/3/device/x")
                .body(())
                .unwrap()
        };
        let mut client = client.ready().await.unwrap();
        let (first, _) = client.send_request(request(), true).unwrap();
        let mut client = client.ready().await.unwrap();
        let (second, _) = client.send_request(request(), true).unwrap();
        let (one, three) = (u32::from(first.stream_id()), u32::from(second.stream_id()));
        assert!(one < three);
        let mut wire = frame(0x4, &[]);
        wire.extend(goaway(
            one,
            Reason::ENHANCE_YOUR_CALM,
            br#"{"reason":"Shutdown"}"#,
        ));
        server_io.write_all(&wire).await.unwrap();
        let e = second.await.unwrap_err();
        assert!(
            e.is_go_away() && e.reason() == Some(Reason::ENHANCE_YOUR_CALM),
            "{e}"
        );
        assert!(
            matches!(stream_failure(&note, three, &e), SendError::Unprocessed(_)),
            "{e}"
        );
        // The server reads what the client sent, then closes.
        let mut sent = vec![0; 64 * 1024];
        let _ = server_io.read(&mut sent).await.unwrap();
        drop(server_io);
        let e = first.await.unwrap_err();
        assert!(
            matches!(stream_failure(&note, one, &e), SendError::Lost(_)),
            "{e}"
        );
        assert_eq!(note.last_stream_id(), Some(one));
    }
}
