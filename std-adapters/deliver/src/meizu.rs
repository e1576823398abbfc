//! Meizu Push (vendors.md §8): `POST /garcia/api/server/push/varnished/
//! pushByPushId` with the core's form body (`pushIds`, `messageJson`) as it
//! is plus `&appId=<id>&sign=<md5>`; the answer → [`Outcome`] table is
//! [`RESPONSES`] (top-level codes and per-device codes in `value`).
//!
//! The signature (§8.1, §10.6): every parameter but `sign`, sorted by name,
//! `name=value` concatenated with no separator over the **raw** values,
//! then the app secret; MD5, lowercase hex. The raw values are the core's
//! body fields form-decoded: the core guarantees the decoded `messageJson`
//! is byte for byte what `tidings_core::render::meizu::render_message_json`
//! writes (its tests pin that), so what is signed is exactly what is sent,
//! and nothing is re-encoded.
//!
//! Decisions where vendors.md is silent or unsure:
//! - Host: `https://server-api-push.meizu.com` (the official doc's host,
//!   over HTTPS as §8.1 prefers); `endpoint` takes any URL, e.g. the Go
//!   SDK's `https://api-push.meizu.com`.
//! - `code` is a string per §8.3; a number is read the same.
//! - Per-device codes: the push's pushId listed under 110002/110003/110005
//!   or 110010 (notifications switched off: nothing will show until the
//!   user turns them back on) is [`Outcome::TokenInvalid`]; 501/513/519
//!   retry; 110011 (the device's daily public-message limit) waits for the
//!   next midnight, China Standard Time; 520 (folded) and 201 (no
//!   permission) are rejections. Every pushId listed under a dead-token
//!   code goes to [`Delivery::invalid_tokens`].
//! - A 200 answer that lists the pushId nowhere is delivered (`msgId`).
//! - Refused credentials ([`Outcome::CredentialsRefused`]): top-level 1006
//!   (signature check failed), 110000/110001/110033/110031 (bad appId,
//!   appKey, appSecret, package), and, as a decision where vendors.md says
//!   "ops", 110009 (app blacklisted); a bare HTTP 401/403 without a code.
//!   The per-device 201 (no permission) stays a rejection: it is one
//!   device's answer, not the app's.

use std::path::PathBuf;
use std::time::Duration;

use md5::{Digest, Md5};
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, MeizuSection};

pub use crate::form::InitError;
use crate::form::{self, local_reject, network_failure, Answer};
use crate::kit::answer::numeric_code;
use crate::kit::{config, ExposeSecret as _, SecretString};
use crate::outcome::{Backoff, Delivery};
#[cfg(doc)]
use crate::Outcome;
use crate::Push;

/// The official doc's host, over HTTPS (vendors.md §8.1).
pub const DEFAULT_URL: &str = "https://server-api-push.meizu.com";
/// Notification by pushId (vendors.md §8.1).
pub const PUSH_PATH: &str = "/garcia/api/server/push/varnished/pushByPushId";
/// A send's whole budget.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = crate::kit::config::DEFAULT_REQUEST_TIMEOUT;
/// 500/1001/1003 and per-device 501/513/519 (vendors.md §8.3 "retry with
/// backoff"): from 5 s, doubling, at most 30 minutes.
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// 110010 at the top, push rate too high (vendors.md §8.3 "back off"):
/// from a minute up to an hour.
pub const RATE_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;

// ---------------------------------------------------------------- config

#[derive(Debug)]
pub struct MeizuConfig {
    /// `production` (default) or any `https://host:port`.
    pub endpoint: String,
    pub app_id: String,
    pub app_secret: SecretString,
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
}

/// The endpoint names `endpoint` takes.
pub const REGIONS: &[(&str, &str)] = &[("production", DEFAULT_URL)];

/// `production` / a URL.
pub fn endpoint_url(endpoint: &str) -> &str {
    config::region_url(endpoint, REGIONS)
}

