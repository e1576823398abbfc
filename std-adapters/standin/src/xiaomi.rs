//! The Xiaomi Mi Push stand-in (`spec/vendors.md` §5): `POST
//! /v3/message/regid` (and `/v2/…`) over TLS on loopback.
//!
//! # Validation order (first failure answers)
//!
//! Xiaomi answers HTTP 200 with a result JSON for every refusal it
//! documents; the stand-in does the same: `{"result":"error","code":N,
//! "description":..,"reason":..,"trace_id":..}`.
//!
//! 1. `Authorization` is exactly `key=<AppSecret>` (`key` lowercase, §5.1)
//!    — else 21301 (authentication failed).
//! 2. The body is a form (`Content-Type`, every pair `name=value`, valid
//!    escapes, UTF-8, no name twice) — else 10017 (illegal value).
//! 3. `registration_id` and `restricted_package_name` are present — else
//!    10016 (missing); a registered package list must hold every package
//!    named — else 22022.
//! 4. `pass_through` is 0 or 1; `notify_type`, `time_to_live`, `notify_id`
//!    are integers (`notify_id` 0…2147483647) — else 10017.
//! 5. A notification (`pass_through=0`) has a `title` (< 50 chars) and a
//!    `description` (< 128 chars), neither blank — missing 10016, blank or
//!    too long 10017 (§5.4: the exact code is unconfirmed).
//! 6. `payload` is under 4 KB decoded — else 65009.
//! 7. Custom `extra.*` keys (not Xiaomi's own): at most 10 (65014), key and
//!    value at most 1024 chars each (65015).
//!
//! A valid request is matched against the scripts by regId (the first one
//! with a script, for a `,`-joined list); else it is recorded and answered
//! `code` 0 with `data.id`. [`Reply::BadRegId`] answers success with the
//! regId in `data.bad_regids`, as Xiaomi reports invalid targets in a
//! batch; with several regIds, the others are recorded as delivered.
//!
//! # Revoke (`POST /v3/message/regid/revoke`, beyond.md §13.2)
//!
//! The same `Authorization` and form checks (1–2), then `notify_id` an
//! integer 1…2147483647 (missing 10016, else 10017) and the regIds in
//! `registration_id` (or `registration_ids`, the V1 SDK's name: the V3
//! fields are unconfirmed) — missing 10016; a `restricted_package_name`
//! must be registered (22022). The regIds' scripts answer as for a send
//! (a dead regId in `data.bad_regids`); the revoke of the others is
//! recorded ([`XiaomiStandin::revokes`]) and answered `code` 0.

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;

use crate::error::Error;
use crate::kit::form::{is_form, AcceptedPush, Codes, Form, Journal, Stats};
use crate::kit::record::Revokes;
use crate::kit::shell::{Base, Builder, Standin, Vendor};
use crate::kit::{fresh_id, json_answer, post, Revoke, Scripts};

/// Send paths (vendors.md §5.1).
pub const SEND_PATHS: [&str; 2] = ["/v3/message/regid", "/v2/message/regid"];
/// The revoke path (beyond.md §13.2).
pub const REVOKE_PATH: &str = "/v3/message/regid/revoke";
/// `title` must be shorter than this many chars (vendors.md §5.2).
pub const TITLE_LIMIT: usize = 50;
/// `description` must be shorter than this many chars (vendors.md §5.2).
pub const DESCRIPTION_LIMIT: usize = 128;
/// `payload` must be shorter than this many bytes (vendors.md §5.4).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Custom `extra.*` pairs and their key/value length (vendors.md §5.2).
pub const MAX_CUSTOM_EXTRAS: usize = 10;
pub const MAX_EXTRA_CHARS: usize = 1024;
/// Xiaomi's own `extra.` keys (vendors.md §5.2); any other is custom.
pub const KNOWN_EXTRAS: &[&str] = &[
    "channel_id",
    "channel_name",
    "channel_description",
    "sound_uri",
    "ticker",
    "notify_foreground",
    "notify_effect",
    "intent_uri",
    "web_uri",
    "flow_control",
    "jobkey",
    "callback",
    "callback.param",
    "callback.type",
    "only_send_once",
    "locale",
    "locale_not_in",
    "model",
    "model_not_in",
    "app_version",
    "app_version_not_in",
    "connpt",
];

/// What the stand-in answers: Xiaomi's documented results (§5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `code` 0, `data.bad_regids` naming the regId (an invalid target).
    BadRegId,
    /// 20301 "No valid targets!".
    NoValidTargets,
    /// 10002 system busy.
    SystemBusy,
    /// 1 internal error.
    InternalError,
    /// 10027 call rate too high.
    RateTooHigh,
    /// 10034 daily message quota exceeded.
    DailyQuota,
    /// 21301 authentication failed.
    AuthFailed,
    /// 22022 illegal package name.
    IllegalPackage,
    /// 65003 device not found.
    DeviceNotFound,
    /// 65009 message content too long.
    TooLong,
    /// 10017 illegal parameter value.
    IllegalValue,
    /// An HTTP error without a result JSON (a gateway's 503), with an
    /// optional `Retry-After` in seconds.
    Http {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Any other code, for testing unknown codes.
    Other { code: i64, reason: String },
}

