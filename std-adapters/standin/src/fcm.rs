//! The FCM stand-in: Google's OAuth2 token endpoint and FCM HTTP v1
//! `messages:send` (`spec/vendors.md` §2) on one loopback HTTPS server
//! (HTTP/1.1 and HTTP/2).
//!
//! # Token endpoint (`POST /token`, §2.1)
//!
//! A form body with `grant_type` = `urn:ietf:params:oauth:grant-type:jwt-bearer`
//! (else 400 `unsupported_grant_type`) and `assertion` (else 400
//! `invalid_request`). The assertion must be an RS256 JWT whose signature
//! verifies with the registered service account's public key, with a `kid`
//! (if any) equal to its `private_key_id` (else 400 `invalid_grant` "Invalid
//! JWT Signature."); `iss` the account's `client_email` (else 400
//! `invalid_grant` "account not found"); `aud` this endpoint's URL (else
//! 400 `invalid_grant`, failed audience check); `iat` at most
//! [`CLOCK_SKEW_SECS`] ahead of the stand-in's clock, `exp` after now and
//! after `iat`, `exp - iat` ≤ [`ASSERTION_MAX_LIFETIME_SECS`] (else 400
//! `invalid_grant`, "short-lived token"); `scope` naming
//! `firebase.messaging` or `cloud-platform` (else 400 `invalid_scope`). It
//! answers `{"access_token":"ya29.…","expires_in":3599,"token_type":"Bearer"}`
//! (Google's shape; the token is random and lives
//! [`ACCESS_TOKEN_LIFETIME_SECS`] by the stand-in's clock).
//!
//! # Send (`POST /v1/projects/<project>/messages:send`, §2.1-§2.5)
//!
//! Checked in this order, first failure answered as Google's
//! `google.rpc.Status` JSON (`{"error":{"code","message","status","details"}}`):
//!
//! 1. Another path: 404 `NOT_FOUND`.
//! 2. `Authorization: Bearer <token>` issued here and not expired (nor
//!    expired on purpose by [`FcmStandin::expire_access_tokens`]): else 401
//!    `UNAUTHENTICATED` (no FCM detail, as Google answers).
//! 3. The project is the registered one: else 403 `PERMISSION_DENIED`.
//! 4. `Content-Type` is JSON, the body at most [`MAX_BODY`] bytes (§2.3:
//!    the whole request counted, the strictest reading) and a JSON object
//!    holding `message` (and optionally `validate_only`): else 400
//!    `INVALID_ARGUMENT` with a `BadRequest` field violation.
//! 5. `message`: only known fields; exactly one of `token` / `topic` /
//!    `condition`; `notification` title/body/image strings; `data` (and
//!    `android.data`) values strings, keys not `from`, `message_type`,
//!    `google*`, `gcm*`; `android.priority` `NORMAL`/`HIGH`; `android.ttl` a
//!    duration string `<s>[.<frac>]s` within 0…2,419,200 s (§2.2, §2.5):
//!    else 400 `INVALID_ARGUMENT` naming the field.
//!
//! Then the device token's script, if any, is answered (not recorded);
//! otherwise a `validate_only` push is answered
//! `projects/<p>/messages/fake_message_id` (not recorded) and any other is
//! recorded and answered `{"name":"projects/<p>/messages/0:<id>"}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use ring::signature::{KeyPair as _, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde_json::{json, Value};
use tidings_std::clock::SharedClock;

use crate::error::Error;
use crate::kit::form::pairs;
use crate::kit::record::Accepts;
use crate::kit::shell::{Base, Builder, Standin, TokenVendor, Vendor};
use crate::kit::token::TokenEndpoint;
pub use crate::kit::TokenFault;
use crate::kit::{lock, Scripts};

// ---------------------------------------------------------------------------
// Limits and wire constants (spec/vendors.md §2)
// ---------------------------------------------------------------------------

/// The token endpoint's path on the stand-in.
pub const TOKEN_PATH: &str = "/token";
/// The send path is `/v1/projects/<project>/messages:send` (§2.1).
pub const SEND_PREFIX: &str = "/v1/projects/";
pub const SEND_SUFFIX: &str = "/messages:send";
/// The JWT-bearer grant (§2.1 step 4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Scopes that allow sending (§2.1).
pub const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// The longest `exp - iat` an assertion may ask for (§2.1, §2.5).
pub const ASSERTION_MAX_LIFETIME_SECS: i64 = 3600;
/// How far ahead of the stand-in's clock an assertion's `iat` may be.
/// Google documents no bound; five minutes tolerates real clock skew.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// `expires_in` of an access token: what Google answers (§2.1 step 5, ≈3600).
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3599;
/// Largest body accepted, bytes (§2.3, §2.5: 4096 for a token target).
pub const MAX_BODY: usize = 4096;
/// Longest `android.ttl`, seconds (§2.2, §2.5).
pub const MAX_TTL_SECS: u64 = 2_419_200;

/// The throwaway RSA key of the stand-in's generated service account
/// (`testdata/README.md`: a test key, not a secret).
pub const TEST_KEY_PEM: &str = include_str!("../testdata/fcm-test-key-1.pem");
/// A second throwaway RSA key: a "wrong key" for tests.
pub const OTHER_TEST_KEY_PEM: &str = include_str!("../testdata/fcm-test-key-2.pem");

