//! A tiny HTTP/2 + TLS client for the stand-in's tests: h2 over
//! tokio-rustls trusting the stand-in's CA, plus a frame-level writer for the
//! tests that must control exactly which frames go out.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tidings_standin::{ApnsStandin, ClientIdentity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub const TEAM: &str = "TEAM123456";
pub const KID: &str = "KEY1234567";
pub const BUNDLE: &str = "com.example.app";
pub const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
pub const BODY: &[u8] = br#"{"aps":{"alert":"hi"}}"#;

pub fn client_config(ca_pem: &str, identity: Option<&ClientIdentity>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let (chain, key) = id.rustls_parts();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

pub async fn tls_connect(
    standin: &ApnsStandin,
    identity: Option<&ClientIdentity>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let connector = TlsConnector::from(client_config(standin.ca_pem(), identity));
    let tcp = TcpStream::connect(standin.addr()).await?;
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await
}

/// An h2 client connection; its driver task runs until the connection ends.
pub struct Client {
    pub send: h2::client::SendRequest<Bytes>,
    pub driver: tokio::task::JoinHandle<Result<(), h2::Error>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub apns_id: Option<String>,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

pub async fn connect(standin: &ApnsStandin, identity: Option<&ClientIdentity>) -> Client {
    let tls = tls_connect(standin, identity).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (send, conn) = h2::client::handshake(tls).await.unwrap();
    let driver = tokio::spawn(conn);
    Client { send, driver }
}

/// A push request: `POST https://localhost/3/device/<token>` with the given
/// headers (appended, so repeats are sent as repeats).
pub fn push(token: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    request("POST", &format!("/3/device/{token}"), headers)
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(format!("https://localhost{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap()
}

impl Client {
    pub async fn send(&self, request: http::Request<()>, body: &[u8]) -> Result<Answer, h2::Error> {
        let mut ready = self.send.clone().ready().await?;
        let (response, mut stream) = ready.send_request(request, body.is_empty())?;
        if !body.is_empty() {
            stream.send_data(Bytes::copy_from_slice(body), true)?;
        }
        read_answer(response).await
    }
}

pub async fn read_answer(response: h2::client::ResponseFuture) -> Result<Answer, h2::Error> {
    let response = response.await?;
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Ok(Answer {
        status: parts.status.as_u16(),
        apns_id: header("apns-id"),
        content_type: header("content-type"),
        retry_after: header("retry-after"),
        body: bytes,
    })
}

/// Polls `cond` until it holds (or fails the test after 5 s).
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------
// Frame level (RFC 9113 §4, §6; HPACK literals only, RFC 7541 §6.2.2)
// ---------------------------------------------------------------------------

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const ACK: u8 = 0x1;
pub const REFUSED_STREAM: u32 = 0x7;

pub fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, ty, flags];
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn hpack_int(out: &mut Vec<u8>, first: u8, prefix_bits: u8, mut value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A header block of "literal header field without indexing — new name"
/// representations, no Huffman.
pub fn hpack_literals(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.push(0x00);
        hpack_int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// HEADERS + DATA for one push on `stream`.
pub fn push_frames(stream: u32, token: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let path = format!("/3/device/{token}");
    let mut all: Vec<(&str, &str)> = vec![
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", "localhost"),
        (":path", &path),
    ];
    all.extend_from_slice(headers);
    let mut out = frame(HEADERS, END_HEADERS, stream, &hpack_literals(&all));
    out.extend(frame(DATA, END_STREAM, stream, body));
    out
}

#[derive(Debug)]
pub struct Frame {
    pub ty: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

pub async fn read_frame(io: &mut TlsStream<TcpStream>) -> Option<Frame> {
    let mut head = [0u8; 9];
    io.read_exact(&mut head).await.ok()?;
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        ty: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

pub async fn write(io: &mut TlsStream<TcpStream>, bytes: &[u8]) {
    // The server may already have closed; the tests look at what it did.
    let _ = io.write_all(bytes).await;
    let _ = io.flush().await;
}