impl MeizuConfig {
    /// Reads `[meizu]`. Errors name the key and never carry the secret.
    pub fn from_section(section: &MeizuSection) -> Result<Self, ConfigError> {
        Ok(Self {
            app_id: config::required(&section.app_id, "meizu.app_id")?,
            app_secret: config::secret(&section.app_secret, "meizu.app_secret")?,
            endpoint: config::region(&section.endpoint, "production", REGIONS, "meizu.endpoint")?,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "meizu.request_timeout_secs",
            )?,
        })
    }
}

/// Meizu's `sign` over raw parameters (vendors.md §8.1): sorted by name
/// (byte order), `name=value` with no separator, then the secret; MD5,
/// lowercase hex. `sign` itself is never part of it.
pub fn sign(params: &[(&str, &[u8])], app_secret: &str) -> String {
    let mut sorted: Vec<&(&str, &[u8])> = params.iter().filter(|(n, _)| *n != "sign").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut md5 = Md5::new();
    for (name, value) in sorted {
        md5.update(name.as_bytes());
        md5.update(b"=");
        md5.update(value);
    }
    md5.update(app_secret.as_bytes());
    hex::encode(md5.finalize())
}

// ---------------------------------------------------------------- client

/// A Meizu Push client: one per app, shared by all sends.
#[derive(Debug)]
pub struct MeizuClient {
    http: reqwest::Client,
    url: String,
    app_id: String,
    app_secret: SecretString,
    clock: SharedClock,
}

impl MeizuClient {
    pub fn new(config: MeizuConfig, clock: SharedClock) -> Result<Self, InitError> {
        let base = config::https_url(endpoint_url(&config.endpoint), "meizu.endpoint")?;
        Ok(Self {
            http: crate::https::client(config.ca_file.as_deref(), config.request_timeout)?,
            url: format!("{base}{PUSH_PATH}"),
            app_id: config.app_id,
            app_secret: config.app_secret,
            clock,
        })
    }

    /// The form body sent for a rendered one: the core's bytes, then
    /// `&appId=…&sign=…`. `None` when the body is not a form.
    pub fn signed_body(&self, rendered: &[u8]) -> Option<Vec<u8>> {
        let pairs = form::pairs(rendered)?;
        let mut params: Vec<(&str, &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        params.push(("appId", self.app_id.as_bytes()));
        let sign = sign(&params, self.app_secret.expose_secret());
        let mut body = rendered.to_vec();
        form::append_pair(&mut body, "appId", &self.app_id);
        form::append_pair(&mut body, "sign", &sign);
        Some(body)
    }

    /// Sends one rendered Meizu body; never fails, every end is a
    /// [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("meizu") {
            return refused;
        }
        if !matches!(push.headers, Headers::None) {
            return local_reject("NotAMeizuPush");
        }
        let Some(body) = self.signed_body(push.body) else {
            return local_reject("NotAFormBody");
        };
        let push_id = form::field(push.body, "pushIds")
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_default();
        match form::post(
            &self.http,
            &self.url,
            http::HeaderMap::new(),
            body,
            &self.clock,
        )
        .await
        {
            Ok(answer) => self.finish(&answer, &push_id, push),
            Err(e) => network_failure("Meizu Push", &e, self.clock.now(), push.attempt),
        }
    }

    /// `push_id` is the device's (Meizu's `pushIds`), not the push's.
    fn finish(&self, answer: &Answer, push_id: &str, push: &Push<'_>) -> Delivery {
        let now = self.clock.now();
        let reply = Reply::read(&answer.body);
        let top = action_of(Scope::Top, answer.status, reply.code);
        // A processed request: this device's own result decides.
        let (action, code) = match (top, reply.device_code(push_id)) {
            (Action::Deliver, Some(code)) => {
                (action_for(Scope::Device, answer.status, code), Some(code))
            }
            (action, _) => (action, reply.code),
        };
        let reason = crate::kit::answer::coded_reason(code, &reply.message, answer.status);
        let id = form::delivered_id(reply.msg_id.as_ref(), push);
        let outcome = form::outcome(&POLICY, action, reason, id, answer, now, push.attempt);
        let invalid_tokens = reply
            .value
            .iter()
            .filter(|(code, _)| {
                action_for(Scope::Device, answer.status, *code) == Action::DropToken
            })
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect();
        Delivery {
            outcome,
            status: Some(answer.status),
            id: reply.msg_id.clone().filter(|id| !id.is_empty()),
            invalid_tokens,
        }
    }
}

