//! Honor Push (vendors.md §4): OAuth 2.0 client credentials at Honor's IAM,
//! then `POST /api/v1/<appId>/sendMessage` with `Authorization: Bearer
//! <token>`, a `timestamp` header (epoch milliseconds, §4.1) and the core's
//! body as it is; the answer → [`Outcome`] table is [`RESPONSES`].
//!
//! The client is Huawei's kit ([`crate::huawei::Client`]); this module holds
//! Honor's differences as data ([`Honor`]'s [`Flavor`]). The access token
//! is cached as Huawei's (same fetch, [`crate::token::client_credentials`]):
//! refreshed [`TOKEN_REFRESH_BEFORE`] ahead of `expires_in`, dropped on an
//! auth refusal, after which the push is sent ONCE more with a fresh token.
//!
//! Honor's code table is unconfirmed (vendors.md §4.3). Decisions:
//! - The answer is `{"code", "message", "data": {"sendResult",
//!   "requestId", "failTokens", "expireTokens"}}` (§4.3). Success is `code`
//!   200 (Honor's published example) or 80000000 (Huawei's, which Honor's
//!   API was split from); either way `data.expireTokens` is read: those
//!   tokens are [`Delivery::invalid_tokens`], and when every token of the
//!   request is expired the outcome is [`Outcome::TokenInvalid`].
//!   Tokens only in `failTokens` (failed, not expired) with nothing sent
//!   (`sendResult` false) are [`Outcome::Rejected`] (`SendFailed`): the
//!   provisional policy makes everything unknown permanent (§4.3).
//! - The other rows are Huawei's codes (§3.4) that Honor's error list is
//!   reported to share; each is marked in [`RESPONSES`]. A code not in the
//!   table falls back by HTTP status: 401 refresh once (§4.3 "auth
//!   failures → refresh once"), 403 the sender refused, 429/503 flow
//!   backoff, 5xx backoff (§4.3), anything else rejected and logged.
//! - Refused credentials ([`Outcome::CredentialsRefused`]) as for Huawei:
//!   80200001 / 80200003 (or a bare 401) again right after a fresh token,
//!   80300002 and a bare 403 at once, and the IAM token endpoint's 4xx
//!   (`invalid_client`, `invalid_grant`, `unauthorized_client`, …:
//!   reason `OAuth2:<error>`).
//! - The `timestamp` header is the client's clock in milliseconds (§4.1,
//!   §10.7), sent with every request, resends included.
//! - `Delivered.id` is `data.requestId` (the push's UUID when absent).

use tidings_std::config::HonorSection;

pub use crate::huawei::{Action, Answer, Flavor, OAuthConfig as HonorConfig, Vendor};
pub use crate::huawei::{FLOW_BACKOFF, SERVER_BACKOFF, TOKEN_REFRESH_BEFORE};
#[cfg(doc)]
use crate::{Delivery, Outcome};

/// Push host (vendors.md §4.1).
pub const PRODUCTION_URL: &str = "https://push-api.cloud.hihonor.com";
/// OAuth token endpoint (vendors.md §4.1: the OpenID Connect path Honor's
/// guide gives; a third-party client's `/auth/token` is unconfirmed).
pub const TOKEN_URL: &str =
    "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token";
/// The `timestamp` header (vendors.md §4.1).
pub const TIMESTAMP_HEADER: &str = "timestamp";

/// Honor.
#[derive(Debug)]
pub struct Honor;

impl Vendor for Honor {
    const FLAVOR: Flavor = Flavor {
        channel: "honor",
        production_url: PRODUCTION_URL,
        token_url: TOKEN_URL,
        send_path: ("/api/v1/", "/sendMessage"),
        // vendors.md §4.1 names the charset.
        content_type: "application/json; charset=UTF-8",
        timestamp_header: Some(TIMESTAMP_HEADER),
        // Honor's client id differs from the app id (§4.1).
        client_id_is_app_id: false,
        responses: RESPONSES,
        huawei_codes: HUAWEI_CODES,
        read: read_answer,
        body_tokens,
        dead_reason: Some("expireTokens"),
    };
}

crate::huawei::oauth_section!(HonorSection, Honor);

/// A Honor client: one per app, shared by all sends.
pub type HonorClient = crate::huawei::Client<Honor>;