const MESSAGE_FIELDS: [&str; 11] = [
    "name",
    "token",
    "topic",
    "condition",
    "notification",
    "data",
    "android",
    "apns",
    "webpush",
    "fcm_options",
    "fcmOptions",
];
const NOTIFICATION_FIELDS: [&str; 3] = ["title", "body", "image"];
const ANDROID_FIELDS: [&str; 10] = [
    "collapse_key",
    "priority",
    "ttl",
    "restricted_package_name",
    "data",
    "notification",
    "fcm_options",
    "direct_boot_ok",
    "bandwidth_constrained_ok",
    "restricted_satellite_ok",
];
const ANDROID_NOTIFICATION_FIELDS: [&str; 27] = [
    "title",
    "body",
    "icon",
    "color",
    "sound",
    "tag",
    "click_action",
    "body_loc_key",
    "body_loc_args",
    "title_loc_key",
    "title_loc_args",
    "channel_id",
    "ticker",
    "sticky",
    "event_time",
    "local_only",
    "notification_priority",
    "default_sound",
    "default_vibrate_timings",
    "default_light_settings",
    "vibrate_timings",
    "visibility",
    "light_settings",
    "image",
    "notification_count",
    "proxy",
    "bypass_proxy_notification",
];

// ---------------------------------------------------------------------------
// Test service accounts
// ---------------------------------------------------------------------------

/// A service account as Google issues its key file. `Debug` leaves the key
/// out.
#[derive(Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key_id: String,
    /// PKCS#8 PEM, RSA.
    pub private_key_pem: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// A test account for `project_id` with the checked-in [`TEST_KEY_PEM`].
    pub fn test(project_id: &str) -> Self {
        Self::with_key(project_id, TEST_KEY_PEM)
    }

    /// A test account for `project_id` signing with `private_key_pem`.
    pub fn with_key(project_id: &str, private_key_pem: &str) -> Self {
        Self {
            project_id: project_id.to_owned(),
            client_email: format!("tidings-standin@{project_id}.iam.gserviceaccount.com"),
            private_key_id: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            private_key_pem: private_key_pem.to_owned(),
        }
    }

    /// The key file's JSON, naming `token_uri`.
    pub fn key_file_json(&self, token_uri: &str) -> String {
        let json = json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        });
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// The public half (DER `RSAPublicKey`).
    pub fn public_key(&self) -> Result<Vec<u8>, Error> {
        public_key_from_pem(&self.private_key_pem)
    }
}

/// The public half (DER `RSAPublicKey`) of a PKCS#8 PEM RSA key.
pub fn public_key_from_pem(pem: &str) -> Result<Vec<u8>, Error> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| Error::Key("not a PKCS#8 PEM private key".into()))?;
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| Error::Key(format!("not an RSA key: {e}")))?;
    Ok(pair.public_key().as_ref().to_vec())
}

// ---------------------------------------------------------------------------
// Replies (§2.4)
// ---------------------------------------------------------------------------

