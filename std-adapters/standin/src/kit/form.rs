//! `application/x-www-form-urlencoded` bodies (vendors.md §10.6), read
//! with `form_urlencoded` under the stand-ins' strictness, and what the
//! form-bodied stand-ins (Xiaomi, OPPO, Meizu) record.
//!
//! Two readings, both refusing a `%` not followed by two hex digits and a
//! value that is not UTF-8 once decoded (`form_urlencoded` alone would
//! pass both through, lossily):
//! * [`Form::parse`], the form vendors' send and auth bodies: every pair
//!   has an `=`, no pair is empty, each name appears once.
//! * [`pairs`], the OAuth token endpoints (Huawei, Honor, FCM): empty pairs
//!   are skipped and a name without `=` has an empty value, as
//!   `form_urlencoded` reads them; the caller decides about repeated names.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::https::json_answer;
use super::record::Accepts;
use super::util::lock;

/// Why a form body could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A pair without `=`, a bad `%` escape, or a value that is not UTF-8.
    Malformed,
    /// The same name twice.
    Duplicate,
}

/// Whether every `%` starts a two-hex-digit escape and the decoded bytes
/// are UTF-8 (`&`, `=` and `+` are ASCII, so checking the whole body checks
/// every name and value).
fn well_formed(body: &[u8]) -> bool {
    let escapes_ok = body.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || body
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    escapes_ok && percent_encoding::percent_decode(body).decode_utf8().is_ok()
}

/// The body's pairs in order, as `form_urlencoded` reads them (empty pairs
/// skipped, a name without `=` has an empty value).
pub fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    if !well_formed(body) {
        return Err(FormError::Malformed);
    }
    Ok(form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect())
}

/// A decoded form: names and values in order, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The strict reading (see the module doc).
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        if !body.is_empty() && body.split(|&b| b == b'&').any(|p| !p.contains(&b'=')) {
            return Err(FormError::Malformed);
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs(body)? {
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

/// A form vendor's code table: each documented reply, its result code and
/// its text (message or reason).
pub(crate) struct Codes<R: 'static>(pub(crate) &'static [(R, i64, &'static str)]);

impl<R: PartialEq + Clone> Codes<R> {
    pub(crate) fn code(&self, reply: &R) -> Option<i64> {
        self.0.iter().find(|(r, ..)| r == reply).map(|(_, c, _)| *c)
    }

    /// The reply's text; `""` when the table has none.
    pub(crate) fn text(&self, reply: &R) -> &'static str {
        self.0
            .iter()
            .find(|(r, ..)| r == reply)
            .map_or("", |(.., t)| t)
    }

    /// A reply as `tidings standin <vendor> --reply TOKEN=CODE` names it:
    /// `http-NNN` an HTTP 4xx/5xx without a body (`http`), else the first
    /// row with that code.
    pub(crate) fn parse(&self, code: &str, http: fn(u16) -> R) -> Option<R> {
        if let Some(status) = code.strip_prefix("http-") {
            return status
                .parse()
                .ok()
                .filter(|s| (400..600).contains(s))
                .map(http);
        }
        let n: i64 = code.parse().ok()?;
        self.0
            .iter()
            .find(|(_, c, _)| *c == n)
            .map(|(r, ..)| r.clone())
    }
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

/// What every form stand-in keeps: the accepted pushes, the counters and
/// the record file.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    accepted: Arc<Accepts<AcceptedPush>>,
    stats: Mutex<Stats>,
    /// Field names whose values never go to the record file.
    hidden: &'static [&'static str],
}

impl Journal {
    pub(crate) fn new(
        accepted: Arc<Accepts<AcceptedPush>>,
        hidden: &'static [&'static str],
    ) -> Self {
        Self {
            accepted,
            stats: Mutex::new(Stats::default()),
            hidden,
        }
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

    /// Counts and answers a refusal: `http` an HTTP error without a body
    /// (counted by its status, `Retry-After` when given), else the vendor's
    /// `code` (−1 when it has none) in the error body `body` writes, with
    /// HTTP 200 as these vendors answer.
    pub(crate) fn refuse(
        &self,
        http: Option<(u16, Option<u32>)>,
        code: Option<i64>,
        body: impl FnOnce(i64) -> String,
    ) -> axum::response::Response {
        if let Some((status, retry_after)) = http {
            self.answer(i64::from(status));
            return json_answer(status, retry_after, String::new());
        }
        let code = code.unwrap_or(-1);
        self.answer(code);
        json_answer(200, None, body(code))
    }

    pub(crate) fn accept(&self, push: AcceptedPush) {
        let hidden = self.hidden;
        self.accepted.push(push, |push| {
            let fields: serde_json::Map<String, serde_json::Value> = push
                .form
                .fields
                .iter()
                .map(|(n, v)| {
                    let v = if hidden.contains(&n.as_str()) {
                        ".."
                    } else {
                        v.as_str()
                    };
                    (n.clone(), serde_json::Value::from(v))
                })
                .collect();
            serde_json::json!({
                "token": push.token,
                "message_id": push.message_id,
                "fields": fields,
            })
        });
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// The accepted pushes and the record file.
    pub(crate) fn accepted(&self) -> &Accepts<AcceptedPush> {
        &self.accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        let f = Form::parse(b"a=1&b=x+y%26z&c=").unwrap();
        assert_eq!(f.get("b"), Some("x y&z"));
        assert_eq!(f.non_empty("c"), None);
        assert_eq!(Form::parse(b"").unwrap().fields, []);
        assert_eq!(Form::parse(b"a=1&a=2"), Err(FormError::Duplicate));
        assert_eq!(Form::parse(b"a"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=1&&b=2"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%G1"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%4"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%FF"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%C3%A9").unwrap().get("a"), Some("\u{e9}"));
    }

    #[test]
    fn pairs_read_as_form_urlencoded_but_refuse_bad_escapes() {
        assert_eq!(
            pairs(b"a=b+c&&d=%C3%A9%2B&e").unwrap(),
            [
                ("a".to_owned(), "b c".to_owned()),
                ("d".to_owned(), "\u{e9}+".to_owned()),
                ("e".to_owned(), String::new()),
            ]
        );
        assert_eq!(pairs(b"a=%zz"), Err(FormError::Malformed));
        assert_eq!(pairs(b"a=%"), Err(FormError::Malformed));
        assert_eq!(pairs(b"a=%C3"), Err(FormError::Malformed));
    }
}