/// Xiaomi's code table (§5.3): each documented error, its code and
/// reason. [`Reply::BadRegId`] is a success (`code` 0), named
/// `bad_regids` on the command line.
const CODES: Codes<Reply> = Codes(&[
    (Reply::NoValidTargets, 20301, "No valid targets!"),
    (Reply::SystemBusy, 10002, "System busy"),
    (Reply::InternalError, 1, "Internal error"),
    (Reply::RateTooHigh, 10027, "Call rate too high"),
    (Reply::DailyQuota, 10034, "Daily message quota exceeded"),
    (Reply::AuthFailed, 21301, "Authentication failed"),
    (Reply::IllegalPackage, 22022, "Illegal package name"),
    (Reply::DeviceNotFound, 65003, "Device not found"),
    (Reply::TooLong, 65009, "Message content too long"),
    (Reply::IllegalValue, 10017, "Illegal parameter value"),
]);

impl Reply {
    /// The result code (`None` for [`Reply::Http`]).
    pub fn code(&self) -> Option<i64> {
        match self {
            Reply::BadRegId => Some(0),
            Reply::Other { code, .. } => Some(*code),
            r => CODES.code(r),
        }
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

    fn reason(&self) -> &str {
        match self {
            Reply::Other { reason, .. } => reason,
            r => CODES.text(r),
        }
    }

    /// The reply for a code as `tidings standin xiaomi --reply TOKEN=CODE`
    /// takes it: a documented result code, `bad_regids`, or `http-503`.
    pub fn from_code(code: &str) -> Option<Reply> {
        if code == "bad_regids" {
            return Some(Reply::BadRegId);
        }
        CODES.parse(code, |status| Reply::Http {
            status,
            retry_after: None,
        })
    }
}

fn error_body(code: i64, reason: &str) -> String {
    serde_json::json!({
        "result": "error",
        "trace_id": fresh_id(),
        "code": code,
        "description": reason,
        "reason": reason,
    })
    .to_string()
}

/// The running Xiaomi stand-in's state.
pub struct Shared {
    app_secret: String,
    packages: Vec<String>,
    scripts: Arc<Scripts<Reply>>,
    journal: Journal,
    revokes: Revokes,
}

impl Shared {
    fn answer(&self, code: i64, body: String) -> Response {
        self.journal.answer(code);
        json_answer(200, None, body)
    }

    fn refuse(&self, reply: &Reply) -> Response {
        self.journal.refuse(reply.http(), reply.code(), |code| {
            error_body(code, reply.reason())
        })
    }