/// One of Google's answers to a send. Validation failures are `Reply`
/// values too; tests script any of them per device token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 404 `NOT_FOUND`, errorCode `UNREGISTERED`.
    Unregistered,
    /// 400 `INVALID_ARGUMENT`, errorCode `INVALID_ARGUMENT`, "The
    /// registration token is not a valid FCM registration token".
    InvalidToken,
    /// 400 `INVALID_ARGUMENT` with a `BadRequest` violation on `field`.
    InvalidArgument { field: String, description: String },
    /// 403 `PERMISSION_DENIED`, errorCode `SENDER_ID_MISMATCH`.
    SenderIdMismatch,
    /// 429 `RESOURCE_EXHAUSTED`, errorCode `QUOTA_EXCEEDED`; `retry_after`
    /// adds a `Retry-After: <seconds>` header.
    QuotaExceeded { retry_after: Option<u32> },
    /// 503 `UNAVAILABLE`, errorCode `UNAVAILABLE`.
    Unavailable { retry_after: Option<u32> },
    /// 500 `INTERNAL`, errorCode `INTERNAL`.
    Internal,
    /// 401 `UNAUTHENTICATED`, errorCode `THIRD_PARTY_AUTH_ERROR`.
    ThirdPartyAuthError,
    /// 401 `UNAUTHENTICATED`, no FCM detail: the access token is refused.
    Unauthenticated,
    /// 403 `PERMISSION_DENIED`, no FCM detail (another project).
    PermissionDenied,
    /// 404 `NOT_FOUND`, no FCM detail (another path).
    NotFound,
    /// Any status, canonical status and optional FCM errorCode.
    Other {
        status: u16,
        canonical: String,
        error_code: Option<String>,
    },
}

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::Unregistered | Reply::NotFound => 404,
            Reply::InvalidToken | Reply::InvalidArgument { .. } => 400,
            Reply::SenderIdMismatch | Reply::PermissionDenied => 403,
            Reply::QuotaExceeded { .. } => 429,
            Reply::Unavailable { .. } => 503,
            Reply::Internal => 500,
            Reply::ThirdPartyAuthError | Reply::Unauthenticated => 401,
            Reply::Other { status, .. } => *status,
        }
    }

    /// `error.status`.
    pub fn canonical(&self) -> &str {
        match self {
            Reply::Unregistered | Reply::NotFound => "NOT_FOUND",
            Reply::InvalidToken | Reply::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Reply::SenderIdMismatch | Reply::PermissionDenied => "PERMISSION_DENIED",
            Reply::QuotaExceeded { .. } => "RESOURCE_EXHAUSTED",
            Reply::Unavailable { .. } => "UNAVAILABLE",
            Reply::Internal => "INTERNAL",
            Reply::ThirdPartyAuthError | Reply::Unauthenticated => "UNAUTHENTICATED",
            Reply::Other { canonical, .. } => canonical,
        }
    }

    /// The `FcmError` detail's `errorCode`, if the answer has one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Reply::Unregistered => Some("UNREGISTERED"),
            Reply::InvalidToken | Reply::InvalidArgument { .. } => Some("INVALID_ARGUMENT"),
            Reply::SenderIdMismatch => Some("SENDER_ID_MISMATCH"),
            Reply::QuotaExceeded { .. } => Some("QUOTA_EXCEEDED"),
            Reply::Unavailable { .. } => Some("UNAVAILABLE"),
            Reply::Internal => Some("INTERNAL"),
            Reply::ThirdPartyAuthError => Some("THIRD_PARTY_AUTH_ERROR"),
            Reply::Unauthenticated | Reply::PermissionDenied | Reply::NotFound => None,
            Reply::Other { error_code, .. } => error_code.as_deref(),
        }
    }

    fn message(&self) -> &str {
        match self {
            Reply::Unregistered | Reply::NotFound => "Requested entity was not found.",
            Reply::InvalidToken => "The registration token is not a valid FCM registration token",
            Reply::InvalidArgument { .. } => "Request contains an invalid argument.",
            Reply::SenderIdMismatch => "SenderId mismatch",
            Reply::QuotaExceeded { .. } => "Quota exceeded for quota metric 'Messages' of service 'fcm.googleapis.com'.",
            Reply::Unavailable { .. } => "The service is currently unavailable.",
            Reply::Internal => "Internal error encountered.",
            Reply::ThirdPartyAuthError => "Auth error from APNS or Web Push Service",
            Reply::Unauthenticated => "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            Reply::PermissionDenied => "Permission 'cloudmessaging.messages.create' denied on resource (or it may not exist).",
            Reply::Other { .. } => "Stand-in scripted error.",
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            Reply::QuotaExceeded { retry_after } | Reply::Unavailable { retry_after } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The exact body: `{"error":{"code","message","status","details"?}}`.
    pub fn body(&self) -> String {
        let mut details = Vec::new();
        if let Some(code) = self.error_code() {
            details.push(json!({
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": code,
            }));
        }
        if let Reply::InvalidArgument { field, description } = self {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{ "field": field, "description": description }],
            }));
        }
        let mut error = json!({
            "code": self.status(),
            "message": self.message(),
            "status": self.canonical(),
        });
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        json!({ "error": error }).to_string()
    }

    /// The reply for an FCM code as `tidings standin fcm --reply TOKEN=CODE`
    /// takes it: an `errorCode` (`UNREGISTERED`, `INVALID_ARGUMENT` — the
    /// token form —, `SENDER_ID_MISMATCH`, `QUOTA_EXCEEDED`, `UNAVAILABLE`,
    /// `INTERNAL`, `THIRD_PARTY_AUTH_ERROR`) or a canonical status without
    /// detail (`UNAUTHENTICATED`, `PERMISSION_DENIED`, `NOT_FOUND`).
    pub fn from_code(code: &str) -> Option<Reply> {
        Some(match code {
            "UNREGISTERED" => Reply::Unregistered,
            "INVALID_ARGUMENT" => Reply::InvalidToken,
            "SENDER_ID_MISMATCH" => Reply::SenderIdMismatch,
            "QUOTA_EXCEEDED" => Reply::QuotaExceeded { retry_after: None },
            "UNAVAILABLE" => Reply::Unavailable { retry_after: None },
            "INTERNAL" => Reply::Internal,
            "THIRD_PARTY_AUTH_ERROR" => Reply::ThirdPartyAuthError,
            "UNAUTHENTICATED" => Reply::Unauthenticated,
            "PERMISSION_DENIED" => Reply::PermissionDenied,
            "NOT_FOUND" => Reply::NotFound,
            _ => return None,
        })
    }

    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(
                http::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )],
            self.body(),
        )
            .into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

/// A refusal from the token endpoint: 400 (or 401) and
/// `{"error","error_description"}`, as Google answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRefusal {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl TokenRefusal {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: 400,
            error,
            description: description.into(),
        }
    }

    fn into_response(self) -> Response {
        (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            [(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )],
            json!({ "error": self.error, "error_description": self.description }).to_string(),
        )
            .into_response()
    }
}

// ---------------------------------------------------------------------------
// Records and statistics
// ---------------------------------------------------------------------------

/// One accepted push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedPush {
    pub project: String,
    /// `message.token`.
    pub token: String,
    /// The message name answered.
    pub name: String,
    /// The body exactly as received.
    pub body: Bytes,
}

