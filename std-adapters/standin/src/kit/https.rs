//! An axum router served over TLS (HTTP/1.1 and HTTP/2, as the providers
//! offer) on a local address: what every request/response provider's
//! stand-in runs on. APNs has its own h2 server (it needs stream-level
//! faults); everything else is a router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::error::Error;
use crate::kit::tls::CertificateAuthority;

/// `https://IP:PORT` for a server bound to `addr`; an unspecified address
/// (`0.0.0.0`, `::`) is named by the loopback address, which the server
/// certificate names (IPv6 in brackets).
pub fn url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, addr.port()))
}

/// A running HTTPS server; stops on [`HttpsServer::shutdown`] or drop.
pub struct HttpsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for HttpsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl HttpsServer {
    /// Binds `listen` and serves `router` with a server certificate from
    /// `ca` (for `localhost`, `127.0.0.1` and `::1`).
    pub async fn start(
        router: axum::Router,
        ca: &CertificateAuthority,
        listen: SocketAddr,
    ) -> Result<Self, Error> {
        let mut tls = (*ca.server_config()?).clone();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let connections_accepted = Arc::new(AtomicU64::new(0));
        let counter = connections_accepted.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        counter.fetch_add(1, Ordering::Relaxed);
                        let (acceptor, router) = (acceptor.clone(), router.clone());
                        connections.spawn(async move {
                            let Ok(tls) = acceptor.accept(tcp).await else { return };
                            let service = hyper::service::service_fn(move |request| {
                                tower::ServiceExt::oneshot(router.clone(), request)
                            });
                            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(tls), service)
                                .await;
                        });
                    }
                }
            }
            connections.shutdown().await;
        });
        Ok(Self {
            addr,
            stop,
            task: Some(task),
            connections: connections_accepted,
        })
    }

    /// TCP connections accepted so far (HTTP/2 clients multiplex many
    /// requests over one).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`. A server listening on every address
    /// (`0.0.0.0`, `::`) is named by the loopback address: the server
    /// certificate names the loopback addresses, not the unspecified ones.
    pub fn url(&self) -> String {
        url_of(self.addr)
    }

    /// Stops accepting, ends every connection, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task.await.map_err(|e| Error::TaskPanicked(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A POST route that hands the state, headers and body to `handle`, for
/// the stand-ins that answer a request without awaiting anything.
pub(crate) fn post<S: Send + Sync + 'static>(
    handle: fn(&S, &http::HeaderMap, &bytes::Bytes) -> axum::response::Response,
) -> axum::routing::MethodRouter<Arc<S>> {
    axum::routing::post(
        move |axum::extract::State(state): axum::extract::State<Arc<S>>,
              headers: http::HeaderMap,
              body: bytes::Bytes| async move { handle(&state, &headers, &body) },
    )
}

/// A JSON answer with `status`, and a `retry-after` header when given.
pub(crate) fn json_answer(
    status: u16,
    retry_after: Option<u32>,
    body: String,
) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_address_is_named_by_the_loopback_one() {
        let url = |a: &str| url_of(a.parse().unwrap());
        assert_eq!(url("0.0.0.0:8443"), "https://127.0.0.1:8443");
        assert_eq!(url("[::]:8443"), "https://[::1]:8443");
        assert_eq!(url("127.0.0.2:1"), "https://127.0.0.2:1");
    }

    #[tokio::test]
    async fn serves_a_router_over_tls_with_http1_and_http2() {
        let ca = CertificateAuthority::generate().unwrap();
        let router = axum::Router::new().route("/ping", axum::routing::post(|| async { "pong" }));
        let server = HttpsServer::start(router, &ca, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let root = reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap();
        for http2 in [false, true] {
            let builder = reqwest::Client::builder()
                .use_rustls_tls()
                .add_root_certificate(root.clone());
            let builder = if http2 {
                builder.http2_prior_knowledge()
            } else {
                builder.http1_only()
            };
            let client = builder.build().unwrap();
            let answer = client
                .post(format!("{}/ping", server.url()))
                .send()
                .await
                .unwrap();
            let version = answer.version();
            assert_eq!(answer.text().await.unwrap(), "pong");
            let expected = if http2 {
                reqwest::Version::HTTP_2
            } else {
                reqwest::Version::HTTP_11
            };
            assert_eq!(version, expected);
        }
        server.shutdown().await.unwrap();
    }
}
