//! Xiaomi Mi Push (vendors.md §5): `POST /v3/message/regid` with the core's
//! form body as it is and `Authorization: key=<AppSecret>`; the answer →
//! [`Outcome`] table is [`RESPONSES`].
//!
//! Decisions where vendors.md is silent or unsure:
//! - Invalid regIds: vendors.md §5.3 did not find how Xiaomi reports them.
//!   Public clients read `data.bad_regids` (comma-separated) on a `code` 0
//!   answer, and count `code` 20301 as "every target failed" (Xiaomi's
//!   reason text is "No valid targets!"). So: a `code` 0 answer that lists
//!   the push's regId in `bad_regids` is [`Outcome::TokenInvalid`] (the
//!   listed regIds go to [`Delivery::invalid_tokens`]).
//! - 20301: vendors.md reads it as "send failed, retry" (unconfirmed),
//!   public clients as a dead target. Under that doubt the failure that
//!   loses least wins (issue 26): a dead token retried a few times costs
//!   little, a live token dropped stops a user's pushes for good. So 20301
//!   retries on [`SERVER_BACKOFF`] (the gateway's budget ends it), unless
//!   its `bad_regids` names the push's regId: then it is `TokenInvalid`.
//!   22102, the other "send failed", is a retry too.
//! - 65003 "device not found (usually offline)": not a dead token, and no
//!   immediate retry (§5.3): a retry after [`OFFLINE_BACKOFF`].
//! - 10034 (daily quota): retry at the next midnight in China Standard
//!   Time (Xiaomi's quotas are per calendar day; its console runs on
//!   Beijing time) — never a tight loop.
//! - An unknown `code` on a 200 answer is a rejection (logged); without a
//!   JSON answer the HTTP status decides: 401/403 refuse the sender, 429
//!   backs off, 5xx retries, the rest is a rejection.
//! - Refused credentials ([`Outcome::CredentialsRefused`]): 21301/21302
//!   (authentication failed: the AppSecret), and, as a decision where
//!   vendors.md says "ops" or "fix", 10031 (app blacklisted), 10036
//!   (operation forbidden), 22000 (illegal app) and 22022 (illegal package
//!   name: the app's identity from its configuration, not the push's):
//!   every push of the app would meet them until the operator acts.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use http::header::{HeaderValue, AUTHORIZATION};
use http::HeaderMap;
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, XiaomiSection};

pub use crate::form::InitError;
use crate::form::{self, local_reject, network_failure, Answer};
use crate::kit::{config, ExposeSecret as _, SecretString};
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::Push;

/// Mainland China host (vendors.md §5.1).
pub const CHINA_URL: &str = "https://api.xmpush.xiaomi.com";
/// Global hosts by region (vendors.md §5.1).
pub const SINGAPORE_URL: &str = "https://sgp-api.xmpush.global.xiaomi.com";
pub const RUSSIA_URL: &str = "https://ru-api.xmpush.global.xiaomi.com";
pub const INDIA_URL: &str = "https://idmb-api.xmpush.global.xiaomi.com";
pub const EUROPE_URL: &str = "https://fr-api.xmpush.global.xiaomi.com";
/// The send path for regIds (vendors.md §5.1: v3 takes several packages).
pub const SEND_PATH: &str = "/v3/message/regid";
/// The revoke path for regIds (beyond.md §13.2): the form body as the core
/// rendered it (its V3 fields are unconfirmed), the same auth as a send,
/// the answer read like a send's.
pub const REVOKE_PATH: &str = "/v3/message/regid/revoke";
/// A send's whole budget.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = config::DEFAULT_REQUEST_TIMEOUT;
/// The region names `endpoint` takes (vendors.md §5.1).
pub const REGIONS: &[(&str, &str)] = &[
    ("china", CHINA_URL),
    ("singapore", SINGAPORE_URL),
    ("global", SINGAPORE_URL),
    ("russia", RUSSIA_URL),
    ("india", INDIA_URL),
    ("europe", EUROPE_URL),
];
/// System and internal errors (vendors.md §5.3 "retry with backoff"): from
/// 5 s, doubling, at most 30 minutes, as for APNs.
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// Call-rate codes (vendors.md §5.3 "back off"): slower, from a minute up
/// to an hour.
pub const RATE_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;
/// 65003, device not found (usually offline; vendors.md §5.3 "no immediate
/// retry"): from 30 minutes up to 12 hours.
pub const OFFLINE_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(30 * 60),
    cap: Duration::from_secs(12 * 3600),
};