impl AcceptedPush {
    pub fn payload(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted (token and send requests share them).
    pub connections: u64,
    /// Access tokens granted.
    pub token_grants: u64,
    /// Token requests refused.
    pub token_refusals: u64,
    /// Token requests received (granted, refused or faulted: see
    /// [`TokenFault`]).
    pub token_requests: u64,
    /// Send requests received.
    pub sends: u64,
    /// Send answers by HTTP status.
    pub answers: BTreeMap<u16, u64>,
}

impl Stats {
    pub fn answered(&self, status: u16) -> u64 {
        self.answers.get(&status).copied().unwrap_or(0)
    }
}

struct Issued {
    expires_at: i64,
    revoked: bool,
}

/// The running FCM stand-in's state.
pub struct Shared {
    account: ServiceAccount,
    project_id: String,
    client_email: String,
    private_key_id: String,
    public_key: Vec<u8>,
    token_url: OnceLock<String>,
    clock: SharedClock,
    access_token_lifetime: i64,
    scripts: Arc<Scripts<Reply>>,
    issued: Mutex<HashMap<String, Issued>>,
    accepted: Arc<Accepts<AcceptedPush>>,
    answers: Mutex<BTreeMap<u16, u64>>,
    token_grants: AtomicU64,
    token_refusals: AtomicU64,
    token_endpoint: TokenEndpoint,
    sends: AtomicU64,
    next_id: AtomicU64,
}

/// base64url, with or without padding.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

// ---------------------------------------------------------------------------
// The token endpoint
// ---------------------------------------------------------------------------

/// The token request's fields, read as the kit's lenient [`pairs`] (a
/// repeated name keeps its last value, as Google's endpoint is not
/// documented to refuse one).
fn form_fields(body: &[u8]) -> Option<HashMap<String, String>> {
    pairs(body).ok().map(|pairs| pairs.into_iter().collect())
}

impl Shared {
    fn grant(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenRefusal> {
        let form = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let fields = form
            .then(|| form_fields(body))
            .flatten()
            .ok_or_else(|| TokenRefusal::new("invalid_request", "Invalid request body."))?;
        match fields.get("grant_type").map(String::as_str) {
            Some(GRANT_TYPE) => {}
            Some(other) => {
                return Err(TokenRefusal::new(
                    "unsupported_grant_type",
                    format!("Invalid grant_type: {other}"),
                ))
            }
            None => {
                return Err(TokenRefusal::new(
                    "invalid_request",
                    "Missing required parameter: grant_type",
                ))
            }
        }
        let assertion = fields.get("assertion").ok_or_else(|| {
            TokenRefusal::new("invalid_request", "Missing required parameter: assertion")
        })?;
        self.check_assertion(assertion)?;
        let mut raw = [0u8; 48];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| TokenRefusal::new("internal_failure", "no randomness"))?;
        let token = format!("ya29.standin-{}", URL_SAFE_NO_PAD.encode(raw));
        lock(&self.issued).insert(
            token.clone(),
            Issued {
                expires_at: self
                    .clock
                    .unix_seconds()
                    .saturating_add(self.access_token_lifetime),
                revoked: false,
            },
        );
        Ok(json!({
            "access_token": token,
            "expires_in": self.access_token_lifetime,
            "token_type": "Bearer",
        }))
    }