    /// Checks 1–2: the AppSecret and a form body.
    fn form(&self, headers: &HeaderMap, body: &Bytes) -> Result<Form, Reply> {
        self.journal.request();
        let expected = format!("key={}", self.app_secret);
        let authorized = headers
            .get(http::header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
        if !authorized {
            return Err(Reply::AuthFailed);
        }
        match Form::parse(body) {
            Ok(form) if is_form(headers) => Ok(form),
            _ => Err(Reply::IllegalValue),
        }
    }

    /// The scripts of `reg_ids`: the dead ones, or the first other reply.
    fn scripted<'r>(&self, reg_ids: &[&'r str]) -> Result<Vec<&'r str>, Reply> {
        let mut bad = Vec::new();
        for reg_id in reg_ids {
            match self.scripts.take(reg_id) {
                None => {}
                Some(Reply::BadRegId) => bad.push(*reg_id),
                Some(reply) => return Err(reply),
            }
        }
        Ok(bad)
    }

    /// Xiaomi's success JSON with `data`.
    fn success(&self, data: serde_json::Value, info: String) -> Response {
        let answer = serde_json::json!({
            "result": "ok",
            "trace_id": fresh_id(),
            "code": 0,
            "data": data,
            "description": "成功",
            "info": info,
        });
        self.answer(0, answer.to_string())
    }

    fn handle(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        let form = match self.form(headers, body).and_then(|form| {
            self.check(&form)?;
            Ok(form)
        }) {
            Ok(form) => form,
            Err(reply) => return self.refuse(&reply),
        };
        let reg_ids: Vec<&str> = form
            .get("registration_id")
            .unwrap_or_default()
            .split(',')
            .collect();
        let bad = match self.scripted(&reg_ids) {
            Ok(bad) => bad,
            Err(reply) => return self.refuse(&reply),
        };
        let id = format!("scm{}", fresh_id());
        for reg_id in reg_ids.iter().filter(|r| !bad.contains(r)) {
            self.journal.accept(AcceptedPush {
                token: (*reg_id).to_owned(),
                message_id: id.clone(),
                body: body.clone(),
                form: form.clone(),
            });
        }
        let mut data = serde_json::json!({ "id": id });
        if !bad.is_empty() {
            data["bad_regids"] = bad.join(",").into();
        }
        let info = format!("Received push messages for {} REGID", reg_ids.len());
        self.success(data, info)
    }

    fn handle_revoke(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        let checked = self.form(headers, body).and_then(|form| {
            let revoke = self.check_revoke(&form)?;
            let reg_ids: Vec<&str> = revoke.tokens.iter().map(String::as_str).collect();
            let bad: Vec<String> = self
                .scripted(&reg_ids)?
                .into_iter()
                .map(str::to_owned)
                .collect();
            Ok((revoke, bad))
        });
        let (mut revoke, bad) = match checked {
            Err(reply) => return self.refuse(&reply),
            Ok(checked) => checked,
        };
        let info = format!("Revoked for {} REGID", revoke.tokens.len());
        let mut data = serde_json::json!({ "id": format!("scm{}", fresh_id()) });
        if !bad.is_empty() {
            data["bad_regids"] = bad.join(",").into();
        }
        revoke.tokens.retain(|t| !bad.contains(t));
        if !revoke.tokens.is_empty() {
            self.revokes.record(revoke, self.journal.accepted());
        }
        self.success(data, info)
    }

    /// The revoke's fields (see the module doc).
    fn check_revoke(&self, form: &Form) -> Result<Revoke, Reply> {
        let missing = |name: &str| Reply::Other {
            code: 10016,
            reason: format!("{name} is missing"),
        };
        let notify_id = form
            .non_empty("notify_id")
            .ok_or_else(|| missing("notify_id"))?
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=2_147_483_647).contains(n))
            .ok_or(Reply::IllegalValue)?;
        let reg_ids = form
            .non_empty("registration_id")
            .or_else(|| form.non_empty("registration_ids"))
            .ok_or_else(|| missing("registration_id"))?;
        if reg_ids.split(',').any(str::is_empty) {
            return Err(Reply::IllegalValue);
        }
        if let Some(packages) = form.non_empty("restricted_package_name") {
            self.check_packages(packages)?;
        }
        Ok(Revoke {
            notify_id,
            tokens: reg_ids.split(',').map(str::to_owned).collect(),
        })
    }

    /// Every package named must be registered (with none, any) — else 22022.
    fn check_packages(&self, packages: &str) -> Result<(), Reply> {
        if !self.packages.is_empty()
            && !packages
                .split(',')
                .all(|p| self.packages.iter().any(|k| k == p))
        {
            return Err(Reply::IllegalPackage);
        }
        Ok(())
    }

    fn check(&self, form: &Form) -> Result<(), Reply> {
        let reg_ids = form.non_empty("registration_id").ok_or(Reply::Other {
            code: 10016,
            reason: "registration_id is missing".into(),
        })?;
        if reg_ids.split(',').any(str::is_empty) {
            return Err(Reply::IllegalValue);
        }
        let packages = form
            .non_empty("restricted_package_name")
            .ok_or(Reply::Other {
                code: 10016,
                reason: "restricted_package_name is missing".into(),
            })?;
        self.check_packages(packages)?;
        let int = |name: &str| form.get(name).is_none_or(|v| v.parse::<i64>().is_ok());
        if !int("notify_type") || !int("time_to_live") || !int("time_to_send") {
            return Err(Reply::IllegalValue);
        }
        if form
            .get("notify_id")
            .is_some_and(|v| !v.parse::<u32>().is_ok_and(|n| n <= 2_147_483_647))
        {
            return Err(Reply::IllegalValue);
        }
        let pass_through = form.get("pass_through").unwrap_or("0");
        match pass_through {
            "0" => {
                for (name, limit) in [("title", TITLE_LIMIT), ("description", DESCRIPTION_LIMIT)] {
                    let text = form.get(name).ok_or(Reply::Other {
                        code: 10016,
                        reason: format!("{name} is missing"),
                    })?;
                    if text.trim().is_empty() || text.chars().count() >= limit {
                        return Err(Reply::IllegalValue);
                    }
                }
            }
            "1" => {}
            _ => return Err(Reply::IllegalValue),
        }
        if form
            .get("payload")
            .is_some_and(|p| p.len() >= PAYLOAD_LIMIT)
        {
            return Err(Reply::TooLong);
        }
        let custom: Vec<(&str, &str)> = form
            .fields
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("extra.")?, v.as_str())))
            .filter(|(k, _)| !KNOWN_EXTRAS.contains(k) && !k.ends_with("_not_in"))
            .collect();
        if custom.len() > MAX_CUSTOM_EXTRAS {
            return Err(Reply::Other {
                code: 65014,
                reason: "Too many key-value pairs".into(),
            });
        }
        if custom.iter().any(|(k, v)| {
            k.chars().count() > MAX_EXTRA_CHARS || v.chars().count() > MAX_EXTRA_CHARS
        }) {
            return Err(Reply::Other {
                code: 65015,
                reason: "Key-value pair too long".into(),
            });
        }
        Ok(())
    }
}

