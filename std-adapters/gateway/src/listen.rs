//! The API's listener: TCP (optionally TLS) connections up to
//! `server.max_connections`, each served by hyper (HTTP/1.1, and HTTP/2 by
//! preface or ALPN) under deadlines, so a client that opens connections
//! and sends nothing, or half a request, cannot pin the gateway's sockets.
//!
//! - A connection past the cap is closed at once, before a byte is read
//!   or written (refusing costs nothing; a 503 would mean reading the
//!   request, or a TLS handshake, for a client that is told to go away).
//! - Headers: hyper's HTTP/1 `header_read_timeout`, and this loop's own
//!   deadline for the time before a connection's first request (which
//!   covers the TLS handshake, the HTTP/2 preface and a silent client).
//! - Idle: a connection with no request in flight for `idle_timeout` is
//!   shut down gracefully. On HTTP/1.1 hyper's header clock also starts
//!   when a keep-alive connection begins waiting for its next request, so
//!   an idle HTTP/1.1 connection is closed after the shorter of the two.
//! - The body's deadline is the API's (a 408, see [`crate::limits`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::metrics::Metrics;

/// The listener's limits (`[server]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time for a request's headers, and before a connection's first
    /// request (TLS handshake included).
    pub header_timeout: Duration,
    /// Time a connection may wait with no request in flight.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: u32,
}

/// Serves `app` on `listener` until `stop` turns true, then waits for the
/// open connections (each shut down gracefully) to finish; the caller
/// bounds that wait.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    let server = Arc::new(Server::new(app, tls, limits, metrics));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors (or the like): wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            server.metrics.connections_refused.inc();
            drop(stream);
            continue;
        };
        let slot = Slot::open(permit, Arc::clone(&server.metrics));
        tokio::spawn(Arc::clone(&server).connection(stream, peer, stop.clone(), slot));
    }
    drop(listener);
    // Every permit back: every connection has finished.
    let _ = permits.acquire_many(limits.max_connections).await;
}

/// One open connection: its permit and its place in the gauge.
struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Slot {
    fn open(permit: OwnedSemaphorePermit, metrics: Arc<Metrics>) -> Self {
        metrics.connections_open.inc();
        Self {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connections_open.dec();
    }
}

struct Server {
    builder: auto::Builder<TokioExecutor>,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    metrics: Arc<Metrics>,
}

/// Serves one connection already open (plain, outside the cap) as the
/// listener serves each of its own: what the `api_http` fuzz target drives.
pub async fn serve_stream<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (_stop, stop) = watch::channel(false);
    Server::new(app, None, limits, metrics)
        .drive(io, peer, Instant::now(), stop)
        .await;
}

impl Server {
    fn new(
        app: Router,
        tls: Option<tokio_rustls::TlsAcceptor>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        // Pings find peers that vanished while a stream was open.
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.idle_timeout);
        Self {
            builder,
            app,
            tls,
            limits,
            metrics,
        }
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
        _slot: Slot,
    ) {
        let opened = Instant::now();
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => self.drive(stream, peer, opened, stop).await,
            Some(acceptor) => {
                let handshake = tokio::time::timeout_at(
                    opened + self.limits.header_timeout,
                    acceptor.accept(stream),
                );
                match handshake.await {
                    Ok(Ok(stream)) => self.drive(stream, peer, opened, stop).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => self.metrics.timeout("handshake"),
                }
            }
        }
    }

    /// Serves one connection until it ends, its deadline passes with no
    /// request in flight, or the gateway stops.
    async fn drive<I>(
        &self,
        io: I,
        peer: SocketAddr,
        opened: Instant,
        mut stop: watch::Receiver<bool>,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::default());
        let (app, seen) = (self.app.clone(), Arc::clone(&activity));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let serving = seen.begin();
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(serving);
                response
            }
        });
        let connection = self.builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        // Once closing: when a connection still open is dropped.
        let mut closing: Option<Instant> = None;
        loop {
            let next = closing.unwrap_or_else(|| {
                activity
                    .deadline(opened, &self.limits)
                    .unwrap_or_else(|| Instant::now() + self.limits.idle_timeout)
            });
            tokio::select! {
                done = connection.as_mut() => {
                    if let Err(e) = done {
                        let timed_out = e
                            .downcast_ref::<hyper::Error>()
                            .is_some_and(hyper::Error::is_timeout);
                        if timed_out {
                            self.metrics.timeout("header");
                        }
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    return;
                }
                // A request ended: the deadline moves.
                () = activity.ended.notified() => {}
                () = tokio::time::sleep_until(next) => {
                    if closing.is_some() {
                        return;
                    }
                    let due = activity
                        .deadline(opened, &self.limits)
                        .is_some_and(|at| at <= Instant::now());
                    if due {
                        let phase = if activity.served() { "idle" } else { "header" };
                        self.metrics.timeout(phase);
                        connection.as_mut().graceful_shutdown();
                        closing = Some(Instant::now() + self.limits.header_timeout);
                    }
                }
                _ = stop.changed(), if closing.is_none() => {
                    connection.as_mut().graceful_shutdown();
                    closing = Some(Instant::now() + self.limits.idle_timeout);
                }
            }
        }
    }
}

/// A connection's requests: how many are in flight, and when the last
/// ended.
#[derive(Debug, Default)]
struct Activity {
    state: Mutex<(usize, Option<Instant>)>,
    ended: tokio::sync::Notify,
}

/// A request in flight on its connection, until dropped.
struct Serving(Arc<Activity>);

impl Drop for Serving {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        state.1 = Some(Instant::now());
        drop(state);
        // Kept as a permit when the connection's loop is not waiting.
        self.0.ended.notify_one();
    }
}

impl Activity {
    fn begin(self: &Arc<Self>) -> Serving {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 += 1;
        Serving(Arc::clone(self))
    }

    fn served(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 > 0 || state.1.is_some()
    }

    /// When the connection is to close: `idle` after its last request
    /// ended, `header_timeout` after it opened if it has had none; `None`
    /// while a request is in flight (its body has its own deadline, its
    /// handler none).
    fn deadline(&self, opened: Instant, limits: &Limits) -> Option<Instant> {
        let (in_flight, last) = *self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (in_flight == 0).then(|| match last {
            Some(ended) => ended + limits.idle_timeout,
            None => opened + limits.header_timeout,
        })
    }
}
