//! TPNS, Tencent Push Notification Service (vendors.md §9, legacy): `POST
//! /v3/push/app` with the signature auth of §9.1 option 2; the answer →
//! [`Outcome`] table is [`RESPONSES`].
//!
//! Every request carries `AccessId`, `TimeStamp` (epoch seconds, from the
//! clock) and `Sign` = Base64(HMAC-SHA256(key = SecretKey, msg = TimeStamp +
//! AccessId + the body)), the body being the core's render sent byte for
//! byte (it holds the device token in `token_list`). There is no token to
//! cache: each request is signed on its own.
//!
//! Decisions where vendors.md is silent:
//! - Signature auth (option 2) rather than Basic (option 1): the secret
//!   never travels, and a captured request cannot be replayed outside the
//!   server's time window.
//! - TPNS answers its codes in the JSON body (`ret_code`); the HTTP status
//!   is read first: a 401/403 refuses the sender (below), a 429 backs off
//!   as the frequency limit does, a 5xx on the server backoff, any other
//!   non-2xx is a rejection (reason `HTTP <status>`). A 2xx body without a `ret_code` is retried on the
//!   server backoff: TPNS may have taken the push, and its duplicate check
//!   (10010018) stops a second delivery.
//! - `1008028` (frequency limit) backs off from [`FREQUENCY_BACKOFF`]'s 1 s,
//!   doubling (§9.3: "≥ 1 s"), and `1008004` from [`SERVER_BACKOFF`]'s 5 s;
//!   a `Retry-After`, though TPNS documents none, wins.
//! - `10010005` (push target does not exist) drops the token, like
//!   `1008006`/`1008029` (§9.3: "drop target").
//! - `10010018` (duplicate push) is a rejection: §9.3 says not to retry.
//! - Refused credentials ([`Outcome::CredentialsRefused`]): `1008003`
//!   (authentication failed: the secret, or a clock outside the server's
//!   window) and `10030002` (AccessID/AccessKey mismatch); and, as a
//!   decision where vendors.md says "ops", `1008030`/`1008031`/`1010001`
//!   (unpaid, resource destroyed, not deployed: the account, not the push).
//!   An HTTP 401/403 is read the same, with its `ret_code` as the reason
//!   when the body has one.
//! - Endpoint names: `guangzhou` (the default), `shanghai`, `hongkong`,
//!   `singapore` (§9.1 access points), or any `https://host:port`.
//! - `Delivered.id` is TPNS's `push_id`.

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use tidings_core::render::Headers;
use tidings_std::clock::SharedClock;
use tidings_std::config::{ConfigError, TpnsSection};

use crate::https::{client, exchange, Answer};
use crate::kit::{config, ExposeSecret as _, SecretString};
use crate::outcome::{Backoff, Delivery, Outcome};
use crate::Push;

/// Guangzhou access point (vendors.md §9.1), the default.
pub const GUANGZHOU_URL: &str = "https://api.tpns.tencent.com";
/// Shanghai access point (§9.1).
pub const SHANGHAI_URL: &str = "https://api.tpns.sh.tencent.com";
/// Hong Kong access point (§9.1).
pub const HONG_KONG_URL: &str = "https://api.tpns.hk.tencent.com";
/// Singapore access point (§9.1).
pub const SINGAPORE_URL: &str = "https://api.tpns.sgp.tencent.com";
/// The push path (§9.1).
pub const PUSH_PATH: &str = "/v3/push/app";
/// A send's whole budget.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = crate::kit::config::DEFAULT_REQUEST_TIMEOUT;
/// `1008004` and 5xx (§9.3: "retry with backoff").
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// `1008028` frequency limit (§9.3: "back off ≥ 1 s"; pushes to all/tag/
/// package audiences are limited to one a second).
pub const FREQUENCY_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(10 * 60),
};

static ACCESS_ID: HeaderName = HeaderName::from_static("accessid");
static TIME_STAMP: HeaderName = HeaderName::from_static("timestamp");
static SIGN: HeaderName = HeaderName::from_static("sign");