provider!(MeizuClient);

// ---------------------------------------------------------------- answers

/// `{"code": "200", "message", "value": {<code>: [pushIds]}, "msgId"}`
/// (vendors.md §8.3).
struct Reply {
    code: Option<i64>,
    message: String,
    value: Vec<(i64, Vec<String>)>,
    msg_id: Option<String>,
}

impl Reply {
    fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<serde_json::Value>,
            message: Option<String>,
            value: Option<serde_json::Value>,
            #[serde(rename = "msgId")]
            msg_id: Option<serde_json::Value>,
        }
        let Ok(b) = serde_json::from_slice::<Body>(body) else {
            return Self {
                code: None,
                message: String::new(),
                value: Vec::new(),
                msg_id: None,
            };
        };
        let value = match b.value {
            Some(serde_json::Value::Object(map)) => map
                .into_iter()
                .filter_map(|(code, ids)| {
                    let code = code.trim().parse().ok()?;
                    let ids = match ids {
                        serde_json::Value::Array(ids) => ids
                            .into_iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect(),
                        serde_json::Value::String(s) => {
                            s.split(',').map(|s| s.trim().to_owned()).collect()
                        }
                        _ => Vec::new(),
                    };
                    Some((code, ids))
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            code: b.code.as_ref().and_then(numeric_code),
            message: b.message.unwrap_or_default(),
            value,
            msg_id: b.msg_id.map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
        }
    }

    /// The per-device code listing `push_id`, if any.
    fn device_code(&self, push_id: &str) -> Option<i64> {
        self.value
            .iter()
            .find(|(_, ids)| ids.iter().any(|id| id == push_id))
            .map(|(code, _)| *code)
    }
}

/// Where a code appears: the answer's `code`, or a key of `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Top,
    Device,
}

/// What one answer asks of the client: the form vendors' vocabulary.
pub use crate::form::{status_action, Action};

/// Meizu's retry policy (the backoffs above; no offline answer).
const POLICY: form::Policy = form::Policy {
    vendor: "Meizu",
    server: SERVER_BACKOFF,
    rate: RATE_BACKOFF,
    offline: SERVER_BACKOFF,
};

/// Every code of vendors.md §8.3, by scope → action.
pub const RESPONSES: &[((Scope, i64), Action)] = &[
    ((Scope::Top, 200), Action::Deliver),
    ((Scope::Top, 500), Action::Backoff),
    ((Scope::Top, 1001), Action::Backoff),
    ((Scope::Top, 1003), Action::Backoff),
    ((Scope::Top, 1005), Action::Reject),
    ((Scope::Top, 1006), Action::CredentialsRefused),
    ((Scope::Top, 110000), Action::CredentialsRefused),
    ((Scope::Top, 110001), Action::CredentialsRefused),
    ((Scope::Top, 110033), Action::CredentialsRefused),
    ((Scope::Top, 110031), Action::CredentialsRefused),
    ((Scope::Top, 110004), Action::Reject),
    ((Scope::Top, 110009), Action::CredentialsRefused),
    ((Scope::Top, 110010), Action::RateBackoff),
    ((Scope::Top, 110019), Action::NextDay),
    ((Scope::Top, 110051), Action::NextDay),
    ((Scope::Top, 110032), Action::Reject),
    ((Scope::Top, 110053), Action::Reject),
    ((Scope::Device, 110002), Action::DropToken),
    ((Scope::Device, 110003), Action::DropToken),
    ((Scope::Device, 110005), Action::DropToken),
    ((Scope::Device, 110010), Action::DropToken),
    ((Scope::Device, 110011), Action::NextDay),
    ((Scope::Device, 201), Action::Reject),
    ((Scope::Device, 501), Action::Backoff),
    ((Scope::Device, 513), Action::Backoff),
    ((Scope::Device, 519), Action::Backoff),
    ((Scope::Device, 520), Action::Reject),
];