// ---------------------------------------------------------------- config

#[derive(Debug)]
pub struct XiaomiConfig {
    /// `china` (default), `singapore` (or `global`), `russia`, `india`,
    /// `europe`, or any `https://host:port`.
    pub endpoint: String,
    pub app_secret: SecretString,
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
}

/// `china` / `singapore` / `global` / `russia` / `india` / `europe` / a URL.
pub fn endpoint_url(endpoint: &str) -> &str {
    config::region_url(endpoint, REGIONS)
}

impl XiaomiConfig {
    /// Reads `[xiaomi]`. Errors name the key and never carry the secret.
    pub fn from_section(section: &XiaomiSection) -> Result<Self, ConfigError> {
        let app_secret = config::secret(&section.app_secret, "xiaomi.app_secret")?;
        authorization(&app_secret)?;
        Ok(Self {
            endpoint: config::region(&section.endpoint, "china", REGIONS, "xiaomi.endpoint")?,
            app_secret,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "xiaomi.request_timeout_secs",
            )?,
        })
    }
}

/// `Authorization: key=<AppSecret>`, marked sensitive.
fn authorization(app_secret: &SecretString) -> Result<HeaderValue, ConfigError> {
    let mut value =
        HeaderValue::from_str(&format!("key={}", app_secret.expose_secret())).map_err(|_| {
            ConfigError::new(
                "xiaomi.app_secret",
                "not usable in a header (control characters?)",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

// ---------------------------------------------------------------- client

/// A Mi Push client: one per app secret, shared by all sends.
#[derive(Debug)]
pub struct XiaomiClient {
    http: reqwest::Client,
    url: String,
    revoke_url: String,
    /// `key=<AppSecret>`, marked sensitive.
    authorization: HeaderValue,
    clock: SharedClock,
}

impl XiaomiClient {
    pub fn new(config: XiaomiConfig, clock: SharedClock) -> Result<Self, InitError> {
        let base = config::https_url(endpoint_url(&config.endpoint), "xiaomi.endpoint")?;
        let authorization = authorization(&config.app_secret)?;
        Ok(Self {
            http: crate::https::client(config.ca_file.as_deref(), config.request_timeout)?,
            url: format!("{base}{SEND_PATH}"),
            revoke_url: format!("{base}{REVOKE_PATH}"),
            authorization,
            clock,
        })
    }

    /// Sends (or revokes: [`REVOKE_PATH`]) one rendered Mi Push body;
    /// never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if !matches!(push.headers, Headers::None) {
            return local_reject("NotAXiaomiPush");
        }
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, self.authorization.clone());
        let url = match push.action {
            crate::Action::Send => &self.url,
            crate::Action::Revoke => &self.revoke_url,
        };
        let answer =
            match form::post(&self.http, url, headers, push.body.to_vec(), &self.clock).await {
                Ok(answer) => answer,
                Err(e) => return network_failure("Mi Push", &e, self.clock.now(), push.attempt),
            };
        let reg_id = form::field(push.body, "registration_id")
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_default();
        self.finish(&answer, &reg_id, push)
    }

    fn finish(&self, answer: &Answer, reg_id: &str, push: &Push<'_>) -> Delivery {
        finish(answer, reg_id, push, self.clock.now())
    }
}

/// The delivery for Xiaomi's `answer` to `push` (to `reg_id`) at `now`.
fn finish(answer: &Answer, reg_id: &str, push: &Push<'_>, now: SystemTime) -> Delivery {
    let reply = Reply::read(&answer.body);
    let action = TABLE.action(answer.status, reply.code);
    let reason = reply.reason(answer.status);
    let bad: Vec<String> = reply
        .bad_regids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let status = Some(answer.status);
    let id = reply.id.clone();
    // Success or 20301 naming this regId dead: it is.
    let named_dead =
        bad.iter().any(|b| b == reg_id) && matches!(reply.code, Some(0 | NO_VALID_TARGETS));
    let outcome = match action {
        _ if named_dead => Outcome::TokenInvalid {
            reason: "bad_regids".to_owned(),
            since: None,
        },
        action => {
            if action == Action::Deliver && reply.id.is_none() {
                tracing::debug!("Mi Push answered success without data.id");
            }
            let id = form::delivered_id(reply.id.as_ref(), push);
            form::outcome(&POLICY, action, reason, id, answer, now, push.attempt)
        }
    };
    let invalid_tokens = match &outcome {
        Outcome::TokenInvalid { .. } if bad.is_empty() => vec![reg_id.to_owned()],
        _ => bad,
    };
    Delivery {
        outcome,
        status,
        id,
        invalid_tokens,
    }
}

provider!(XiaomiClient);

// ---------------------------------------------------------------- answers

/// The result JSON (vendors.md §5.3).
struct Reply {
    code: Option<i64>,
    description: String,
    id: Option<String>,
    bad_regids: String,
}

impl Reply {
    fn read(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<serde_json::Value>,
            description: Option<String>,
            reason: Option<String>,
            data: Option<Data>,
        }
        #[derive(serde::Deserialize)]
        struct Data {
            id: Option<String>,
            #[serde(alias = "bad_regIds")]
            bad_regids: Option<String>,
        }
        let Ok(b) = serde_json::from_slice::<Body>(body) else {
            return Self {
                code: None,
                description: String::new(),
                id: None,
                bad_regids: String::new(),
            };
        };
        let code = b.code.as_ref().and_then(crate::kit::answer::numeric_code);
        let data = b.data;
        Self {
            code,
            description: b.reason.or(b.description).unwrap_or_default(),
            id: data.as_ref().and_then(|d| d.id.clone()),
            bad_regids: data.and_then(|d| d.bad_regids).unwrap_or_default(),
        }
    }

    /// The reason reported (see [`crate::kit::answer::coded_reason`]).
    fn reason(&self, status: u16) -> String {
        crate::kit::answer::coded_reason(self.code, &self.description, status)
    }
}