/// A running Xiaomi stand-in.
pub type XiaomiStandin = Standin<Xiaomi>;
/// Configures a Xiaomi stand-in; [`Builder::start`] runs it.
pub type XiaomiStandinBuilder = Builder<Xiaomi>;

/// The Xiaomi stand-in's settings: the AppSecret (default: a fresh one)
/// and the packages `restricted_package_name` may name (with none, any).
/// Nothing of Xiaomi's expires, so the builder's clock goes unused.
#[derive(Debug)]
pub struct Xiaomi {
    app_secret: String,
    packages: Vec<String>,
}

impl Builder<Xiaomi> {
    /// The AppSecret `Authorization: key=…` must carry (default: a fresh one).
    pub fn app_secret(mut self, secret: &str) -> Self {
        self.vendor.app_secret = secret.to_owned();
        self
    }

    /// A package `restricted_package_name` may name (with none, any).
    pub fn package(mut self, name: &str) -> Self {
        self.vendor.packages.push(name.to_owned());
        self
    }
}

impl Standin<Xiaomi> {
    /// The AppSecret it accepts.
    pub fn app_secret(&self) -> &str {
        &self.state().app_secret
    }

    /// Every revoke taken so far.
    pub fn revokes(&self) -> Vec<Revoke> {
        self.state().revokes.all()
    }
}

impl Vendor for Xiaomi {
    type Reply = Reply;
    type State = Shared;
    type Accepted = AcceptedPush;
    type Stats = Stats;
    const NAME: &'static str = "Xiaomi";

    fn defaults() -> Self {
        Self {
            app_secret: fresh_id(),
            packages: Vec::new(),
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        let shared = Arc::new(Shared {
            app_secret: self.app_secret,
            packages: self.packages,
            journal: Journal::new(base.accepted, &[]),
            scripts: base.scripts,
            revokes: Revokes::default(),
        });
        let mut router = axum::Router::new().route(REVOKE_PATH, post(Shared::handle_revoke));
        for path in SEND_PATHS {
            router = router.route(path, post(Shared::handle));
        }
        Ok((shared.clone(), router.with_state(shared)))
    }

    fn stats(state: &Shared, _connections: u64) -> Stats {
        state.journal.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            app_secret: "s".into(),
            packages: vec!["com.example.chat".into()],
            scripts: Arc::default(),
            journal: Journal::default(),
            revokes: Revokes::default(),
        }
    }

    fn form(text: &str) -> Form {
        Form::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn checks_the_documented_fields() {
        let s = shared();
        let ok = "registration_id=r&restricted_package_name=com.example.chat&pass_through=0&title=T&description=D";
        assert_eq!(s.check(&form(ok)), Ok(()));
        let code = |text: &str| s.check(&form(text)).unwrap_err().code();
        assert_eq!(
            code("restricted_package_name=com.example.chat"),
            Some(10016)
        );
        assert_eq!(
            code("registration_id=r&restricted_package_name=other&title=T&description=D"),
            Some(22022)
        );
        let long = "x".repeat(50);
        assert_eq!(
            code(&format!("registration_id=r&restricted_package_name=com.example.chat&title={long}&description=D")),
            Some(10017)
        );
        assert_eq!(
            code(
                "registration_id=r&restricted_package_name=com.example.chat&title=+&description=D"
            ),
            Some(10017)
        );
        let payload = "p".repeat(4096);
        assert_eq!(code(&format!("{ok}&payload={payload}")), Some(65009));
        let extras: String = (0..11).map(|i| format!("&extra.k{i}=v")).collect();
        assert_eq!(code(&format!("{ok}{extras}")), Some(65014));
        assert_eq!(
            s.check(&form(&format!(
                "{ok}&extra.channel_id=c&extra.notify_effect=1"
            ))),
            Ok(())
        );
    }

    #[test]
    fn from_code_reads_the_cli_codes() {
        assert_eq!(Reply::from_code("20301"), Some(Reply::NoValidTargets));
        assert_eq!(Reply::from_code("bad_regids"), Some(Reply::BadRegId));
        assert_eq!(
            Reply::from_code("http-503"),
            Some(Reply::Http {
                status: 503,
                retry_after: None
            })
        );
        assert_eq!(Reply::from_code("nope"), None);
    }
}