// ---------------------------------------------------------------- config

#[derive(Debug)]
pub struct TpnsConfig {
    /// `guangzhou`, `shanghai`, `hongkong`, `singapore`, or a URL.
    pub endpoint: String,
    pub access_id: String,
    pub secret_key: SecretString,
    pub ca_file: Option<PathBuf>,
    pub request_timeout: Duration,
}

pub use crate::kit::InitError;

impl TpnsConfig {
    /// Reads `[tpns]`. Errors name the key (`tpns.secret_key: missing`) and
    /// never carry the secret.
    pub fn from_section(section: &TpnsSection) -> Result<Self, ConfigError> {
        let access_id = config::required(&section.access_id, "tpns.access_id")?;
        if !access_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                "tpns.access_id",
                "must be visible ASCII (it is sent as a header)",
            ));
        }
        let secret_key = config::secret(&section.secret_key, "tpns.secret_key").map_err(|_| {
            ConfigError::new(
                "tpns.secret_key",
                "missing (better given as TIDINGS_TPNS_SECRET_KEY)",
            )
        })?;
        Ok(Self {
            endpoint: config::region(&section.endpoint, "guangzhou", REGIONS, "tpns.endpoint")?,
            access_id,
            secret_key,
            ca_file: section.ca_file.clone(),
            request_timeout: config::request_timeout(
                section.request_timeout_secs,
                "tpns.request_timeout_secs",
            )?,
        })
    }
}

/// The access points `endpoint` names (vendors.md §9).
pub const REGIONS: &[(&str, &str)] = &[
    ("guangzhou", GUANGZHOU_URL),
    ("shanghai", SHANGHAI_URL),
    ("hongkong", HONG_KONG_URL),
    ("singapore", SINGAPORE_URL),
];

/// An access point's name, or a URL as it is.
pub fn endpoint_url(endpoint: &str) -> &str {
    config::region_url(endpoint, REGIONS)
}

