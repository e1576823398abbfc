//! What a stand-in keeps of what it accepted: the pushes, the optional
//! JSON-lines record file, and the counts of the JSON-bodied stand-ins
//! (Huawei, Honor, vivo).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::util::lock;
use crate::error::Error;

/// One accepted push, as the stand-in received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The app id the request named (URL path or body).
    pub app_id: String,
    /// The device tokens the body addressed (Huawei/Honor `token[]`, vivo
    /// `regId`), including any the answer called invalid.
    pub tokens: Vec<String>,
    /// The tokens the answer called invalid (a partial success).
    pub invalid_tokens: Vec<String>,
    /// Honor's `timestamp` header (epoch milliseconds).
    pub timestamp_ms: Option<u64>,
    /// The body, exactly as received.
    pub body: Bytes,
}

impl Accepted {
    /// The body parsed as JSON (every stand-in checks it is JSON).
    pub fn payload(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One revoke a stand-in took (HarmonyOS, Xiaomi): the notification id
/// and the device tokens it named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    pub notify_id: i64,
    pub tokens: Vec<String>,
}

/// The revokes a stand-in took, in arrival order; each is also a
/// `{"revoke": {...}}` line of the record file.
#[derive(Debug, Default)]
pub(crate) struct Revokes(Mutex<Vec<Revoke>>);

impl Revokes {
    pub(crate) fn record<A: Clone>(&self, revoke: Revoke, file: &Accepts<A>) {
        file.note(&serde_json::json!({
            "revoke": { "notify_id": revoke.notify_id, "tokens": revoke.tokens }
        }));
        lock(&self.0).push(revoke);
    }

    pub(crate) fn all(&self) -> Vec<Revoke> {
        lock(&self.0).clone()
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Auth tokens issued.
    pub token_fetches: u64,
    /// Token requests refused (bad credentials, signature or timestamp).
    pub token_refusals: u64,
    /// Token requests received (issued, refused or faulted: see
    /// [`TokenFault`](crate::kit::TokenFault)).
    pub token_requests: u64,
    /// Push requests received (every one, refused or not).
    pub requests: u64,
    /// Push answers by HTTP status.
    pub answers: BTreeMap<u16, u64>,
    /// Push answers by the vendor's result code (`""` when it has none).
    pub codes: BTreeMap<String, u64>,
}

impl Stats {
    /// Push answers carrying this vendor code.
    pub fn answered_code(&self, code: &str) -> u64 {
        self.codes.get(code).copied().unwrap_or(0)
    }
}

/// A stand-in's record file: one JSON line per accepted push, appended.
#[derive(Debug)]
pub(crate) struct RecordFile(Mutex<std::fs::File>);

impl RecordFile {
    /// Opens (creating) `path` for appending; `None` without a path.
    pub(crate) fn open(path: Option<&Path>) -> Result<Option<Self>, Error> {
        let Some(path) = path else { return Ok(None) };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|file| Some(Self(Mutex::new(file))))
            .map_err(|source| Error::RecordFile {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Appends `line` and a newline. A failed write must not fail the push
    /// it records, so it is dropped.
    pub(crate) fn write(&self, line: &serde_json::Value) {
        let mut text = line.to_string();
        text.push('\n');
        let _ = lock(&self.0).write_all(text.as_bytes());
    }
}

/// The pushes a stand-in accepted, in arrival order, each also written to
/// the record file (when there is one) as the line `line` makes of it.
#[derive(Debug)]
pub(crate) struct Accepts<A> {
    list: Mutex<Vec<A>>,
    file: Option<RecordFile>,
}

impl<A> Default for Accepts<A> {
    fn default() -> Self {
        Self {
            list: Mutex::new(Vec::new()),
            file: None,
        }
    }
}

impl<A: Clone> Accepts<A> {
    pub(crate) fn new(record_to: Option<&Path>) -> Result<Self, Error> {
        Ok(Self {
            list: Mutex::new(Vec::new()),
            file: RecordFile::open(record_to)?,
        })
    }

    pub(crate) fn push(&self, push: A, line: impl FnOnce(&A) -> serde_json::Value) {
        if let Some(file) = &self.file {
            file.write(&line(&push));
        }
        lock(&self.list).push(push);
    }

    pub(crate) fn all(&self) -> Vec<A> {
        lock(&self.list).clone()
    }

    /// Appends `line` to the record file (when there is one) without adding
    /// a push: what else a stand-in took (a revoke).
    pub(crate) fn note(&self, line: &serde_json::Value) {
        if let Some(file) = &self.file {
            file.write(line);
        }
    }

    pub(crate) fn count(&self) -> usize {
        lock(&self.list).len()
    }

    /// Takes every push so far, leaving the list empty.
    pub(crate) fn take(&self) -> Vec<A> {
        std::mem::take(&mut *lock(&self.list))
    }
}

/// The accepted pushes, the optional record file and the counts.
#[derive(Debug)]
pub(crate) struct Recorder {
    accepted: Arc<Accepts<Accepted>>,
    answers: Mutex<BTreeMap<u16, u64>>,
    codes: Mutex<BTreeMap<String, u64>>,
    requests: AtomicU64,
    token_refusals: AtomicU64,
}

impl Recorder {
    pub(crate) fn new(accepted: Arc<Accepts<Accepted>>) -> Self {
        Self {
            accepted,
            answers: Mutex::new(BTreeMap::new()),
            codes: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
            token_refusals: AtomicU64::new(0),
        }
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_refused(&self) {
        self.token_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn answer(&self, status: u16, code: &str) {
        *lock(&self.answers).entry(status).or_insert(0) += 1;
        *lock(&self.codes).entry(code.to_owned()).or_insert(0) += 1;
    }

    pub(crate) fn accept(&self, push: Accepted) {
        self.accepted.push(push, |push| {
            let payload = push.payload().unwrap_or_else(|| {
                serde_json::Value::String(String::from_utf8_lossy(&push.body).into_owned())
            });
            serde_json::json!({
                "app_id": push.app_id,
                "tokens": push.tokens,
                "invalid_tokens": push.invalid_tokens,
                "timestamp_ms": push.timestamp_ms,
                "body": String::from_utf8_lossy(&push.body),
                "payload": payload,
            })
        });
    }

    pub(crate) fn stats(&self, token_fetches: u64, token_requests: u64) -> Stats {
        Stats {
            token_fetches,
            token_requests,
            token_refusals: self.token_refusals.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            answers: lock(&self.answers).clone(),
            codes: lock(&self.codes).clone(),
        }
    }
}