    fn check_assertion(&self, jwt: &str) -> Result<(), TokenRefusal> {
        let bad_signature = || TokenRefusal::new("invalid_grant", "Invalid JWT Signature.");
        let mut parts = jwt.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad_signature());
        };
        let header: Value = B64URL
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(bad_signature)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(bad_signature());
        }
        if let Some(kid) = header.get("kid") {
            if kid.as_str() != Some(self.private_key_id.as_str()) {
                return Err(bad_signature());
            }
        }
        let signature = B64URL.decode(signature).map_err(|_| bad_signature())?;
        let signed = jwt
            .rfind('.')
            .and_then(|end| jwt.get(..end))
            .ok_or_else(bad_signature)?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| bad_signature())?;
        let claims: Value = B64URL
            .decode(claims)
            .ok()
            .and_then(|c| serde_json::from_slice(&c).ok())
            .ok_or_else(bad_signature)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(self.client_email.as_str()) {
            return Err(TokenRefusal::new(
                "invalid_grant",
                "Invalid grant: account not found",
            ));
        }
        let audience = self.token_url.get().map(String::as_str).unwrap_or_default();
        if text("aud") != Some(audience) {
            return Err(TokenRefusal::new(
                "invalid_grant",
                format!("Invalid JWT: Failed audience check. The right audience is {audience}"),
            ));
        }
        let timeframe = || {
            TokenRefusal::new(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        };
        let (Some(iat), Some(exp)) = (
            claims.get("iat").and_then(Value::as_i64),
            claims.get("exp").and_then(Value::as_i64),
        ) else {
            return Err(timeframe());
        };
        let now = self.clock.unix_seconds();
        if iat > now.saturating_add(CLOCK_SKEW_SECS)
            || exp <= now
            || exp <= iat
            || exp - iat > ASSERTION_MAX_LIFETIME_SECS
        {
            return Err(timeframe());
        }
        let scopes = text("scope").unwrap_or_default();
        if !scopes.split(' ').any(|s| SCOPES.contains(&s)) {
            return Err(TokenRefusal::new(
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.",
            ));
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // The send endpoint
    // -----------------------------------------------------------------------

    fn check_send(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<Checked, Reply> {
        let project = path
            .strip_prefix(SEND_PREFIX)
            .and_then(|p| p.strip_suffix(SEND_SUFFIX))
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .ok_or(Reply::NotFound)?;
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.get(..7)
                    .filter(|s| s.eq_ignore_ascii_case("bearer "))
                    .and(v.get(7..))
            })
            .ok_or(Reply::Unauthenticated)?;
        let now = self.clock.unix_seconds();
        let valid = lock(&self.issued)
            .get(token)
            .is_some_and(|t| !t.revoked && now < t.expires_at);
        if !valid {
            return Err(Reply::Unauthenticated);
        }
        if project != self.project_id {
            return Err(Reply::PermissionDenied);
        }
        let invalid = |field: &str, description: &str| Reply::InvalidArgument {
            field: field.to_owned(),
            description: description.to_owned(),
        };
        let json_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return Err(invalid("", "Content-Type must be application/json"));
        }
        if body.len() > MAX_BODY {
            return Err(invalid("message", "Message is too big"));
        }
        let request: Value = serde_json::from_slice(body)
            .map_err(|_| invalid("", "Invalid JSON payload received."))?;
        let request = request
            .as_object()
            .ok_or_else(|| invalid("", "Invalid JSON payload received."))?;
        if let Some(key) = request
            .keys()
            .find(|k| !["message", "validate_only", "validateOnly"].contains(&k.as_str()))
        {
            return Err(invalid(key, "Unknown name: Cannot find field."));
        }
        let validate_only = request
            .get("validate_only")
            .or_else(|| request.get("validateOnly"))
            .is_some_and(|v| v.as_bool() == Some(true));
        let message = request
            .get("message")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("message", "Required."))?;
        check_fields(message, &MESSAGE_FIELDS, "message")
            .map_err(|f| invalid(&f, "Unknown name: Cannot find field."))?;
        let targets = ["token", "topic", "condition"]
            .iter()
            .filter(|t| message.contains_key(**t))
            .count();
        if targets != 1 {
            return Err(invalid(
                "message",
                "Exactly one of token, topic or condition must be set.",
            ));
        }
        let device = match message.get("token") {
            None => String::new(),
            Some(Value::String(t)) if !t.is_empty() => t.clone(),
            Some(_) => return Err(Reply::InvalidToken),
        };
        if let Some(n) = message.get("notification") {
            let n = known_object(n, &NOTIFICATION_FIELDS, "message.notification")?;
            for (k, v) in n {
                if !v.is_string() {
                    return Err(invalid(
                        &format!("message.notification.{k}"),
                        "Invalid value.",
                    ));
                }
            }
        }
        check_data(message.get("data"), "message.data")
            .map_err(|f| invalid(&f, "Invalid data."))?;
        if let Some(android) = message.get("android") {
            let android = known_object(android, &ANDROID_FIELDS, "message.android")?;
            if let Some(p) = android.get("priority") {
                if !matches!(p.as_str(), Some("NORMAL" | "HIGH" | "normal" | "high")) {
                    return Err(invalid("message.android.priority", "Invalid value."));
                }
            }
            if let Some(ttl) = android.get("ttl") {
                if !ttl.as_str().is_some_and(ttl_ok) {
                    return Err(invalid(
                        "message.android.ttl",
                        "Invalid value: duration within 0 to 2419200 s.",
                    ));
                }
            }
            check_data(android.get("data"), "message.android.data")
                .map_err(|f| invalid(&f, "Invalid data."))?;
            if let Some(n) = android.get("notification") {
                let at = "message.android.notification";
                known_object(n, &ANDROID_NOTIFICATION_FIELDS, at)?;
            }
        }
        Ok(Checked {
            project: project.to_owned(),
            token: device,
            validate_only,
        })
    }

    fn take_script(&self, token: &str) -> Option<Reply> {
        self.scripts.take(token)
    }

    fn record(&self, push: AcceptedPush) {
        self.accepted.push(push, |push| {
            json!({
                "project": push.project,
                "token": push.token,
                "name": push.name,
                "payload": push.payload().unwrap_or(Value::Null),
            })
        });
    }

    fn send(&self, path: &str, headers: &HeaderMap, body: Bytes) -> Response {
        self.sends.fetch_add(1, Ordering::Relaxed);
        let answer = match self.check_send(path, headers, &body) {
            Err(reply) => Err(reply),
            Ok(checked) => match self.take_script(&checked.token) {
                Some(reply) => Err(reply),
                None => Ok(checked),
            },
        };
        let response = match answer {
            Err(reply) => reply.into_response(),
            Ok(checked) if checked.validate_only => Json(json!({
                "name": format!("projects/{}/messages/fake_message_id", checked.project)
            })),
            Ok(checked) => {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                let name = format!(
                    "projects/{}/messages/0:{}%{n:016x}",
                    checked.project,
                    self.clock.unix_seconds()
                );
                self.record(AcceptedPush {
                    project: checked.project,
                    token: checked.token,
                    name: name.clone(),
                    body,
                });
                Json(json!({ "name": name }))
            }
        };
        *lock(&self.answers)
            .entry(response.status().as_u16())
            .or_insert(0) += 1;
        response
    }
}

#[allow(non_snake_case)]
fn Json(value: Value) -> Response {
    (
        StatusCode::OK,
        [(
            http::header::CONTENT_TYPE,
            "application/json; charset=UTF-8",
        )],
        value.to_string(),
    )
        .into_response()
}

struct Checked {
    project: String,
    token: String,
    validate_only: bool,
}

/// `value` (at the path `at`) as an object whose keys are all `known`; else
/// FCM's `INVALID_ARGUMENT` naming `at`, or the unknown key's path.
fn known_object<'v>(
    value: &'v Value,
    known: &[&str],
    at: &str,
) -> Result<&'v serde_json::Map<String, Value>, Reply> {
    let invalid = |field: &str, description: &str| Reply::InvalidArgument {
        field: field.to_owned(),
        description: description.to_owned(),
    };
    let object = value
        .as_object()
        .ok_or_else(|| invalid(at, "Invalid value."))?;
    check_fields(object, known, at).map_err(|f| invalid(&f, "Unknown name: Cannot find field."))?;
    Ok(object)
}