/// `Sign` (§9.1 option 2): Base64(HMAC-SHA256(secret, timestamp +
/// access_id + body)).
pub fn sign(secret_key: &str, timestamp: &str, access_id: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret_key.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(access_id.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

// ---------------------------------------------------------------- client

/// A TPNS client: one per app (AccessId), shared by all sends.
#[derive(Debug)]
pub struct TpnsClient {
    http: reqwest::Client,
    url: String,
    access_id: String,
    secret_key: SecretString,
    clock: SharedClock,
}

impl TpnsClient {
    pub fn new(config: TpnsConfig, clock: SharedClock) -> Result<Self, InitError> {
        let http = client(config.ca_file.as_deref(), config.request_timeout)?;
        let base = config::https_url(endpoint_url(&config.endpoint), "tpns.endpoint")?;
        Ok(Self {
            http,
            url: format!("{base}{PUSH_PATH}"),
            access_id: config.access_id,
            secret_key: config.secret_key,
            clock,
        })
    }

    /// Sends one rendered TPNS push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("tpns") {
            return refused;
        }
        if !matches!(push.headers, Headers::None) {
            return Delivery::local_reject("NotATpnsPush");
        }
        let timestamp = self.clock.unix_seconds().to_string();
        let mut signature = match HeaderValue::try_from(sign(
            self.secret_key.expose_secret(),
            &timestamp,
            &self.access_id,
            push.body,
        )) {
            Ok(v) => v,
            Err(_) => return Delivery::local_reject("SignUnusable"),
        };
        signature.set_sensitive(true);
        let request = self
            .http
            .post(&self.url)
            .header(ACCESS_ID.clone(), self.access_id.as_str())
            .header(TIME_STAMP.clone(), timestamp.as_str())
            .header(SIGN.clone(), signature)
            .header(CONTENT_TYPE, "application/json")
            .body(Bytes::copy_from_slice(push.body));
        let Answer {
            status,
            retry_after,
            body,
        } = match exchange(request, &self.clock).await {
            Ok(answer) => answer,
            Err(e) => return e.delivery("tpns", self.clock.now(), push.attempt),
        };
        let reply = Reply::read(&body);
        let (action, reason) = classify(status, reply.ret_code);
        let now = self.clock.now();
        let outcome = match action {
            Action::Deliver => Outcome::Delivered {
                id: reply.push_id.clone().unwrap_or_else(|| push.id.to_string()),
            },
            Action::DropToken => Outcome::TokenInvalid {
                reason,
                since: None,
            },
            Action::Backoff => SERVER_BACKOFF.retry(reason, now, push.attempt, retry_after),
            Action::FrequencyBackoff => {
                FREQUENCY_BACKOFF.retry(reason, now, push.attempt, retry_after)
            }
            Action::CredentialsRefused => {
                tracing::debug!(status, %reason, err_msg = %reply.err_msg, "TPNS refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                tracing::debug!(status, %reason, err_msg = %reply.err_msg, "TPNS rejected a push: check the credentials, the clock or the payload");
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            id: reply.push_id,
            ..Delivery::bare(outcome, Some(status))
        }
    }
}

provider!(TpnsClient);

// ---------------------------------------------------------------- answers

/// The answer's `ret_code`, `err_msg` and `push_id` (§9.2).
struct Reply {
    ret_code: Option<i64>,
    err_msg: String,
    push_id: Option<String>,
}

impl Reply {
    fn read(body: &[u8]) -> Self {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let push_id = match value.get("push_id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Self {
            ret_code: value.get("ret_code").and_then(serde_json::Value::as_i64),
            err_msg: value
                .get("err_msg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            push_id,
        }
    }
}

/// What one `ret_code` asks of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// The device token is dead.
    DropToken,
    /// Server trouble: retry after the server backoff.
    Backoff,
    /// Frequency limit: retry after the frequency backoff.
    FrequencyBackoff,
    /// Fix the push, the content or the account; sending again cannot help.
    Reject,
    /// The credentials, the clock or the account are refused:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
}

/// Every row of vendors.md §9.3, `ret_code` → action.
pub const RESPONSES: &[(i64, Action)] = &[
    (0, Action::Deliver),
    (1_008_001, Action::Reject),
    (1_008_002, Action::Reject),
    (1_008_007, Action::Reject),
    (1_008_003, Action::CredentialsRefused),
    (1_008_004, Action::Backoff),
    (1_008_006, Action::DropToken),
    (1_008_029, Action::DropToken),
    (1_008_019, Action::Reject),
    (1_008_028, Action::FrequencyBackoff),
    (1_008_030, Action::CredentialsRefused),
    (1_008_031, Action::CredentialsRefused),
    (1_010_001, Action::CredentialsRefused),
    (10_010_005, Action::DropToken),
    (10_010_012, Action::Reject),
    (10_010_018, Action::Reject),
    (10_030_002, Action::CredentialsRefused),
];

/// An answer's action and reason. A `ret_code` decides on any status when
/// its row is in the table (a 4xx carrying 1008006 is a dead token), but
/// a success code on an error status does not count; otherwise a 2xx
/// goes by [`action_for`] (no code: `BadAnswer`, a retry) and an error
/// status by its class: 401/403 refuse the sender, 429 the frequency
/// backoff, 5xx the server backoff, the rest a rejection.
pub fn classify(status: u16, ret_code: Option<i64>) -> (Action, String) {
    let row = ret_code.and_then(|c| RESPONSES.iter().find(|(k, _)| *k == c));
    let http = || format!("HTTP {status}");
    match (status, ret_code, row) {
        (200..=299, Some(code), _) => (action_for(code), code.to_string()),
        (200..=299, None, _) => (Action::Backoff, "BadAnswer".to_owned()),
        (_, Some(code), Some(&(_, action))) if action != Action::Deliver => {
            (action, code.to_string())
        }
        (401 | 403, Some(code), _) => (Action::CredentialsRefused, code.to_string()),
        (401 | 403, None, _) => (Action::CredentialsRefused, http()),
        (429, ..) => (Action::FrequencyBackoff, http()),
        (500..=599, ..) => (Action::Backoff, http()),
        _ => (Action::Reject, http()),
    }
}

/// The row for `ret_code`; a code not in the table is a rejection (§9.3:
/// "others are permanent").
pub fn action_for(ret_code: i64) -> Action {
    match RESPONSES.iter().find(|(code, _)| *code == ret_code) {
        Some(&(_, action)) => action,
        None => {
            tracing::debug!(ret_code, "TPNS answered a ret_code not in the table");
            Action::Reject
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_one_row() {
        for (i, (code, _)) in RESPONSES.iter().enumerate() {
            assert!(
                !RESPONSES.iter().skip(i + 1).any(|(c, _)| c == code),
                "{code} twice"
            );
        }
        // vendors.md §9.3 lists 17 codes, success included.
        assert_eq!(RESPONSES.len(), 17);
        let expect = |codes: &[i64], action: Action| {
            for code in codes {
                assert_eq!(action_for(*code), action, "{code}");
            }
        };
        expect(&[0], Action::Deliver);
        expect(&[1_008_006, 1_008_029, 10_010_005], Action::DropToken);
        expect(&[1_008_004], Action::Backoff);
        expect(&[1_008_028], Action::FrequencyBackoff);
        expect(
            &[
                1_008_001, 1_008_002, 1_008_007, 1_008_019, 10_010_012, 10_010_018,
            ],
            Action::Reject,
        );
        expect(
            &[1_008_003, 10_030_002, 1_008_030, 1_008_031, 1_010_001],
            Action::CredentialsRefused,
        );
        assert_eq!(
            action_for(42),
            Action::Reject,
            "unknown codes are permanent"
        );
    }

    #[test]
    fn sign_is_base64_hmac_sha256_over_timestamp_access_id_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sign = sign("Jefe", "what do ", "ya want ", b"for nothing?");
        assert_eq!(
            STANDARD.decode(&sign).unwrap(),
            hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                .unwrap()
        );
    }

    #[test]
    fn replies_read_codes_and_push_ids() {
        let r = Reply::read(br#"{"seq":1,"push_id":"3895624686","ret_code":0,"environment":"product","err_msg":""}"#);
        assert_eq!(
            (r.ret_code, r.push_id.as_deref()),
            (Some(0), Some("3895624686"))
        );
        let r = Reply::read(br#"{"ret_code":1008006,"err_msg":"token invalid"}"#);
        assert_eq!(
            (r.ret_code, r.err_msg.as_str()),
            (Some(1_008_006), "token invalid")
        );
        assert_eq!(Reply::read(b"<html>").ret_code, None);
    }

    #[test]
    fn config_names_keys_and_hides_the_secret() {
        let e = TpnsConfig::from_section(&TpnsSection::default()).unwrap_err();
        assert_eq!(e.key, "tpns.access_id");
        let section = TpnsSection {
            access_id: Some("1500000001".into()),
            ..TpnsSection::default()
        };
        let e = TpnsConfig::from_section(&section).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tpns.secret_key: missing (better given as TIDINGS_TPNS_SECRET_KEY)"
        );
        let section = TpnsSection {
            secret_key: Some("s3cr3t-value".into()),
            ..section
        };
        let config = TpnsConfig::from_section(&section).unwrap();
        assert_eq!(endpoint_url(&config.endpoint), GUANGZHOU_URL);
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let e = TpnsConfig::from_section(&TpnsSection {
            endpoint: Some("beijing".into()),
            ..section
        })
        .unwrap_err();
        assert_eq!(e.key, "tpns.endpoint");
        assert!(!e.to_string().contains("s3cr3t"));
    }
}
