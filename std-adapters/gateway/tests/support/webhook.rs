//! A feedback webhook on loopback that refuses its first POST and keeps
//! the records of the others, for the gateway's webhook tests.

#![allow(dead_code)] // each test binary uses its part

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A POST's `Tidings-Signature` header, if it had one, and its body.
pub type SignedPost = (Option<String>, Vec<u8>);

pub struct Webhook {
    pub url: String,
    /// Records of every POST it took, in arrival order.
    pub received: Arc<Mutex<Vec<Value>>>,
    /// Every POST's `Tidings-Signature` header (if any) and body bytes.
    pub signed: Arc<Mutex<Vec<SignedPost>>>,
    /// POSTs, refused or not.
    pub calls: Arc<AtomicUsize>,
}

impl Webhook {
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let signed: Arc<Mutex<Vec<SignedPost>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (r, c, g) = (
            Arc::clone(&received),
            Arc::clone(&calls),
            Arc::clone(&signed),
        );
        let hook = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (r, c, g) = (Arc::clone(&r), Arc::clone(&c), Arc::clone(&g));
                    async move {
                        let signature = headers
                            .get("tidings-signature")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        g.lock().unwrap().push((signature, body.to_vec()));
                        if c.fetch_add(1, Ordering::SeqCst) == 0 {
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let batch: Vec<Value> = serde_json::from_slice(&body).unwrap();
                        r.lock().unwrap().extend(batch);
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, hook).await });
        Self {
            url,
            received,
            signed,
            calls,
        }
    }

    /// The records taken once there are `n` (waiting up to 10 s).
    pub async fn records(&self, n: usize) -> Vec<Value> {
        for _ in 0..1000 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.received.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}
