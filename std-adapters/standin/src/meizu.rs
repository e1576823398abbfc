//! The Meizu Push stand-in (`spec/vendors.md` §8): `POST
//! /garcia/api/server/push/varnished/pushByPushId` over TLS on loopback.
//! Every answer is HTTP 200 with `{"code": "<string>", "message", "value",
//! "redirect", "msgId"}` (§8.3: `code` is a string).
//!
//! # Validation order (first failure answers)
//!
//! 1. The body is a form (content type, valid escapes, UTF-8, no name
//!    twice) — else 1005 (parameter error).
//! 2. `appId`, `pushIds`, `messageJson` and `sign` are present and not
//!    empty — else 110004 (empty parameter).
//! 3. `appId` is the registered one — else 110000.
//! 4. `sign` is the MD5 of every other parameter sorted by name,
//!    `name=value` over the **URL-decoded** values with no separator, then
//!    the app secret (§8.1) — else 1006.
//! 5. At most [`MAX_PUSH_IDS`] pushIds, none empty — else 1005.
//! 6. `messageJson` is a JSON object with `noticeBarInfo.title` (1–32) and
//!    `noticeBarInfo.content` (1–100) counted in UTF-16 units,
//!    `vipInfo.subtitle` ≤ 16, `pushTimeInfo.validTime` 1–72,
//!    `noticeMsgType` 0/1 — else 1005.
//!
//! Then each pushId's script: a top-level reply ([`Reply::is_device`]
//! false) answers the whole request; a per-device one lists the pushId in
//! `value` under its code. The other pushIds are recorded as delivered.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use md5::{Digest, Md5};

use crate::error::Error;
use crate::kit::form::{is_form, AcceptedPush, Codes, Form, Journal, Stats};
use crate::kit::shell::{Base, Builder, Standin, Vendor};
use crate::kit::{fresh_id, json_answer, post, Scripts};

pub const PUSH_PATH: &str = "/garcia/api/server/push/varnished/pushByPushId";
/// pushIds per request (vendors.md §8.1).
pub const MAX_PUSH_IDS: usize = 100;
/// Limits in UTF-16 units (vendors.md §8.2, §8.4).
pub const TITLE_LIMIT: usize = 32;
pub const CONTENT_LIMIT: usize = 100;
pub const SUBTITLE_LIMIT: usize = 16;
/// `validTime` hours (vendors.md §8.2).
pub const VALID_HOURS: std::ops::RangeInclusive<u64> = 1..=72;

/// Meizu's documented answers (§8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    // Per device (listed in `value`).
    /// 110002: pushId not subscribed.
    NotSubscribed,
    /// 110003: illegal pushId.
    IllegalPushId,
    /// 110010 in `value`: notifications switched off on the device.
    SwitchedOff,
    /// 110011: the device's daily public-message limit.
    DeviceDailyLimit,
    /// 513: push failed.
    PushFailed,
    /// 520: folded.
    Folded,
    // Top level.
    /// 1001: system error.
    SystemError,
    /// 1003: server busy.
    ServerBusy,
    /// 110010 at the top: push rate too high.
    RateTooHigh,
    /// 110019: daily push count limit.
    DailyLimit,
    /// 1006: signature check failed.
    SignFailed,
    /// 1005: parameter error.
    ParameterError,
    /// An HTTP error without a body, with an optional `Retry-After`.
    Http {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Any other top-level code.
    Other { code: i64, message: String },
}

/// Meizu's code table (§8.3): each documented reply, its code and its
/// top-level message (per-device codes have none). 110010 is both; a
/// `--reply 110010` means the per-device one, listed first.
const CODES: Codes<Reply> = Codes(&[
    (Reply::NotSubscribed, 110002, ""),
    (Reply::IllegalPushId, 110003, ""),
    (Reply::SwitchedOff, 110010, ""),
    (Reply::DeviceDailyLimit, 110011, ""),
    (Reply::PushFailed, 513, ""),
    (Reply::Folded, 520, ""),
    (Reply::SystemError, 1001, "系统错误"),
    (Reply::ServerBusy, 1003, "服务器忙"),
    (Reply::RateTooHigh, 110010, "推送频率过高"),
    (Reply::DailyLimit, 110019, "超过当日推送次数"),
    (Reply::SignFailed, 1006, "签名认证失败"),
    (Reply::ParameterError, 1005, "参数错误"),
]);

impl Reply {
    /// The result code (`None` for [`Reply::Http`]).
    pub fn code(&self) -> Option<i64> {
        match self {
            Reply::Other { code, .. } => Some(*code),
            r => CODES.code(r),
        }
    }

    /// Whether the code goes in `value` for the pushId (not the top).
    pub fn is_device(&self) -> bool {
        matches!(
            self,
            Reply::NotSubscribed
                | Reply::IllegalPushId
                | Reply::SwitchedOff
                | Reply::DeviceDailyLimit
                | Reply::PushFailed
                | Reply::Folded
        )
    }