/// The table's row; otherwise by HTTP status class, a 2xx one a rejection.
pub fn action_for(scope: Scope, status: u16, code: i64) -> Action {
    action_of(scope, status, Some(code))
}

fn action_of(scope: Scope, status: u16, code: Option<i64>) -> Action {
    let key = code.map(|code| (scope, code));
    crate::kit::answer::action_for("Meizu", RESPONSES, status, key.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_per_scope() {
        crate::kit::answer::assert_table(RESPONSES, |&(scope, code)| action_for(scope, 200, code));
        assert_eq!(RESPONSES.len(), 27);
        // 110010 means two things by scope (§8.3).
        assert_eq!(action_for(Scope::Top, 200, 110010), Action::RateBackoff);
        assert_eq!(action_for(Scope::Device, 200, 110010), Action::DropToken);
        assert_eq!(action_for(Scope::Top, 200, 110019), Action::NextDay);
        assert_eq!(action_for(Scope::Device, 200, 513), Action::Backoff);
        for code in [1006, 110000, 110001, 110033, 110031, 110009] {
            assert_eq!(
                action_for(Scope::Top, 200, code),
                Action::CredentialsRefused,
                "{code}"
            );
        }
        assert_eq!(action_for(Scope::Top, 200, 1005), Action::Reject);
        assert_eq!(action_for(Scope::Device, 200, 201), Action::Reject);
        assert_eq!(status_action(403), Action::CredentialsRefused);
        assert_eq!(action_for(Scope::Top, 200, 424242), Action::Reject);
        assert_eq!(action_for(Scope::Top, 503, 424242), Action::Backoff);
    }

    #[test]
    fn sign_sorts_raw_parameters_and_appends_the_secret() {
        let json = br#"{"a":"b c&d"}"#;
        let params: &[(&str, &[u8])] = &[
            ("pushIds", b"id1"),
            ("messageJson", json),
            ("appId", b"100"),
            ("sign", b"ignored"),
        ];
        let expected = hex::encode(Md5::digest(
            br#"appId=100messageJson={"a":"b c&d"}pushIds=id1secret"#,
        ));
        assert_eq!(sign(params, "secret"), expected);
    }

    #[test]
    fn reads_string_codes_and_the_device_lists() {
        let r = Reply::read(
            br#"{"code":"200","message":"","value":{"110003":["x","y"],"501":["z"]},"redirect":"","msgId":"m-1"}"#,
        );
        assert_eq!(r.code, Some(200));
        assert_eq!(r.device_code("y"), Some(110003));
        assert_eq!(r.device_code("z"), Some(501));
        assert_eq!(r.device_code("w"), None);
        assert_eq!(r.msg_id.as_deref(), Some("m-1"));
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let err = MeizuConfig::from_section(&MeizuSection::default()).unwrap_err();
        assert_eq!(err.to_string(), "meizu.app_id: missing");
        let section = MeizuSection {
            app_id: Some("100".into()),
            ..MeizuSection::default()
        };
        assert_eq!(
            MeizuConfig::from_section(&section).unwrap_err().to_string(),
            "meizu.app_secret: missing"
        );
        let section = MeizuSection {
            app_id: Some("100".into()),
            app_secret: Some("mz-s3cret".into()),
            ..MeizuSection::default()
        };
        let config = MeizuConfig::from_section(&section).unwrap();
        assert_eq!(endpoint_url(&config.endpoint), DEFAULT_URL);
        assert!(!format!("{config:?}").contains("mz-s3cret"));
    }
}