/// The first key of `object` not in `known`, as a field path.
fn check_fields(
    object: &serde_json::Map<String, Value>,
    known: &[&str],
    at: &str,
) -> Result<(), String> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{at}.{k}")),
        None => Ok(()),
    }
}

/// `data` maps: string values; keys not reserved (§2.2).
fn check_data(data: Option<&Value>, at: &str) -> Result<(), String> {
    let Some(data) = data else { return Ok(()) };
    let data = data.as_object().ok_or_else(|| at.to_owned())?;
    for (k, v) in data {
        let reserved =
            k == "from" || k == "message_type" || k.starts_with("google") || k.starts_with("gcm");
        if reserved || !v.is_string() {
            return Err(format!("{at}.{k}"));
        }
    }
    Ok(())
}

/// `"<seconds>[.<1-9 digits>]s"` within 0…[`MAX_TTL_SECS`].
fn ttl_ok(ttl: &str) -> bool {
    let Some(number) = ttl.strip_suffix('s') else {
        return false;
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty()
        && digits(whole)
        && digits(fraction)
        && fraction.len() <= 9
        && (!number.contains('.') || !fraction.is_empty())
        && whole.parse::<u64>().is_ok_and(|s| s <= MAX_TTL_SECS)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if method == Method::POST && path == TOKEN_PATH {
        if let Some(fault) = shared.token_endpoint.fault().await {
            return fault;
        }
        return match shared.grant(&headers, &body) {
            Ok(granted) => {
                shared.token_grants.fetch_add(1, Ordering::Relaxed);
                Json(granted)
            }
            Err(refusal) => {
                shared.token_refusals.fetch_add(1, Ordering::Relaxed);
                refusal.into_response()
            }
        };
    }
    if method != Method::POST {
        return Reply::NotFound.into_response();
    }
    shared.send(path, &headers, body)
}

// ---------------------------------------------------------------------------
// The builder and the running stand-in
// ---------------------------------------------------------------------------

/// A running FCM stand-in.
pub type FcmStandin = Standin<Fcm>;
/// Configures an FCM stand-in; [`Builder::start`] runs it.
pub type FcmStandinBuilder = Builder<Fcm>;

/// The FCM stand-in's settings: the service account whose assertions are
/// accepted (default: [`ServiceAccount::test`]`("tidings-standin")`) and
/// the access tokens' `expires_in`.
#[derive(Debug)]
pub struct Fcm {
    account: ServiceAccount,
    access_token_lifetime: i64,
}

impl Builder<Fcm> {
    /// The service account whose assertions are accepted, and its project
    /// (default: [`ServiceAccount::test`]`("tidings-standin")`).
    pub fn account(mut self, account: ServiceAccount) -> Self {
        self.vendor.account = account;
        self
    }

    /// `expires_in` of the access tokens granted (default
    /// [`ACCESS_TOKEN_LIFETIME_SECS`]).
    pub fn access_token_lifetime(mut self, seconds: i64) -> Self {
        self.vendor.access_token_lifetime = seconds;
        self
    }
}

impl Standin<Fcm> {
    pub fn account(&self) -> &ServiceAccount {
        &self.state().account
    }

    /// The registered account's key file, naming this stand-in's token URL.
    pub fn key_file_json(&self) -> String {
        self.account().key_file_json(&self.token_url())
    }

    /// [`Standin::expire_tokens`] under FCM's name for its tokens.
    pub fn expire_access_tokens(&self) {
        self.expire_tokens();
    }
}

impl Vendor for Fcm {
    type Reply = Reply;
    type State = Shared;
    type Accepted = AcceptedPush;
    type Stats = Stats;
    const NAME: &'static str = "FCM";

    fn defaults() -> Self {
        Self {
            account: ServiceAccount::test("tidings-standin"),
            access_token_lifetime: ACCESS_TOKEN_LIFETIME_SECS,
        }
    }

    fn start(self, base: Base<Self>) -> Result<(Arc<Shared>, axum::Router), Error> {
        let shared = Arc::new(Shared {
            public_key: self.account.public_key()?,
            project_id: self.account.project_id.clone(),
            client_email: self.account.client_email.clone(),
            private_key_id: self.account.private_key_id.clone(),
            account: self.account,
            token_url: OnceLock::new(),
            access_token_lifetime: self.access_token_lifetime,
            accepted: base.accepted,
            clock: base.clock,
            scripts: base.scripts,
            issued: Mutex::new(HashMap::new()),
            answers: Mutex::new(BTreeMap::new()),
            token_grants: AtomicU64::new(0),
            token_refusals: AtomicU64::new(0),
            token_endpoint: TokenEndpoint::default(),
            sends: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        Ok((shared, router))
    }

    fn started(state: &Shared, url: &str) {
        let _ = state.token_url.set(format!("{url}{TOKEN_PATH}"));
    }

    fn stats(s: &Shared, connections: u64) -> Stats {
        Stats {
            connections,
            token_grants: s.token_grants.load(Ordering::Relaxed),
            token_refusals: s.token_refusals.load(Ordering::Relaxed),
            token_requests: s.token_endpoint.requests(),
            sends: s.sends.load(Ordering::Relaxed),
            answers: lock(&s.answers).clone(),
        }
    }
}

impl TokenVendor for Fcm {
    const TOKEN_PATH: &'static str = TOKEN_PATH;

    fn token_endpoint(state: &Shared) -> &TokenEndpoint {
        &state.token_endpoint
    }

    /// Every access token granted so far is expired from now on: the next
    /// send with one is answered 401 `UNAUTHENTICATED`.
    fn expire_tokens(state: &Shared) {
        for issued in lock(&state.issued).values_mut() {
            issued.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_bodies_are_google_rpc_status() {
        let body: Value = serde_json::from_str(&Reply::Unregistered.body()).unwrap();
        assert_eq!(body["error"]["code"], 404);
        assert_eq!(body["error"]["status"], "NOT_FOUND");
        assert_eq!(body["error"]["details"][0]["errorCode"], "UNREGISTERED");
        let body: Value = serde_json::from_str(&Reply::Unauthenticated.body()).unwrap();
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
        assert!(body["error"].get("details").is_none());
        let body: Value = serde_json::from_str(
            &Reply::InvalidArgument {
                field: "message.android.ttl".into(),
                description: "bad".into(),
            }
            .body(),
        )
        .unwrap();
        assert_eq!(
            body["error"]["details"][1]["fieldViolations"][0]["field"],
            "message.android.ttl"
        );
    }

    #[test]
    fn from_code_knows_every_documented_code() {
        for (code, status) in [
            ("UNREGISTERED", 404),
            ("INVALID_ARGUMENT", 400),
            ("SENDER_ID_MISMATCH", 403),
            ("QUOTA_EXCEEDED", 429),
            ("UNAVAILABLE", 503),
            ("INTERNAL", 500),
            ("THIRD_PARTY_AUTH_ERROR", 401),
            ("UNAUTHENTICATED", 401),
            ("PERMISSION_DENIED", 403),
            ("NOT_FOUND", 404),
        ] {
            let reply = Reply::from_code(code).unwrap();
            assert_eq!(reply.status(), status, "{code}");
            assert!(reply.error_code() == Some(code) || reply.canonical() == code);
        }
        assert_eq!(Reply::from_code("TEAPOT"), None);
    }

    #[test]
    fn ttl_shapes() {
        for ok in ["0s", "3600s", "3.5s", "2419200s", "1.123456789s"] {
            assert!(ttl_ok(ok), "{ok}");
        }
        for bad in [
            "3600",
            "2419201s",
            "-1s",
            "1.s",
            "1.1234567890s",
            "s",
            "1e3s",
        ] {
            assert!(!ttl_ok(bad), "{bad}");
        }
    }

    #[test]
    fn form_decoding() {
        let fields =
            form_fields(b"grant_type=urn%3Aietf%3Aparams&assertion=a.b-c_d&x=a+b").unwrap();
        assert_eq!(fields["grant_type"], "urn:ietf:params");
        assert_eq!(fields["assertion"], "a.b-c_d");
        assert_eq!(fields["x"], "a b");
        assert!(form_fields(b"a=%zz").is_none());
        // A repeated name keeps its last value, as it always did here.
        assert_eq!(form_fields(b"a=1&a=2").unwrap()["a"], "2");
    }

    /// The state a started stand-in has, on a clock at `now`.
    fn shared_at(now: i64) -> Arc<Shared> {
        let clock = tidings_std::clock::ManualClock::at(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap()),
        );
        let base = Base {
            clock: Arc::new(clock),
            scripts: Arc::default(),
            accepted: Arc::default(),
        };
        let vendor = Fcm {
            account: ServiceAccount::test("p"),
            access_token_lifetime: ACCESS_TOKEN_LIFETIME_SECS,
        };
        let (shared, _routes) = vendor.start(base).unwrap();
        Fcm::started(&shared, "https://127.0.0.1:1");
        shared
    }

    fn jwt(pem: &str, header: &Value, claims: &Value) -> String {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut sig = std::vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            out.as_bytes(),
            &mut sig,
        )
        .unwrap();
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(sig));
        out
    }

    #[test]
    fn the_token_endpoint_checks_every_claim() {
        let now = 1_795_236_000;
        let s = shared_at(now);
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": s.private_key_id});
        let good = json!({
            "iss": s.client_email, "scope": SCOPES[0],
            "aud": "https://127.0.0.1:1/token", "iat": now, "exp": now + 3600,
        });
        let check = |header: &Value, claims: &Value, pem: &str| {
            s.check_assertion(&jwt(pem, header, claims))
                .map_err(|r| (r.error, r.description))
        };
        assert_eq!(check(&header, &good, TEST_KEY_PEM), Ok(()));
        let with = |key: &str, value: Value| {
            let mut c = good.clone();
            c[key] = value;
            c
        };
        let refused = |r: Result<(), (&'static str, String)>| r.unwrap_err().0;
        assert_eq!(
            refused(check(&header, &good, OTHER_TEST_KEY_PEM)),
            "invalid_grant"
        );
        let other_kid = json!({"alg": "RS256", "kid": "other"});
        assert_eq!(
            refused(check(&other_kid, &good, TEST_KEY_PEM)),
            "invalid_grant"
        );
        let hs256 = json!({"alg": "HS256"});
        assert_eq!(refused(check(&hs256, &good, TEST_KEY_PEM)), "invalid_grant");
        let e = check(&header, &with("iss", json!("x@y")), TEST_KEY_PEM).unwrap_err();
        assert_eq!(
            e,
            (
                "invalid_grant",
                "Invalid grant: account not found".to_owned()
            )
        );
        let e = check(
            &header,
            &with("aud", json!("https://oauth2.googleapis.com/token")),
            TEST_KEY_PEM,
        )
        .unwrap_err();
        assert!(e.1.contains("audience"), "{e:?}");
        let e = check(&header, &with("exp", json!(now + 3601)), TEST_KEY_PEM).unwrap_err();
        assert!(e.1.contains("short-lived"), "{e:?}");
        let e = check(
            &header,
            &with("iat", json!(now + CLOCK_SKEW_SECS + 1)),
            TEST_KEY_PEM,
        )
        .unwrap_err();
        assert!(e.1.contains("short-lived"), "{e:?}");
        let expired = with("iat", json!(now - 3600));
        let expired = {
            let mut c = expired;
            c["exp"] = json!(now);
            c
        };
        assert!(check(&header, &expired, TEST_KEY_PEM)
            .unwrap_err()
            .1
            .contains("short-lived"));
        let e = check(
            &header,
            &with(
                "scope",
                json!("https://www.googleapis.com/auth/userinfo.email"),
            ),
            TEST_KEY_PEM,
        )
        .unwrap_err();
        assert_eq!(e.0, "invalid_scope");
        assert_eq!(
            check(&header, &with("scope", json!(SCOPES[1])), TEST_KEY_PEM),
            Ok(())
        );
        // A tampered claim set no longer matches its signature.
        let token = jwt(TEST_KEY_PEM, &header, &good);
        let mut parts: std::vec::Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(with("iss", json!("x@y")).to_string());
        parts[1] = &forged;
        assert_eq!(
            s.check_assertion(&parts.join(".")).unwrap_err().error,
            "invalid_grant"
        );
    }

    #[test]
    fn sends_need_a_live_token_the_project_and_a_well_formed_message() {
        let s = shared_at(1_795_236_000);
        lock(&s.issued).insert(
            "ya29.live".into(),
            Issued {
                expires_at: 1_795_236_000 + 10,
                revoked: false,
            },
        );
        lock(&s.issued).insert(
            "ya29.old".into(),
            Issued {
                expires_at: 1_795_236_000,
                revoked: false,
            },
        );
        let headers = |token: &str| {
            let mut h = HeaderMap::new();
            h.insert("authorization", format!("Bearer {token}").parse().unwrap());
            h.insert(
                "content-type",
                "application/json; charset=UTF-8".parse().unwrap(),
            );
            h
        };
        let path = "/v1/projects/p/messages:send";
        let ok = br#"{"message":{"token":"t","notification":{"title":"a","body":"b"},"android":{"priority":"HIGH","ttl":"3600s","notification":{"tag":"x"}},"data":{"ext":"{}"}}}"#;
        let check = |path: &str, token: &str, body: &[u8]| {
            s.check_send(path, &headers(token), body).map(|c| c.token)
        };
        assert_eq!(check(path, "ya29.live", ok), Ok("t".to_owned()));
        assert_eq!(check(path, "ya29.old", ok), Err(Reply::Unauthenticated));
        assert_eq!(check(path, "ya29.unknown", ok), Err(Reply::Unauthenticated));
        assert_eq!(
            check("/v1/projects/q/messages:send", "ya29.live", ok),
            Err(Reply::PermissionDenied)
        );
        assert_eq!(
            check("/v1/messages:send", "ya29.live", ok),
            Err(Reply::NotFound)
        );
        let field = |body: &str| match check(path, "ya29.live", body.as_bytes()) {
            Err(Reply::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(r#"{"message":{"token":"t","bogus":1}}"#),
            "message.bogus"
        );
        assert_eq!(field(r#"{"message":{"token":"t","topic":"x"}}"#), "message");
        assert_eq!(
            field(r#"{"message":{"token":"t","data":{"n":1}}}"#),
            "message.data.n"
        );
        assert_eq!(
            field(r#"{"message":{"token":"t","data":{"google.x":"1"}}}"#),
            "message.data.google.x"
        );
        assert_eq!(
            field(r#"{"message":{"token":"t","android":{"ttl":"2419201s"}}}"#),
            "message.android.ttl"
        );
        assert_eq!(
            field(r#"{"message":{"token":"t","android":{"priority":"URGENT"}}}"#),
            "message.android.priority"
        );
        let big = format!(
            r#"{{"message":{{"token":"t","data":{{"x":"{}"}}}}}}"#,
            "a".repeat(4096)
        );
        assert_eq!(field(&big), "message");
        assert_eq!(
            check(path, "ya29.live", br#"{"message":{"token":""}}"#),
            Err(Reply::InvalidToken)
        );
    }

    #[test]
    fn test_keys_are_rsa_and_differ() {
        let one = public_key_from_pem(TEST_KEY_PEM).unwrap();
        let two = public_key_from_pem(OTHER_TEST_KEY_PEM).unwrap();
        assert_ne!(one, two);
        let account = ServiceAccount::test("p");
        assert!(!format!("{account:?}").contains("PRIVATE"));
        let file: Value = serde_json::from_str(&account.key_file_json("https://x/token")).unwrap();
        assert_eq!(file["type"], "service_account");
        assert_eq!(file["token_uri"], "https://x/token");
    }
}