    /// `(status, Retry-After)` of an HTTP error without a result body.
    fn http(&self) -> Option<(u16, Option<u32>)> {
        let Reply::Http {
            status,
            retry_after,
        } = self
        else {
            return None;
        };
        Some((*status, *retry_after))
    }

    fn message(&self) -> &str {
        match self {
            Reply::Other { message, .. } => message,
            r => CODES.text(r),
        }
    }

    /// For `tidings standin meizu --reply TOKEN=CODE`: a documented code
    /// (`110010` is the per-device one here; `rate-110010` the top one)
    /// or `http-503`.
    pub fn from_code(code: &str) -> Option<Reply> {
        if code == "rate-110010" {
            return Some(Reply::RateTooHigh);
        }
        CODES.parse(code, |status| Reply::Http {
            status,
            retry_after: None,
        })
    }
}

fn other(code: i64, message: &str) -> Reply {
    Reply::Other {
        code,
        message: message.to_owned(),
    }
}

/// Meizu's signature over decoded parameters (vendors.md §8.1).
pub fn sign(form: &Form, app_secret: &str) -> String {
    let mut fields: Vec<&(String, String)> =
        form.fields.iter().filter(|(n, _)| n != "sign").collect();
    fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut md5 = Md5::new();
    for (name, value) in fields {
        md5.update(name.as_bytes());
        md5.update(b"=");
        md5.update(value.as_bytes());
    }
    md5.update(app_secret.as_bytes());
    hex::encode(md5.finalize())
}

/// The running Meizu stand-in's state.
pub struct Shared {
    app_id: String,
    app_secret: String,
    scripts: Arc<Scripts<Reply>>,
    journal: Journal,
}

fn answer_body(code: i64, message: &str, value: serde_json::Value, msg_id: &str) -> String {
    serde_json::json!({
        "code": code.to_string(),
        "message": message,
        "value": value,
        "redirect": "",
        "msgId": msg_id,
    })
    .to_string()
}

impl Shared {
    fn refuse(&self, reply: &Reply) -> Response {
        self.journal.refuse(reply.http(), reply.code(), |code| {
            answer_body(code, reply.message(), serde_json::json!({}), "")
        })
    }

    fn handle(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        self.journal.request();
        let form = match Form::parse(body) {
            Ok(form) if is_form(headers) => form,
            _ => return self.refuse(&Reply::ParameterError),
        };
        let push_ids = match self.check(&form) {
            Ok(ids) => ids,
            Err(reply) => return self.refuse(&reply),
        };
        let mut value: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut delivered = Vec::new();
        for id in push_ids {
            match self.scripts.take(&id) {
                Some(reply) if reply.is_device() => {
                    let code = reply.code().unwrap_or(-1).to_string();
                    value.entry(code).or_default().push(id);
                }
                Some(reply) => return self.refuse(&reply),
                None => delivered.push(id),
            }
        }
        let msg_id = fresh_id();
        for id in delivered {
            self.journal.accept(AcceptedPush {
                token: id,
                message_id: msg_id.clone(),
                body: body.clone(),
                form: form.clone(),
            });
        }
        self.journal.answer(200);
        let value = serde_json::to_value(value).unwrap_or_default();
        json_answer(200, None, answer_body(200, "", value, &msg_id))
    }