/// What one answer asks of the client: the form vendors' vocabulary.
pub use crate::form::{status_action, Action};

/// Xiaomi's retry policy (the backoffs above).
const POLICY: form::Policy = form::Policy {
    vendor: "Mi Push",
    server: SERVER_BACKOFF,
    rate: RATE_BACKOFF,
    offline: OFFLINE_BACKOFF,
};

/// 20301 "No valid targets!" (see the module doc).
pub const NO_VALID_TARGETS: i64 = 20301;

/// Every code of vendors.md §5.3 → action (plus 20301, see the module doc).
pub const RESPONSES: &[(i64, Action)] = &[
    (0, Action::Deliver),
    (-1, Action::Backoff),
    (1, Action::Backoff),
    (10001, Action::Backoff),
    (10002, Action::Backoff),
    (10003, Action::Backoff),
    (26003, Action::Backoff),
    (65029, Action::Backoff),
    (10008, Action::Reject),
    (10016, Action::Reject),
    (10017, Action::Reject),
    (21305, Action::Reject),
    (65011, Action::Reject),
    (10027, Action::RateBackoff),
    (21303, Action::RateBackoff),
    (26004, Action::RateBackoff),
    (10031, Action::CredentialsRefused),
    (10036, Action::CredentialsRefused),
    (22000, Action::CredentialsRefused),
    (10034, Action::NextDay),
    (NO_VALID_TARGETS, Action::Backoff),
    (22102, Action::Backoff),
    (21301, Action::CredentialsRefused),
    (21302, Action::CredentialsRefused),
    (22022, Action::CredentialsRefused),
    (26006, Action::Reject),
    (27001, Action::Reject),
    (65003, Action::OfflineBackoff),
    (65009, Action::Reject),
    (65014, Action::Reject),
    (65015, Action::Reject),
    (65036, Action::Reject),
    (65037, Action::Reject),
    (65038, Action::Reject),
];

/// The table's row for `code`; a code not in it falls back on the HTTP
/// status class ([`status_action`]), a 2xx one to a rejection.
pub fn action_for(status: u16, code: i64) -> Action {
    TABLE.action(status, Some(code))
}

