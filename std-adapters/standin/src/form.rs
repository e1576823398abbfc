//! What the form-bodied stand-ins (Xiaomi, OPPO, Meizu) share: strict
//! `application/x-www-form-urlencoded` decoding, per-token scripts, the
//! record of accepted pushes and the counters.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::Error;

/// One value decoded: `+` a space, `%XX` a byte; `None` when a `%` is not
/// followed by two hex digits.
pub fn decode(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// Why a form body could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A pair without `=`, a bad `%` escape, or a value that is not UTF-8.
    Malformed,
    /// The same name twice.
    Duplicate,
}

/// A decoded form: names and values in order, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        if body.is_empty() {
            return Ok(Self { fields });
        }
        for pair in body.split(|&b| b == b'&') {
            let eq = pair
                .iter()
                .position(|&b| b == b'=')
                .ok_or(FormError::Malformed)?;
            let text = |raw: &[u8]| {
                decode(raw)
                    .and_then(|v| String::from_utf8(v).ok())
                    .ok_or(FormError::Malformed)
            };
            let name = text(&pair[..eq])?;
            let value = text(&pair[eq + 1..])?;
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(FormError::Duplicate);
            }
            fields.push((name, value));
        }
        Ok(Self { fields })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find_map(|(n, v)| (n == name).then_some(v.as_str()))
    }

    /// The value when present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// One accepted push, as the stand-in received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedPush {
    /// The device token (regId, pushId) it was addressed to.
    pub token: String,
    /// The message id answered.
    pub message_id: String,
    /// The body exactly as received (credentials and signature included).
    pub body: Bytes,
    /// The body's fields, decoded.
    pub form: Form,
}

impl AcceptedPush {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Send requests received (every one, valid or not).
    pub requests: u64,
    /// Auth tokens issued (OPPO; 0 elsewhere).
    pub token_fetches: u64,
    /// Auth requests refused (OPPO).
    pub token_refusals: u64,
    /// Auth requests received (OPPO: issued, refused or faulted, see
    /// [`crate::kit::TokenFault`]).
    pub token_requests: u64,
    /// Answers by the vendor's result code (the HTTP status for an answer
    /// without one).
    pub answers: BTreeMap<i64, u64>,
}

impl Stats {
    pub fn answered(&self, code: i64) -> u64 {
        self.answers.get(&code).copied().unwrap_or(0)
    }
}

/// Replies scripted per device token (the stand-ins' one kind).
pub(crate) use crate::kit::Scripts;

/// A builder's scripts before start: token, reply, `None` always or the
/// next `n` requests.
pub(crate) type PendingScripts<R> = Vec<(String, R, Option<u32>)>;

/// What every form stand-in keeps: the accepted pushes, the counters and
/// the record file.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    accepted: Mutex<Vec<AcceptedPush>>,
    stats: Mutex<Stats>,
    record: Option<Mutex<std::fs::File>>,
    /// Field names whose values never go to the record file.
    hidden: &'static [&'static str],
}

impl Journal {
    pub(crate) fn new(
        record_to: Option<&Path>,
        hidden: &'static [&'static str],
    ) -> Result<Self, Error> {
        let record = match record_to {
            None => None,
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| Error::RecordFile {
                        path: PathBuf::from(path),
                        source,
                    })?,
            )),
        };
        Ok(Self {
            accepted: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            record,
            hidden,
        })
    }

    pub(crate) fn request(&self) {
        lock(&self.stats).requests += 1;
    }

    pub(crate) fn token_fetch(&self, issued: bool) {
        let mut stats = lock(&self.stats);
        if issued {
            stats.token_fetches += 1;
        } else {
            stats.token_refusals += 1;
        }
    }

    pub(crate) fn answer(&self, code: i64) {
        *lock(&self.stats).answers.entry(code).or_insert(0) += 1;
    }

    pub(crate) fn accept(&self, push: AcceptedPush) {
        if let Some(file) = &self.record {
            let fields: serde_json::Map<String, serde_json::Value> = push
                .form
                .fields
                .iter()
                .map(|(n, v)| {
                    let v = if self.hidden.contains(&n.as_str()) {
                        ".."
                    } else {
                        v.as_str()
                    };
                    (n.clone(), serde_json::Value::from(v))
                })
                .collect();
            let mut line = serde_json::json!({
                "token": push.token,
                "message_id": push.message_id,
                "fields": fields,
            })
            .to_string();
            line.push('\n');
            // A failed write to the record file must not fail the push.
            let _ = lock(file).write_all(line.as_bytes());
        }
        lock(&self.accepted).push(push);
    }

    pub(crate) fn accepted(&self) -> Vec<AcceptedPush> {
        lock(&self.accepted).clone()
    }

    pub(crate) fn accepted_count(&self) -> usize {
        lock(&self.accepted).len()
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh id for a message or a credential.
pub(crate) fn fresh_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Milliseconds since the epoch on `clock`.
pub(crate) fn now_ms(clock: &tidings_std::clock::SharedClock) -> u64 {
    clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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

/// Whether a request's content type is a form (vendors.md §10.6).
pub(crate) fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

/// A stand-in's `(token, code)` command-line scripts, read by `from_code`.
pub(crate) fn cli_replies<R>(
    replies: &[(String, String)],
    provider: &str,
    from_code: impl Fn(&str) -> Option<R>,
) -> Result<Vec<(String, R)>, Error> {
    replies
        .iter()
        .map(|(token, code)| {
            from_code(code).map(|r| (token.clone(), r)).ok_or_else(|| {
                Error::Config(format!("--reply {token}={code}: not a {provider} code"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        let f = Form::parse(b"a=1&b=x+y%26z&c=").unwrap();
        assert_eq!(f.get("b"), Some("x y&z"));
        assert_eq!(f.non_empty("c"), None);
        assert_eq!(Form::parse(b"a=1&a=2"), Err(FormError::Duplicate));
        assert_eq!(Form::parse(b"a"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%G1"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%FF"), Err(FormError::Malformed));
    }
}