    fn check(&self, form: &Form) -> Result<Vec<String>, Reply> {
        for name in ["appId", "pushIds", "messageJson", "sign"] {
            if form.non_empty(name).is_none() {
                return Err(other(110004, &format!("{name} 参数为空")));
            }
        }
        if form.get("appId") != Some(self.app_id.as_str()) {
            return Err(other(110000, "appId不合法"));
        }
        if form.get("sign") != Some(sign(form, &self.app_secret).as_str()) {
            return Err(Reply::SignFailed);
        }
        let ids: Vec<String> = form
            .get("pushIds")
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect();
        if ids.len() > MAX_PUSH_IDS || ids.iter().any(String::is_empty) {
            return Err(Reply::ParameterError);
        }
        check_message_json(form.get("messageJson").unwrap_or_default())?;
        Ok(ids)
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn check_message_json(text: &str) -> Result<(), Reply> {
    let bad = || Reply::ParameterError;
    let json: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let bar = json.get("noticeBarInfo").ok_or_else(bad)?;
    let within = |v: Option<&serde_json::Value>, min: usize, max: usize| {
        v.and_then(serde_json::Value::as_str)
            .is_some_and(|s| (min..=max).contains(&utf16_len(s)))
    };
    if !within(bar.get("title"), 1, TITLE_LIMIT) || !within(bar.get("content"), 1, CONTENT_LIMIT) {
        return Err(bad());
    }
    if bar
        .get("noticeMsgType")
        .is_some_and(|t| !matches!(t.as_u64(), Some(0 | 1)))
    {
        return Err(bad());
    }
    if let Some(sub) = json.get("vipInfo").and_then(|v| v.get("subtitle")) {
        if !within(Some(sub), 0, SUBTITLE_LIMIT) {
            return Err(bad());
        }
    }
    if let Some(hours) = json.get("pushTimeInfo").and_then(|p| p.get("validTime")) {
        if !hours.as_u64().is_some_and(|h| VALID_HOURS.contains(&h)) {
            return Err(bad());
        }
    }
    Ok(())
}

/// A running Meizu stand-in.
pub type MeizuStandin = Standin<Meizu>;
/// Configures a Meizu stand-in; [`Builder::start`] runs it.
pub type MeizuStandinBuilder = Builder<Meizu>;

/// The Meizu stand-in's settings: the app id and secret (default: a fresh
/// numeric id and secret). Nothing of Meizu's expires, so the builder's
/// clock goes unused.
#[derive(Debug)]
pub struct Meizu {
    app_id: String,
    app_secret: String,
}

impl Builder<Meizu> {
    /// The app id and secret (default: a fresh numeric id and secret).
    pub fn credentials(mut self, app_id: &str, app_secret: &str) -> Self {
        self.vendor.app_id = app_id.to_owned();
        self.vendor.app_secret = app_secret.to_owned();
        self
    }
}

impl Standin<Meizu> {
    pub fn app_id(&self) -> &str {
        &self.state().app_id
    }

    pub fn app_secret(&self) -> &str {
        &self.state().app_secret
    }
}

impl Vendor for Meizu {
    type Reply = Reply;
    type State = Shared;
    type Accepted = AcceptedPush;
    type Stats = Stats;
    const NAME: &'static str = "Meizu";

    fn defaults() -> Self {
        let n = uuid::Uuid::new_v4().as_u128() % 900_000 + 100_000;
        Self {
            app_id: n.to_string(),
            app_secret: fresh_id(),
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        let shared = Arc::new(Shared {
            app_id: self.app_id,
            app_secret: self.app_secret,
            journal: Journal::new(base.accepted, &["sign"]),
            scripts: base.scripts,
        });
        let router = axum::Router::new()
            .route(PUSH_PATH, post(Shared::handle))
            .with_state(shared.clone());
        Ok((shared, router))
    }

    fn stats(state: &Shared, _connections: u64) -> Stats {
        state.journal.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_decoded_values_sorted_by_name() {
        let form =
            Form::parse(b"pushIds=a&messageJson=%7B%22x%22%3A%22y+z%22%7D&appId=1&sign=q").unwrap();
        let expected = hex::encode(Md5::digest(
            br#"appId=1messageJson={"x":"y z"}pushIds=asecret"#,
        ));
        assert_eq!(sign(&form, "secret"), expected);
    }

    #[test]
    fn checks_app_id_sign_and_push_id_count() {
        let shared = Shared {
            app_id: "1".into(),
            app_secret: "secret".into(),
            scripts: Arc::default(),
            journal: Journal::default(),
        };
        let json = r#"{"noticeBarInfo":{"title":"T","content":"C"}}"#;
        let signed = |ids: &str, app_id: &str| {
            let mut form = Form {
                fields: vec![
                    ("appId".into(), app_id.into()),
                    ("pushIds".into(), ids.into()),
                    ("messageJson".into(), json.into()),
                ],
            };
            let s = sign(&form, "secret");
            form.fields.push(("sign".into(), s));
            form
        };
        assert_eq!(
            shared.check(&signed("a,b", "1")),
            Ok(vec!["a".into(), "b".into()])
        );
        let many: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
        assert_eq!(
            shared.check(&signed(&many.join(","), "1")),
            Err(Reply::ParameterError)
        );
        assert_eq!(
            shared.check(&signed("a", "2")).unwrap_err().code(),
            Some(110000)
        );
        let mut tampered = signed("a", "1");
        tampered.fields[1].1 = "b".into();
        assert_eq!(shared.check(&tampered), Err(Reply::SignFailed));
        tampered.fields.retain(|(n, _)| n != "sign");
        assert_eq!(shared.check(&tampered).unwrap_err().code(), Some(110004));
    }

    #[test]
    fn checks_message_json() {
        let ok = r#"{"noticeBarInfo":{"title":"T","content":"C"},"pushTimeInfo":{"offLine":1,"validTime":24}}"#;
        assert_eq!(check_message_json(ok), Ok(()));
        for bad in [
            r#"{"noticeBarInfo":{"title":"","content":"C"}}"#,
            r#"{"noticeBarInfo":{"title":"T"}}"#,
            r#"{"noticeBarInfo":{"title":"T","content":"C"},"pushTimeInfo":{"validTime":73}}"#,
            r#"{"noticeBarInfo":{"title":"T","content":"C","noticeMsgType":2}}"#,
            "not json",
        ] {
            assert_eq!(check_message_json(bad), Err(Reply::ParameterError), "{bad}");
        }
        let long = "x".repeat(33);
        assert!(check_message_json(&format!(
            r#"{{"noticeBarInfo":{{"title":"{long}","content":"C"}}}}"#
        ))
        .is_err());
    }
}