const TABLE: form::Table = form::Table {
    vendor: "Mi Push",
    rows: RESPONSES,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_and_maps_as_the_spec_says() {
        crate::kit::answer::assert_table(RESPONSES, |&code| action_for(200, code));
        assert_eq!(RESPONSES.len(), 34);
        assert_eq!(action_for(200, 10034), Action::NextDay);
        assert_eq!(action_for(200, 20301), Action::Backoff);
        for code in [21301, 21302, 10031, 10036, 22000, 22022] {
            assert_eq!(action_for(200, code), Action::CredentialsRefused, "{code}");
        }
        assert_eq!(action_for(200, 10017), Action::Reject);
        assert_eq!(action_for(200, 10027), Action::RateBackoff);
        assert_eq!(action_for(200, 10002), Action::Backoff);
        assert_eq!(action_for(200, 65003), Action::OfflineBackoff);
    }

    #[test]
    fn unknown_codes_and_bare_statuses_fall_back_by_class() {
        assert_eq!(action_for(200, 99999), Action::Reject);
        assert_eq!(action_for(503, 99999), Action::Backoff);
        assert_eq!(action_for(429, 99999), Action::RateBackoff);
        assert_eq!(status_action(200), Action::Deliver);
        assert_eq!(status_action(502), Action::Backoff);
        assert_eq!(status_action(401), Action::CredentialsRefused);
        assert_eq!(status_action(404), Action::Reject);
    }

    #[test]
    fn no_valid_targets_retries_unless_bad_regids_names_the_token() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let push = Push {
            body: b"registration_id=r1",
            headers: Headers::None,
            id: uuid::Uuid::new_v4(),
            attempt: 2,
            action: crate::Action::Send,
        };
        let answer = |json: &str| Answer {
            status: 200,
            retry_after: None,
            body: bytes::Bytes::from(json.to_owned()),
        };
        let unnamed = answer(r#"{"result":"error","code":20301,"reason":"No valid targets!"}"#);
        let d = finish(&unnamed, "r1", &push, now);
        assert_eq!(
            d.outcome,
            Outcome::Retry {
                reason: "20301 No valid targets!".into(),
                not_before: now + SERVER_BACKOFF.delay(2)
            }
        );
        assert!(d.invalid_tokens.is_empty());
        let named = answer(r#"{"code":20301,"data":{"bad_regids":"r1"}}"#);
        let d = finish(&named, "r1", &push, now);
        assert_eq!(
            d.outcome,
            Outcome::TokenInvalid {
                reason: "bad_regids".into(),
                since: None
            }
        );
        assert_eq!(d.invalid_tokens, ["r1"]);
        // Another regId named dead leaves this one to the retry.
        let other = answer(r#"{"code":20301,"data":{"bad_regids":"r9"}}"#);
        assert_eq!(finish(&other, "r1", &push, now).outcome.name(), "retry");
    }

    #[test]
    fn reads_codes_as_numbers_or_strings() {
        let r = Reply::read(br#"{"result":"ok","code":0,"data":{"id":"m1","bad_regids":"a,b"}}"#);
        assert_eq!((r.code, r.id.as_deref()), (Some(0), Some("m1")));
        assert_eq!(r.bad_regids, "a,b");
        let r = Reply::read(br#"{"result":"error","code":"10034","reason":"quota"}"#);
        assert_eq!(r.code, Some(10034));
        assert_eq!(r.reason(200), "10034 quota");
        assert_eq!(Reply::read(b"<html>").reason(502), "HTTP 502");
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let err = XiaomiConfig::from_section(&XiaomiSection::default()).unwrap_err();
        assert_eq!(err.to_string(), "xiaomi.app_secret: missing");
        let section = XiaomiSection {
            app_secret: Some("s3cr3t-value".into()),
            endpoint: Some("ftp://x".into()),
            ..XiaomiSection::default()
        };
        let err = XiaomiConfig::from_section(&section).unwrap_err();
        assert_eq!(err.key, "xiaomi.endpoint");
        let section = XiaomiSection {
            app_secret: Some("s3cr3t-value".into()),
            ..XiaomiSection::default()
        };
        let config = XiaomiConfig::from_section(&section).unwrap();
        assert_eq!(endpoint_url(&config.endpoint), CHINA_URL);
        assert!(!format!("{config:?}").contains("s3cr3t"));
        // The client's derived Debug too (the header is marked sensitive).
        let clock = std::sync::Arc::new(tidings_std::clock::ManualClock::starting_now());
        let client = XiaomiClient::new(config, clock).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
        assert_eq!(endpoint_url("global"), SINGAPORE_URL);
    }
}