/// The device tokens a rendered body addresses (top-level `token`, §4.2).
pub fn body_tokens(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        token: Option<Vec<String>>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.token)
        .unwrap_or_default()
}

/// Reads `{"code": <int>, "message": "...", "data": {"sendResult",
/// "requestId", "failTokens", "expireTokens"}}` (vendors.md §4.3).
pub fn read_answer(body: &[u8]) -> Answer {
    #[derive(serde::Deserialize)]
    struct Body {
        code: Option<serde_json::Value>,
        message: Option<String>,
        data: Option<Data>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        send_result: Option<bool>,
        request_id: Option<String>,
        fail_tokens: Option<Vec<String>>,
        expire_tokens: Option<Vec<String>>,
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return Answer::default();
    };
    let data = b.data.unwrap_or_default();
    Answer {
        code: crate::huawei::code_text(b.code),
        message: b.message.unwrap_or_default(),
        request_id: data.request_id,
        dead_tokens: data.expire_tokens.unwrap_or_default(),
        failed_tokens: data.fail_tokens.unwrap_or_default(),
        send_result: data.send_result,
    }
}

/// Honor's own result code → action: 200, its published example.
pub const RESPONSES: &[(&str, Action)] = &[("200", Action::Deliver)];

/// Huawei's §3.4 codes Honor is assumed to answer too, with Huawei's
/// actions (§4.3 unconfirmed; see the module doc). Not 80100002, 80100013,
/// 80100016, 80100018 nor 80300011: Honor's error list is not known to
/// have them.
pub const HUAWEI_CODES: &[&str] = &[
    "80000000", "80100000", "80100001", "80100003", "80100004", "80100017", "80200001", "80200003",
    "80300002", "80300007", "80300008", "80300010", "80600003", "81000001",
];

/// The table's row, or by HTTP status for a code not in it (see the
/// module doc).
pub fn action_for(status: u16, code: &str) -> Action {
    crate::huawei::action_in(&Honor::FLAVOR, status, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        crate::kit::answer::assert_table(RESPONSES, |code| action_for(200, code));
        assert_eq!(RESPONSES.len() + HUAWEI_CODES.len(), 15);
        for code in HUAWEI_CODES {
            assert_eq!(action_for(200, code), crate::huawei::action_for(200, code));
        }
        assert_eq!(action_for(200, "200"), Action::Deliver);
        // Huawei codes Honor is not known to answer fall back as unknown
        // ones do, by Huawei's own fallback.
        assert_eq!(action_for(200, "80100002"), Action::Reject);
        assert_eq!(action_for(503, "80100013"), Action::FlowControl);
        for &(status, code, action) in crate::huawei::FALLBACKS {
            assert_eq!(action_for(status, code), action, "{status} {code:?}");
        }
    }

    #[test]
    fn reads_the_answer_and_the_body_tokens() {
        let r = read_answer(
            br#"{"code":200,"message":"success","data":{"sendResult":false,"requestId":"r1","failTokens":["f"],"expireTokens":["e"]}}"#,
        );
        assert_eq!(r.code, "200");
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        assert_eq!(r.send_result, Some(false));
        assert_eq!(
            (r.failed_tokens, r.dead_tokens),
            (vec!["f".to_owned()], vec!["e".to_owned()])
        );
        assert_eq!(read_answer(b"").code, "");
        assert_eq!(body_tokens(br#"{"android":{},"token":["t1"]}"#), ["t1"]);
    }

    #[test]
    fn config_names_the_key_and_hides_the_secret() {
        let section = HonorSection {
            app_id: Some("104400001".into()),
            client_id: Some("client-1".into()),
            client_secret: Some("s3cret-value".into()),
            ..HonorSection::default()
        };
        let config = HonorConfig::from_section(&section).unwrap();
        assert_eq!(config.endpoint, PRODUCTION_URL);
        assert!(!format!("{config:?}").contains("s3cret-value"));
        crate::kit::config::assert_refusals(
            HonorConfig::from_section,
            vec![
                // The kit refuses a clear URL for Honor as for Huawei.
                (
                    HonorSection {
                        token_endpoint: Some("http://iam.developer.hihonor.com/token".into()),
                        ..section.clone()
                    },
                    "honor.token_endpoint",
                    "https://",
                ),
                (
                    HonorSection {
                        client_id: None,
                        ..section
                    },
                    "honor.client_id",
                    "missing",
                ),
            ],
        );
    }
}
