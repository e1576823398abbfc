//! The APNs stand-in: Apple's HTTP/2 provider API (`spec/vendors.md` §1) on
//! loopback.
//!
//! It validates what Apple validates, answers Apple's status and
//! `{"reason":"..."}` body, records what it accepted, and can be scripted
//! (per device token) and faulted (GOAWAY, cut connections, delays) so a
//! client's tests can drive every row of the §1.7 table.
//!
//! # Validation order
//!
//! Apple does not publish the order it checks a request in; the stand-in
//! checks like a layered server would — route, then header syntax, then
//! authentication, then authorisation, then the payload — and answers the
//! first failure:
//!
//! 1. `:method` is `POST` — else 405 `MethodNotAllowed`.
//! 2. `:path` is `/3/device/<token>` — else 404 `BadPath`; an empty token is
//!    400 `MissingDeviceToken`; a token that is not hex (or has an odd number
//!    of digits, so is not bytes) is 400 `BadDeviceToken`.
//! 3. No APNs header (`authorization`, `apns-*`) appears twice — else 400
//!    `DuplicateHeaders`.
//! 4. Authentication: a TLS client certificate issued by the stand-in's CA
//!    (then `authorization` is ignored), or `authorization: bearer <JWT>` —
//!    403 `MissingProviderToken` when absent; 403 `InvalidProviderToken` when
//!    malformed, not `alg` ES256, unknown `kid`, `iss` not the key's team, a
//!    bad signature, or `iat` more than [`JWT_MAX_FUTURE_SKEW_SECS`] ahead;
//!    403 `ExpiredProviderToken` when `iat` is more than [`JWT_MAX_AGE_SECS`]
//!    behind the stand-in's clock; 403 `UnrelatedKeyIdInToken` when the
//!    connection's first accepted token used another key id.
//! 5. `apns-push-type`, when present, is one of [`PushType`] — else 400
//!    `InvalidPushType`. Absent means `alert` for the rules below.
//! 6. `apns-topic`: required with token auth (400 `MissingTopic`); with
//!    certificate auth it may be omitted when at most one bundle id is
//!    registered (the certificate's single topic), else 400 `MissingTopic`.
//!    A topic with the wrong suffix for its push type (`.voip` on an alert,
//!    none on a voip push) or that is not a visible-ASCII token is 400
//!    `BadTopic`; a well-formed topic whose bundle id is not registered is
//!    400 `TopicDisallowed`. With no bundle id registered, any bundle id is
//!    allowed (the suffix rule still applies).
//! 7. `apns-priority` is `10`, `5` or `1`, and `5` or `1` for `background`
//!    (absent means 10, so a background push must send 5 or 1) — else 400
//!    `BadPriority`.
//! 8. `apns-expiration` is a non-negative integer (decimal digits) — else
//!    400 `BadExpirationDate`.
//! 9. `apns-id` is a canonical lowercase UUID — else 400 `BadMessageId`.
//! 10. `apns-collapse-id` is at most 64 bytes of visible ASCII — else 400
//!     `BadCollapseId`.
//! 11. The body is not empty (400 `PayloadEmpty`), is at most 4096 bytes, or
//!     5120 for `voip` (413 `PayloadTooLarge`), and is one JSON object —
//!     else 400 [`REASON_STANDIN_BAD_PAYLOAD`] (`BadPayload`). Apple
//!     documents no reason for a body that is not JSON; the stand-in rejects
//!     it so a client bug shows, with a reason Apple's table does not have
//!     (a client maps it as an unknown reason). Turn this check off with
//!     [`ApnsStandinBuilder::accept_any_payload`].
//!
//! A request that passes is then matched against the scripts: a scripted
//! token gets its scripted [`Reply`] (not recorded); otherwise the push is
//! recorded and answered 200 with an empty body. Every answer carries an
//! `apns-id` header: the request's if it was a valid one, else a fresh
//! lowercase UUID.
//!
//! # Faults (per connection)
//!
//! * [`goaway_after(n)`](ApnsStandinBuilder::goaway_after): the connection
//!   serves `n` streams. When the `n`-th arrives, the server starts an HTTP/2
//!   graceful shutdown (h2's `graceful_shutdown`: GOAWAY with last-stream-id
//!   2^31-1 and a PING; on the PONG, a second GOAWAY whose last-stream-id is
//!   the highest stream it has received). Streams 1..=n are answered
//!   normally. Streams that arrive after the `n`-th but before the final
//!   GOAWAY (a client that pipelines) are refused with RST_STREAM
//!   `REFUSED_STREAM` — RFC 9113 §8.7: not processed, safe to retry — and are
//!   not recorded. Streams above the final last-stream-id are ignored by h2,
//!   never seen, never recorded; the client's h2 fails them with the GOAWAY.
//!   Once the answered streams are done the connection closes.
//! * [`drop_after(n)`](ApnsStandinBuilder::drop_after): the connection
//!   serves `n` streams; when stream `n+1` arrives the TCP connection is
//!   closed at once (no GOAWAY, no RST_STREAM, no TLS close_notify). Every
//!   stream not yet answered is lost and not recorded. (A stream whose
//!   answer was queued just before the cut is recorded even if its bytes
//!   never left — only possible when streams overlap.)
//! * [`delay(d)`](ApnsStandinBuilder::delay): every answer (200, rejection
//!   or scripted) is sent `d` after the request was read.
//! * [`max_concurrent_streams(n)`](ApnsStandinBuilder::max_concurrent_streams):
//!   SETTINGS_MAX_CONCURRENT_STREAMS advertised (default 1000, what Apple
//!   allows after the first accepted token); streams over it are refused by
//!   h2 with REFUSED_STREAM.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use tidings_std::clock::{SharedClock, SystemClock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::error::Error;
use crate::kit::record::Accepts;
use crate::kit::tls::{CertificateAuthority, ClientIdentity};

// ---------------------------------------------------------------------------
// Limits and wire constants (spec/vendors.md §1.2, §1.5, §1.6, §1.8)
// ---------------------------------------------------------------------------

/// `:path` prefix of a push; the device token follows (§1.2).
pub const PATH_PREFIX: &str = "/3/device/";
/// Body limit for every push type except VoIP, bytes (§1.5).
pub const MAX_PAYLOAD: usize = 4096;
/// Body limit for VoIP pushes, bytes (§1.5).
pub const MAX_PAYLOAD_VOIP: usize = 5120;
/// `apns-collapse-id` limit, bytes (§1.2).
pub const MAX_COLLAPSE_ID: usize = 64;
/// A provider token older than this (by the stand-in's clock) is expired (§1.6).
pub const JWT_MAX_AGE_SECS: i64 = 3600;
/// A provider token whose `iat` is this far ahead of the stand-in's clock is
/// invalid. Apple documents no bound; five minutes tolerates clock skew
/// between real hosts and still catches a client minting in the future.
pub const JWT_MAX_FUTURE_SKEW_SECS: i64 = 300;
/// SETTINGS_MAX_CONCURRENT_STREAMS by default: what Apple allows once a
/// connection is authenticated.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1000;
/// A TLS handshake that takes longer is abandoned.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection-level receive window: large, so 1,000 pushes in flight are
/// not throttled by flow control.
const CONNECTION_WINDOW: u32 = 16 << 20;
/// Distinct provider tokens remembered (verification cache and the
/// `distinct_jwts` count); beyond this they are verified every time and
/// the count stops growing.
const JWT_CACHE_CAP: usize = 65_536;
/// Headers Apple defines; each may appear once (else `DuplicateHeaders`).
const APNS_HEADERS: [&str; 7] = [
    "authorization",
    "apns-id",
    "apns-expiration",
    "apns-priority",
    "apns-topic",
    "apns-push-type",
    "apns-collapse-id",
];

/// Apple's reason strings (§1.7), exactly as they appear in `{"reason":..}`.
pub mod reason {
    pub const BAD_COLLAPSE_ID: &str = "BadCollapseId";
    pub const BAD_DEVICE_TOKEN: &str = "BadDeviceToken";
    pub const BAD_EXPIRATION_DATE: &str = "BadExpirationDate";
    pub const BAD_MESSAGE_ID: &str = "BadMessageId";
    pub const BAD_PRIORITY: &str = "BadPriority";
    pub const BAD_TOPIC: &str = "BadTopic";
    pub const DEVICE_TOKEN_NOT_FOR_TOPIC: &str = "DeviceTokenNotForTopic";
    pub const DUPLICATE_HEADERS: &str = "DuplicateHeaders";
    pub const IDLE_TIMEOUT: &str = "IdleTimeout";
    pub const INVALID_PUSH_TYPE: &str = "InvalidPushType";
    pub const MISSING_DEVICE_TOKEN: &str = "MissingDeviceToken";
    pub const MISSING_TOPIC: &str = "MissingTopic";
    pub const PAYLOAD_EMPTY: &str = "PayloadEmpty";
    pub const TOPIC_DISALLOWED: &str = "TopicDisallowed";
    pub const BAD_CERTIFICATE: &str = "BadCertificate";
    pub const BAD_CERTIFICATE_ENVIRONMENT: &str = "BadCertificateEnvironment";
    pub const EXPIRED_PROVIDER_TOKEN: &str = "ExpiredProviderToken";
    pub const FORBIDDEN: &str = "Forbidden";
    pub const INVALID_PROVIDER_TOKEN: &str = "InvalidProviderToken";
    pub const MISSING_PROVIDER_TOKEN: &str = "MissingProviderToken";
    pub const UNRELATED_KEY_ID_IN_TOKEN: &str = "UnrelatedKeyIdInToken";
    pub const BAD_ENVIRONMENT_KEY_ID_IN_TOKEN: &str = "BadEnvironmentKeyIdInToken";
    pub const BAD_PATH: &str = "BadPath";
    pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";
    pub const EXPIRED_TOKEN: &str = "ExpiredToken";
    pub const UNREGISTERED: &str = "Unregistered";
    pub const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
    pub const TOO_MANY_PROVIDER_TOKEN_UPDATES: &str = "TooManyProviderTokenUpdates";
    pub const TOO_MANY_REQUESTS: &str = "TooManyRequests";
    pub const INTERNAL_SERVER_ERROR: &str = "InternalServerError";
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    pub const SHUTDOWN: &str = "Shutdown";
}

/// The stand-in's own reason for a body that is not one JSON object. Not in
/// Apple's table (Apple documents nothing for this case).
pub const REASON_STANDIN_BAD_PAYLOAD: &str = "BadPayload";

// ---------------------------------------------------------------------------
// Push types (§1.3)
// ---------------------------------------------------------------------------

/// The documented `apns-push-type` values and the topic suffix each needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushType {
    Alert,
    Background,
    Location,
    Voip,
    Complication,
    FileProvider,
    Mdm,
    LiveActivity,
    PushToTalk,
}

impl PushType {
    pub const ALL: [PushType; 9] = [
        PushType::Alert,
        PushType::Background,
        PushType::Location,
        PushType::Voip,
        PushType::Complication,
        PushType::FileProvider,
        PushType::Mdm,
        PushType::LiveActivity,
        PushType::PushToTalk,
    ];

    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            PushType::Alert => "alert",
            PushType::Background => "background",
            PushType::Location => "location",
            PushType::Voip => "voip",
            PushType::Complication => "complication",
            PushType::FileProvider => "fileprovider",
            PushType::Mdm => "mdm",
            PushType::LiveActivity => "liveactivity",
            PushType::PushToTalk => "pushtotalk",
        }
    }

    /// Parses the header value (exact, lowercase).
    pub fn parse(s: &str) -> Option<Self> {
        PushType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What `apns-topic` must end with after the bundle id (`""` for none).
    /// `mdm` topics come from the MDM certificate and take no suffix.
    pub fn topic_suffix(self) -> &'static str {
        match self {
            PushType::Alert | PushType::Background | PushType::Mdm => "",
            PushType::Location => ".location-query",
            PushType::Voip => ".voip",
            PushType::Complication => ".complication",
            PushType::FileProvider => ".pushkit.fileprovider",
            PushType::LiveActivity => ".push-type.liveactivity",
            PushType::PushToTalk => ".voip-ptt",
        }
    }

    /// The body limit for this push type.
    pub fn max_payload(self) -> usize {
        if self == PushType::Voip {
            MAX_PAYLOAD_VOIP
        } else {
            MAX_PAYLOAD
        }
    }
}

// ---------------------------------------------------------------------------
// The reply table (§1.7)
// ---------------------------------------------------------------------------

/// One row of Apple's response table: what the stand-in answers. Rejections
/// from validation are `Reply` values too, and tests can script any of them
/// for a device token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    BadCollapseId,
    BadDeviceToken,
    BadExpirationDate,
    BadMessageId,
    BadPriority,
    BadTopic,
    DeviceTokenNotForTopic,
    DuplicateHeaders,
    IdleTimeout,
    InvalidPushType,
    MissingDeviceToken,
    MissingTopic,
    PayloadEmpty,
    TopicDisallowed,
    BadCertificate,
    BadCertificateEnvironment,
    ExpiredProviderToken,
    Forbidden,
    InvalidProviderToken,
    MissingProviderToken,
    UnrelatedKeyIdInToken,
    BadEnvironmentKeyIdInToken,
    BadPath,
    MethodNotAllowed,
    /// 410; `timestamp_ms` is the body's `timestamp` (ms since the epoch);
    /// `None` means the stand-in's clock when answering.
    ExpiredToken {
        timestamp_ms: Option<u64>,
    },
    /// 410; `timestamp_ms` as for [`Reply::ExpiredToken`].
    Unregistered {
        timestamp_ms: Option<u64>,
    },
    PayloadTooLarge,
    TooManyProviderTokenUpdates,
    /// 429; `retry_after` adds a `retry-after: <seconds>` header.
    TooManyRequests {
        retry_after: Option<u32>,
    },
    InternalServerError,
    ServiceUnavailable,
    Shutdown,
    /// The stand-in's 400 for a body that is not one JSON object
    /// ([`REASON_STANDIN_BAD_PAYLOAD`]); not an Apple reason.
    BadPayload,
    /// Any other status and reason, for testing how a client treats a reason
    /// it does not know. `status` must be a valid HTTP status (100-999),
    /// else the stream is dropped unanswered.
    Other {
        status: u16,
        reason: String,
    },
}

impl Reply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Reply::BadCollapseId
            | Reply::BadDeviceToken
            | Reply::BadExpirationDate
            | Reply::BadMessageId
            | Reply::BadPriority
            | Reply::BadTopic
            | Reply::DeviceTokenNotForTopic
            | Reply::DuplicateHeaders
            | Reply::IdleTimeout
            | Reply::InvalidPushType
            | Reply::MissingDeviceToken
            | Reply::MissingTopic
            | Reply::PayloadEmpty
            | Reply::TopicDisallowed
            | Reply::BadPayload => 400,
            Reply::BadCertificate
            | Reply::BadCertificateEnvironment
            | Reply::ExpiredProviderToken
            | Reply::Forbidden
            | Reply::InvalidProviderToken
            | Reply::MissingProviderToken
            | Reply::UnrelatedKeyIdInToken
            | Reply::BadEnvironmentKeyIdInToken => 403,
            Reply::BadPath => 404,
            Reply::MethodNotAllowed => 405,
            Reply::ExpiredToken { .. } | Reply::Unregistered { .. } => 410,
            Reply::PayloadTooLarge => 413,
            Reply::TooManyProviderTokenUpdates | Reply::TooManyRequests { .. } => 429,
            Reply::InternalServerError => 500,
            Reply::ServiceUnavailable | Reply::Shutdown => 503,
            Reply::Other { status, .. } => *status,
        }
    }

    /// The `reason` string of the body.
    pub fn reason(&self) -> &str {
        use reason as r;
        match self {
            Reply::BadCollapseId => r::BAD_COLLAPSE_ID,
            Reply::BadDeviceToken => r::BAD_DEVICE_TOKEN,
            Reply::BadExpirationDate => r::BAD_EXPIRATION_DATE,
            Reply::BadMessageId => r::BAD_MESSAGE_ID,
            Reply::BadPriority => r::BAD_PRIORITY,
            Reply::BadTopic => r::BAD_TOPIC,
            Reply::DeviceTokenNotForTopic => r::DEVICE_TOKEN_NOT_FOR_TOPIC,
            Reply::DuplicateHeaders => r::DUPLICATE_HEADERS,
            Reply::IdleTimeout => r::IDLE_TIMEOUT,
            Reply::InvalidPushType => r::INVALID_PUSH_TYPE,
            Reply::MissingDeviceToken => r::MISSING_DEVICE_TOKEN,
            Reply::MissingTopic => r::MISSING_TOPIC,
            Reply::PayloadEmpty => r::PAYLOAD_EMPTY,
            Reply::TopicDisallowed => r::TOPIC_DISALLOWED,
            Reply::BadCertificate => r::BAD_CERTIFICATE,
            Reply::BadCertificateEnvironment => r::BAD_CERTIFICATE_ENVIRONMENT,
            Reply::ExpiredProviderToken => r::EXPIRED_PROVIDER_TOKEN,
            Reply::Forbidden => r::FORBIDDEN,
            Reply::InvalidProviderToken => r::INVALID_PROVIDER_TOKEN,
            Reply::MissingProviderToken => r::MISSING_PROVIDER_TOKEN,
            Reply::UnrelatedKeyIdInToken => r::UNRELATED_KEY_ID_IN_TOKEN,
            Reply::BadEnvironmentKeyIdInToken => r::BAD_ENVIRONMENT_KEY_ID_IN_TOKEN,
            Reply::BadPath => r::BAD_PATH,
            Reply::MethodNotAllowed => r::METHOD_NOT_ALLOWED,
            Reply::ExpiredToken { .. } => r::EXPIRED_TOKEN,
            Reply::Unregistered { .. } => r::UNREGISTERED,
            Reply::PayloadTooLarge => r::PAYLOAD_TOO_LARGE,
            Reply::TooManyProviderTokenUpdates => r::TOO_MANY_PROVIDER_TOKEN_UPDATES,
            Reply::TooManyRequests { .. } => r::TOO_MANY_REQUESTS,
            Reply::InternalServerError => r::INTERNAL_SERVER_ERROR,
            Reply::ServiceUnavailable => r::SERVICE_UNAVAILABLE,
            Reply::Shutdown => r::SHUTDOWN,
            Reply::BadPayload => REASON_STANDIN_BAD_PAYLOAD,
            Reply::Other { reason, .. } => reason,
        }
    }

    /// The reply whose body reason is `reason` (Apple's, or the stand-in's
    /// `BadPayload`); 410s then carry the answer time as their timestamp
    /// and 429 `TooManyRequests` no `retry-after`. For `tidings standin
    /// apns --reply TOKEN=Reason`.
    pub fn from_reason(reason: &str) -> Option<Reply> {
        [
            Reply::BadCollapseId,
            Reply::BadDeviceToken,
            Reply::BadExpirationDate,
            Reply::BadMessageId,
            Reply::BadPriority,
            Reply::BadTopic,
            Reply::DeviceTokenNotForTopic,
            Reply::DuplicateHeaders,
            Reply::IdleTimeout,
            Reply::InvalidPushType,
            Reply::MissingDeviceToken,
            Reply::MissingTopic,
            Reply::PayloadEmpty,
            Reply::TopicDisallowed,
            Reply::BadCertificate,
            Reply::BadCertificateEnvironment,
            Reply::ExpiredProviderToken,
            Reply::Forbidden,
            Reply::InvalidProviderToken,
            Reply::MissingProviderToken,
            Reply::UnrelatedKeyIdInToken,
            Reply::BadEnvironmentKeyIdInToken,
            Reply::BadPath,
            Reply::MethodNotAllowed,
            Reply::ExpiredToken { timestamp_ms: None },
            Reply::Unregistered { timestamp_ms: None },
            Reply::PayloadTooLarge,
            Reply::TooManyProviderTokenUpdates,
            Reply::TooManyRequests { retry_after: None },
            Reply::InternalServerError,
            Reply::ServiceUnavailable,
            Reply::Shutdown,
            Reply::BadPayload,
        ]
        .into_iter()
        .find(|r| r.reason() == reason)
    }

    /// The exact body bytes: `{"reason":"<reason>"}`, plus
    /// `,"timestamp":<ms>` on 410 (`now_ms` fills a `None` timestamp).
    pub fn body(&self, now_ms: u64) -> Bytes {
        let reason = serde_json::to_string(self.reason()).unwrap_or_else(|_| "\"\"".to_owned());
        let text = match self {
            Reply::ExpiredToken { timestamp_ms } | Reply::Unregistered { timestamp_ms } => {
                format!(
                    "{{\"reason\":{reason},\"timestamp\":{}}}",
                    timestamp_ms.unwrap_or(now_ms)
                )
            }
            _ => format!("{{\"reason\":{reason}}}"),
        };
        Bytes::from(text)
    }
}

// ---------------------------------------------------------------------------
// Keys (§1.6)
// ---------------------------------------------------------------------------

/// An ES256 provider key as Apple issues it: the `.p8` text and the public
/// half the stand-in registers.
#[derive(Clone)]
pub struct ApnsSigningKey {
    pub team_id: String,
    pub key_id: String,
    /// PKCS#8 PEM, `-----BEGIN PRIVATE KEY-----` (an `AuthKey_<kid>.p8`).
    pub p8_pem: String,
    /// Uncompressed SEC1 P-256 point (65 bytes, `0x04 || x || y`).
    pub public_key: Vec<u8>,
}

impl std::fmt::Debug for ApnsSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSigningKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ApnsSigningKey {
    /// Generates a fresh P-256 key for (`team_id`, `key_id`).
    pub fn generate(team_id: &str, key_id: &str) -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Key("key generation failed".into()))?;
        Self::from_p8(team_id, key_id, &pem_encode("PRIVATE KEY", doc.as_ref()))
    }

    /// Wraps an existing `.p8` (PKCS#8 PEM), deriving its public half.
    pub fn from_p8(team_id: &str, key_id: &str, p8_pem: &str) -> Result<Self, Error> {
        let public_key = public_key_from_p8(p8_pem)?;
        Ok(Self {
            team_id: team_id.to_owned(),
            key_id: key_id.to_owned(),
            p8_pem: p8_pem.to_owned(),
            public_key,
        })
    }

    /// Mints a provider token (`bearer` value without the prefix) with this
    /// key: header `{"alg":"ES256","kid":..}`, claims `{"iss":..,"iat":..}`.
    /// For tests and demos; the real signer lives in the client.
    pub fn jwt(&self, iat: i64) -> Result<String, Error> {
        let der = pem_decode("PRIVATE KEY", &self.p8_pem)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|e| Error::Key(format!("not a P-256 PKCS#8 key: {e}")))?;
        let header = serde_json::json!({"alg": "ES256", "kid": self.key_id}).to_string();
        let claims = serde_json::json!({"iss": self.team_id, "iat": iat}).to_string();
        let mut out = String::with_capacity(256);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(header, &mut out);
        out.push('.');
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(claims, &mut out);
        let sig = pair
            .sign(&rng, out.as_bytes())
            .map_err(|_| Error::Key("signing failed".into()))?;
        out.push('.');
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
        Ok(out)
    }
}

/// Generates an ES256 key pair for (`team_id`, `key_id`): the `.p8` PEM and
/// the public key to register with [`ApnsStandinBuilder::signing_key`].
pub fn generate_signing_key(team_id: &str, key_id: &str) -> Result<ApnsSigningKey, Error> {
    ApnsSigningKey::generate(team_id, key_id)
}

/// The public half (uncompressed SEC1, 65 bytes) of a `.p8` private key.
pub fn public_key_from_p8(p8_pem: &str) -> Result<Vec<u8>, Error> {
    let der = pem_decode("PRIVATE KEY", p8_pem)?;
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
            .map_err(|e| Error::Key(format!("not a P-256 PKCS#8 key: {e}")))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(label: &str, pem: &str) -> Result<Vec<u8>, Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| Error::Key(format!("no {begin} line")))?;
    let rest = pem.get(start + begin.len()..).unwrap_or_default();
    let stop = rest
        .find(&end)
        .ok_or_else(|| Error::Key(format!("no {end} line")))?;
    let body: String = rest
        .get(..stop)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| Error::Key(format!("PEM body is not base64: {e}")))
}

// ---------------------------------------------------------------------------
// Validation: request parts in, Checked or a Reply out (no socket needed)
// ---------------------------------------------------------------------------

/// How a push was authenticated, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A provider token: its key id, team id (`iss`) and `iat`. The token
    /// itself is never stored.
    Token {
        key_id: Arc<str>,
        team_id: Arc<str>,
        iat: i64,
    },
    /// A TLS client certificate issued by the stand-in's CA.
    Certificate,
}

/// What [`Validator::check`] reads: a request as the server sees it.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    pub method: &'a Method,
    /// The `:path` as sent (path and query).
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The connection presented a client certificate the CA verified.
    pub client_certificate: bool,
    /// The key id the connection's first accepted token used, if any.
    pub connection_key_id: Option<&'a str>,
}

/// A request that passed every check: the parts worth recording, borrowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked<'a> {
    pub token: &'a str,
    pub apns_id: Option<&'a str>,
    pub push_type: Option<PushType>,
    pub priority: Option<u8>,
    pub topic: Option<&'a str>,
    pub expiration: Option<u64>,
    pub collapse_id: Option<&'a str>,
    pub auth: Auth,
}

#[derive(Clone, Debug)]
struct RegisteredKey {
    team_id: Arc<str>,
    key_id: Arc<str>,
    public_key: Vec<u8>,
}

/// A provider token once verified: which key, and its `iat`. Failed ones
/// are cached as `None` (keys do not change while running).
type JwtVerdict = Option<(Arc<RegisteredKey>, i64)>;

/// Apple's checks, as a value: built from the builder's keys, bundle ids
/// and clock. The server holds one; tests drive it directly.
pub struct Validator {
    keys: HashMap<String, Arc<RegisteredKey>>,
    topics: HashSet<String>,
    clock: SharedClock,
    any_payload: bool,
    jwts: Mutex<HashMap<[u8; 32], JwtVerdict>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct JwtHeader {
    alg: String,
    kid: String,
}

#[derive(serde::Deserialize)]
struct JwtClaims {
    iss: String,
    iat: i64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// base64url, with or without padding.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `8-4-4-4-12` lowercase hex.
pub fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

fn is_visible_ascii(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

impl Validator {
    /// Distinct provider tokens seen so far (saturates at an internal cap).
    pub fn distinct_jwts(&self) -> u64 {
        lock(&self.jwts).len() as u64
    }

    /// Runs every check in the documented order.
    pub fn check<'a>(&self, req: &RequestParts<'a>) -> Result<Checked<'a>, Reply> {
        let h = req.headers;
        // 1. method
        if req.method != Method::POST {
            return Err(Reply::MethodNotAllowed);
        }
        // 2. path and token
        let token = req.path.strip_prefix(PATH_PREFIX).ok_or(Reply::BadPath)?;
        if token.contains('/') {
            return Err(Reply::BadPath);
        }
        if token.is_empty() {
            return Err(Reply::MissingDeviceToken);
        }
        if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Reply::BadDeviceToken);
        }
        // 3. duplicates
        if APNS_HEADERS
            .iter()
            .any(|name| h.get_all(*name).iter().nth(1).is_some())
        {
            return Err(Reply::DuplicateHeaders);
        }
        // 4. auth
        let auth = if req.client_certificate {
            Auth::Certificate
        } else {
            self.check_token(h.get("authorization"), req.connection_key_id)?
        };
        // 5. push type
        let push_type = match h.get("apns-push-type") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(PushType::parse)
                    .ok_or(Reply::InvalidPushType)?,
            ),
        };
        let effective_type = push_type.unwrap_or(PushType::Alert);
        // 6. topic
        let topic =
            self.check_topic(h.get("apns-topic"), effective_type, req.client_certificate)?;
        // 7. priority
        let priority = match h.get("apns-priority") {
            None => None,
            Some(v) => Some(match v.as_bytes() {
                b"10" => 10,
                b"5" => 5,
                b"1" => 1,
                _ => return Err(Reply::BadPriority),
            }),
        };
        if effective_type == PushType::Background && priority.unwrap_or(10) == 10 {
            return Err(Reply::BadPriority);
        }
        // 8. expiration
        let expiration = match h.get("apns-expiration") {
            None => None,
            Some(v) => {
                let b = v.as_bytes();
                if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
                    return Err(Reply::BadExpirationDate);
                }
                Some(
                    v.to_str()
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or(Reply::BadExpirationDate)?,
                )
            }
        };
        // 9. apns-id
        let apns_id = match h.get("apns-id") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .filter(|s| is_canonical_uuid(s))
                    .ok_or(Reply::BadMessageId)?,
            ),
        };
        // 10. collapse id
        let collapse_id = match h.get("apns-collapse-id") {
            None => None,
            Some(v) => {
                if v.len() > MAX_COLLAPSE_ID {
                    return Err(Reply::BadCollapseId);
                }
                Some(
                    v.to_str()
                        .ok()
                        .filter(|s| is_visible_ascii(s))
                        .ok_or(Reply::BadCollapseId)?,
                )
            }
        };
        // 11. body
        if req.body.is_empty() {
            return Err(Reply::PayloadEmpty);
        }
        if req.body.len() > effective_type.max_payload() {
            return Err(Reply::PayloadTooLarge);
        }
        if !self.any_payload && !is_json_object(req.body) {
            return Err(Reply::BadPayload);
        }
        Ok(Checked {
            token,
            apns_id,
            push_type,
            priority,
            topic,
            expiration,
            collapse_id,
            auth,
        })
    }

    fn check_token(
        &self,
        authorization: Option<&HeaderValue>,
        connection_key_id: Option<&str>,
    ) -> Result<Auth, Reply> {
        let value = authorization.ok_or(Reply::MissingProviderToken)?;
        let value = value.to_str().map_err(|_| Reply::InvalidProviderToken)?;
        let jwt = match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value.get(7..).unwrap_or(""),
            _ => return Err(Reply::InvalidProviderToken),
        };
        if jwt.is_empty() {
            return Err(Reply::MissingProviderToken);
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, jwt.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        let cached = lock(&self.jwts).get(&key).cloned();
        let verdict = match cached {
            Some(v) => v,
            None => {
                let v = self.verify_jwt(jwt);
                let mut map = lock(&self.jwts);
                if map.len() < JWT_CACHE_CAP {
                    map.insert(key, v.clone());
                }
                v
            }
        };
        let (registered, iat) = verdict.ok_or(Reply::InvalidProviderToken)?;
        let now = self.clock.unix_seconds();
        if iat.saturating_sub(now) > JWT_MAX_FUTURE_SKEW_SECS {
            return Err(Reply::InvalidProviderToken);
        }
        if now.saturating_sub(iat) > JWT_MAX_AGE_SECS {
            return Err(Reply::ExpiredProviderToken);
        }
        if connection_key_id.is_some_and(|k| k != &*registered.key_id) {
            return Err(Reply::UnrelatedKeyIdInToken);
        }
        Ok(Auth::Token {
            key_id: registered.key_id.clone(),
            team_id: registered.team_id.clone(),
            iat,
        })
    }

    fn verify_jwt(&self, jwt: &str) -> JwtVerdict {
        let mut parts = jwt.split('.');
        let (header, claims, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: JwtHeader = serde_json::from_slice(&B64URL.decode(header).ok()?).ok()?;
        if header.alg != "ES256" {
            return None;
        }
        let registered = self.keys.get(&header.kid)?;
        let claims: JwtClaims = serde_json::from_slice(&B64URL.decode(claims).ok()?).ok()?;
        if claims.iss != *registered.team_id {
            return None;
        }
        let sig = B64URL.decode(sig).ok()?;
        if sig.len() != 64 {
            return None;
        }
        let signing_input = jwt.get(..jwt.rfind('.')?)?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &registered.public_key)
            .verify(signing_input.as_bytes(), &sig)
            .ok()?;
        Some((registered.clone(), claims.iat))
    }

    fn check_topic<'a>(
        &self,
        topic: Option<&'a HeaderValue>,
        push_type: PushType,
        client_certificate: bool,
    ) -> Result<Option<&'a str>, Reply> {
        let Some(value) = topic else {
            // A certificate with a single topic implies it (§1.6); the
            // stand-in's certificates stand for every registered bundle id.
            return if client_certificate && self.topics.len() <= 1 {
                Ok(None)
            } else {
                Err(Reply::MissingTopic)
            };
        };
        let topic = value
            .to_str()
            .ok()
            .filter(|s| is_visible_ascii(s))
            .ok_or(Reply::BadTopic)?;
        if push_type == PushType::Mdm {
            if !self.topics.is_empty() && !self.topics.contains(topic) {
                return Err(Reply::TopicDisallowed);
            }
            return Ok(Some(topic));
        }
        let suffix = push_type.topic_suffix();
        let bundle = topic.strip_suffix(suffix).ok_or(Reply::BadTopic)?;
        if bundle.is_empty() || bundle.ends_with('.') {
            return Err(Reply::BadTopic);
        }
        if suffix.is_empty() {
            // A topic carrying another push type's suffix is the wrong topic
            // for this push type, not an unknown app.
            let other_suffix = PushType::ALL
                .iter()
                .map(|t| t.topic_suffix())
                .filter(|s| !s.is_empty())
                .find_map(|s| bundle.strip_suffix(s));
            if let Some(base) = other_suffix {
                if self.topics.is_empty() || self.topics.contains(base) {
                    return Err(Reply::BadTopic);
                }
            }
        }
        if !self.topics.is_empty() && !self.topics.contains(bundle) {
            return Err(Reply::TopicDisallowed);
        }
        Ok(Some(topic))
    }
}

/// One JSON object (surrounding whitespace allowed), checked without
/// building a value.
fn is_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

// ---------------------------------------------------------------------------
// Records and statistics
// ---------------------------------------------------------------------------

/// One accepted push, as the stand-in received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedPush {
    /// Which connection carried it (1 = the first accepted connection).
    pub connection: u64,
    /// Its HTTP/2 stream id on that connection.
    pub stream_id: u32,
    /// The device token from `:path`.
    pub token: String,
    /// The `apns-id` answered: the request's, or the one the stand-in made.
    pub apns_id: String,
    /// Whether the request carried `apns-id` itself.
    pub apns_id_from_request: bool,
    pub push_type: Option<PushType>,
    pub priority: Option<u8>,
    pub topic: Option<String>,
    pub expiration: Option<u64>,
    pub collapse_id: Option<String>,
    /// The body, exactly as received.
    pub body: Bytes,
    pub auth: Auth,
}

impl AcceptedPush {
    /// The body parsed as JSON (it was checked to be a JSON object unless
    /// the stand-in accepts any payload).
    pub fn payload(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Counts since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// Connections whose TLS or HTTP/2 handshake failed.
    pub handshake_failures: u64,
    /// HTTP/2 streams received (every request, including refused and cut).
    pub streams: u64,
    /// Distinct provider tokens seen (valid or not).
    pub distinct_jwts: u64,
    /// Answers sent, by HTTP status (refused and cut streams are not answers).
    pub answers: BTreeMap<u16, u64>,
    /// Streams refused with RST_STREAM REFUSED_STREAM after a GOAWAY fault.
    pub refused_streams: u64,
    /// GOAWAY faults started.
    pub goaways: u64,
    /// Connections cut by the drop fault.
    pub connections_cut: u64,
}

impl Stats {
    /// Answers with this status.
    pub fn answered(&self, status: u16) -> u64 {
        self.answers.get(&status).copied().unwrap_or(0)
    }

    /// All answers.
    pub fn total_answers(&self) -> u64 {
        self.answers.values().sum()
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    handshake_failures: AtomicU64,
    streams: AtomicU64,
    refused_streams: AtomicU64,
    goaways: AtomicU64,
    connections_cut: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
struct Faults {
    goaway_after: Option<u32>,
    drop_after: Option<u32>,
    delay: Option<Duration>,
    max_concurrent_streams: u32,
}

struct Shared {
    validator: Validator,
    faults: Faults,
    scripts: crate::kit::Scripts<Reply>,
    accepted: Accepts<AcceptedPush>,
    answers: Mutex<BTreeMap<u16, u64>>,
    counters: Counters,
    panics: Mutex<Vec<String>>,
}

impl Shared {
    fn take_script(&self, token: &str) -> Option<Reply> {
        self.scripts.take(token)
    }

    fn count_answer(&self, status: u16) {
        *lock(&self.answers).entry(status).or_insert(0) += 1;
    }

    fn note_join(&self, result: Result<(), JoinError>) {
        if let Err(e) = result {
            if e.is_panic() {
                lock(&self.panics).push(e.to_string());
            }
        }
    }

    fn record(&self, push: AcceptedPush) {
        self.accepted.push(push, record_line);
    }
}

fn record_line(p: &AcceptedPush) -> serde_json::Value {
    let (key_id, team_id, iat) = match &p.auth {
        Auth::Token {
            key_id,
            team_id,
            iat,
        } => (Some(&**key_id), Some(&**team_id), Some(*iat)),
        Auth::Certificate => (None, None, None),
    };
    let payload = p.payload().unwrap_or_else(|| {
        serde_json::Value::String(String::from_utf8_lossy(&p.body).into_owned())
    });
    serde_json::json!({
        "connection": p.connection,
        "stream_id": p.stream_id,
        "token": p.token,
        "apns_id": p.apns_id,
        "push_type": p.push_type.map(PushType::as_str),
        "priority": p.priority,
        "topic": p.topic,
        "expiration": p.expiration,
        "collapse_id": p.collapse_id,
        "auth": if key_id.is_some() { "token" } else { "certificate" },
        "key_id": key_id,
        "team_id": team_id,
        "iat": iat,
        "payload": payload,
    })
}

// ---------------------------------------------------------------------------
// The builder and the running stand-in
// ---------------------------------------------------------------------------

/// Configures an APNs stand-in; [`ApnsStandinBuilder::start`] runs it.
pub struct ApnsStandinBuilder {
    listen: SocketAddr,
    clock: SharedClock,
    keys: Vec<(String, String, Vec<u8>)>,
    topics: Vec<String>,
    scripts: Vec<(String, Reply, Option<u32>)>,
    faults: Faults,
    record_to: Option<PathBuf>,
    any_payload: bool,
}

impl std::fmt::Debug for ApnsStandinBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsStandinBuilder")
            .field("listen", &self.listen)
            .field("topics", &self.topics)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl Default for ApnsStandinBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clock: Arc::new(SystemClock),
            keys: Vec::new(),
            topics: Vec::new(),
            scripts: Vec::new(),
            faults: Faults {
                goaway_after: None,
                drop_after: None,
                delay: None,
                max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            },
            record_to: None,
            any_payload: false,
        }
    }
}

impl ApnsStandinBuilder {
    crate::kit::listen_and_clock!("provider tokens' `iat` is checked against");

    /// Registers a provider key: tokens with `kid` = `key_id` must carry
    /// `iss` = `team_id` and verify against `public_key` (uncompressed SEC1
    /// P-256, 65 bytes). Call once per key.
    pub fn signing_key(mut self, team_id: &str, key_id: &str, public_key: &[u8]) -> Self {
        self.keys
            .push((team_id.to_owned(), key_id.to_owned(), public_key.to_vec()));
        self
    }

    /// Registers `key`'s public half.
    pub fn signing_key_from(self, key: &ApnsSigningKey) -> Self {
        self.signing_key(&key.team_id, &key.key_id, &key.public_key)
    }

    /// Registers a bundle id (e.g. `com.example.app`); topics are the bundle
    /// id plus the push type's suffix. With none registered, any is allowed.
    pub fn topic(mut self, bundle_id: &str) -> Self {
        self.topics.push(bundle_id.to_owned());
        self
    }

    /// Every valid request for `token` is answered `reply` (not recorded).
    pub fn reply_always(mut self, token: &str, reply: Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, None));
        self
    }

    /// The next `n` valid requests for `token` are answered `reply`, then
    /// the token is treated normally again.
    pub fn reply_next(mut self, token: &str, n: u32, reply: Reply) -> Self {
        if n > 0 {
            self.scripts.push((token.to_owned(), reply, Some(n)));
        }
        self
    }

    /// Each connection serves `n` streams, then goes away (see the module
    /// docs for the exact frames).
    pub fn goaway_after(mut self, n: u32) -> Self {
        self.faults.goaway_after = Some(n);
        self
    }

    /// Each connection serves `n` streams; stream `n+1` makes the server cut
    /// the TCP connection.
    pub fn drop_after(mut self, n: u32) -> Self {
        self.faults.drop_after = Some(n);
        self
    }

    /// Every answer waits `d`.
    pub fn delay(mut self, d: Duration) -> Self {
        self.faults.delay = Some(d);
        self
    }

    /// SETTINGS_MAX_CONCURRENT_STREAMS (default 1000).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.faults.max_concurrent_streams = n;
        self
    }

    /// Also append one JSON line per accepted push to `path`.
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    /// Accept any non-empty body within the size limit, JSON or not (Apple
    /// documents no check; by default the stand-in answers 400 `BadPayload`).
    pub fn accept_any_payload(mut self) -> Self {
        self.any_payload = true;
        self
    }

    /// The validator this configuration gives, for socket-less tests.
    pub fn validator(&self) -> Result<Validator, Error> {
        let mut keys = HashMap::new();
        for (team_id, key_id, public_key) in &self.keys {
            if public_key.len() != 65 || public_key.first() != Some(&4) {
                return Err(Error::Config(format!(
                    "public key for kid {key_id} is not an uncompressed P-256 point (65 bytes, 0x04 first)"
                )));
            }
            keys.insert(
                key_id.clone(),
                Arc::new(RegisteredKey {
                    team_id: Arc::from(team_id.as_str()),
                    key_id: Arc::from(key_id.as_str()),
                    public_key: public_key.clone(),
                }),
            );
        }
        Ok(Validator {
            keys,
            topics: self.topics.iter().cloned().collect(),
            clock: self.clock.clone(),
            any_payload: self.any_payload,
            jwts: Mutex::new(HashMap::new()),
        })
    }

    /// Generates the CA and server certificate, binds, and starts serving.
    pub async fn start(self) -> Result<ApnsStandin, Error> {
        let validator = self.validator()?;
        let ca = CertificateAuthority::generate()?;
        let acceptor = TlsAcceptor::from(ca.server_config()?);
        let accepted = Accepts::new(self.record_to.as_deref())?;
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            validator,
            faults: self.faults,
            scripts: crate::kit::Scripts::new(self.scripts),
            accepted,
            answers: Mutex::new(BTreeMap::new()),
            counters: Counters::default(),
            panics: Mutex::new(Vec::new()),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, acceptor, shared.clone(), stop_rx));
        tracing::debug!(%addr, "APNs stand-in listening");
        Ok(ApnsStandin {
            addr,
            ca: Arc::new(ca),
            shared,
            stop: stop_tx,
            task: Some(task),
        })
    }
}

/// A running APNs stand-in. Dropping it stops every task it spawned;
/// [`ApnsStandin::shutdown`] does the same and reports panics.
pub struct ApnsStandin {
    addr: SocketAddr,
    ca: Arc<CertificateAuthority>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ApnsStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsStandin")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for ApnsStandin {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl ApnsStandin {
    /// A builder with the defaults: `127.0.0.1:0`, system clock, no keys, no
    /// bundle ids (any allowed), no scripts, no faults, 1000 streams.
    pub fn builder() -> ApnsStandinBuilder {
        ApnsStandinBuilder::default()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (an unspecified bind address is reported as
    /// loopback; IPv6 in brackets).
    pub fn url(&self) -> String {
        crate::kit::https::url_of(self.addr)
    }

    /// The CA certificate (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    /// The stand-in's certificate authority.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// Writes the CA certificate (PEM) to `path`.
    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        self.ca.write_pem(path)
    }

    /// A client certificate + key (PEM and PKCS#12) from the stand-in's CA:
    /// a connection presenting it is certificate-authenticated.
    pub fn issue_client_identity(&self, common_name: &str) -> Result<ClientIdentity, Error> {
        self.ca.issue_client_identity(common_name)
    }

    /// Every accepted push so far, in arrival order.
    pub fn accepted(&self) -> Vec<AcceptedPush> {
        self.shared.accepted.all()
    }

    /// How many pushes were accepted, without copying them.
    pub fn accepted_count(&self) -> usize {
        self.shared.accepted.count()
    }

    /// Takes the accepted pushes, leaving the record empty.
    pub fn take_accepted(&self) -> Vec<AcceptedPush> {
        self.shared.accepted.take()
    }

    /// Counts since start.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            connections: c.connections.load(Ordering::Relaxed),
            handshake_failures: c.handshake_failures.load(Ordering::Relaxed),
            streams: c.streams.load(Ordering::Relaxed),
            distinct_jwts: self.shared.validator.distinct_jwts(),
            answers: lock(&self.shared.answers).clone(),
            refused_streams: c.refused_streams.load(Ordering::Relaxed),
            goaways: c.goaways.load(Ordering::Relaxed),
            connections_cut: c.connections_cut.load(Ordering::Relaxed),
        }
    }

    /// From now on every valid request for `token` is answered `reply`.
    pub fn script(&self, token: &str, reply: Reply) {
        self.shared.scripts.set(token, reply, None);
    }

    /// The next `n` valid requests for `token` are answered `reply`.
    pub fn script_next(&self, token: &str, n: u32, reply: Reply) {
        self.shared.scripts.set(token, reply, Some(n));
    }

    /// `token` is treated normally again.
    pub fn unscript(&self, token: &str) {
        self.shared.scripts.remove(token);
    }

    /// Stops accepting, closes every connection, waits for the server task,
    /// and reports whether any stand-in task panicked.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                if e.is_panic() {
                    lock(&self.shared.panics).push(e.to_string());
                }
            }
        }
        let panics = std::mem::take(&mut *lock(&self.shared.panics));
        if panics.is_empty() {
            Ok(())
        } else {
            Err(Error::TaskPanicked(panics.join("; ")))
        }
    }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    // Dropping the set (when this task ends or is aborted) aborts every
    // connection task.
    let mut connections = JoinSet::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    next_id += 1;
                    shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(serve_connection(
                        shared.clone(),
                        acceptor.clone(),
                        tcp,
                        next_id,
                    ));
                }
                // Out of file descriptors and the like: back off, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                shared.note_join(done);
            }
        }
    }
}

struct ConnState {
    id: u64,
    client_certificate: bool,
    key_id: OnceLock<Arc<str>>,
}

async fn serve_connection(shared: Arc<Shared>, acceptor: TlsAcceptor, tcp: TcpStream, id: u64) {
    let _ = tcp.set_nodelay(true);
    let handshake_failed = || {
        let failures = &shared.counters.handshake_failures;
        failures.fetch_add(1, Ordering::Relaxed);
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        _ => return handshake_failed(),
    };
    let client_certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .is_some_and(|c| !c.is_empty());
    let faults = shared.faults;
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(faults.max_concurrent_streams)
        .initial_connection_window_size(CONNECTION_WINDOW);
    let handshake = builder.handshake::<_, Bytes>(tls);
    let mut conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(conn)) => conn,
        _ => return handshake_failed(),
    };
    let state = Arc::new(ConnState {
        id,
        client_certificate,
        key_id: OnceLock::new(),
    });
    let mut streams = JoinSet::new();
    let mut received: u32 = 0;
    let mut going_away = false;
    if faults.goaway_after == Some(0) {
        conn.graceful_shutdown();
        going_away = true;
        shared.counters.goaways.fetch_add(1, Ordering::Relaxed);
    }
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok((request, mut respond))) => {
                    received = received.saturating_add(1);
                    shared.counters.streams.fetch_add(1, Ordering::Relaxed);
                    if faults.drop_after.is_some_and(|n| received > n) {
                        shared.counters.connections_cut.fetch_add(1, Ordering::Relaxed);
                        // Dropping the connection closes the socket; dropping
                        // the set aborts every unanswered stream.
                        drop(conn);
                        drop(streams);
                        return;
                    }
                    if going_away {
                        respond.send_reset(Reason::REFUSED_STREAM);
                        shared.counters.refused_streams.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    streams.spawn(handle_stream(shared.clone(), state.clone(), request, respond));
                    if faults.goaway_after.is_some_and(|n| received >= n) {
                        conn.graceful_shutdown();
                        going_away = true;
                        shared.counters.goaways.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Err(_)) | None => break,
            },
            Some(done) = streams.join_next(), if !streams.is_empty() => {
                shared.note_join(done);
            }
        }
    }
    // The connection is closed; streams still running can no longer answer.
    streams.abort_all();
    while let Some(done) = streams.join_next().await {
        shared.note_join(done);
    }
}

/// Reads the body up to one byte over the largest limit (enough to tell
/// "too large"); the rest is not read.
async fn read_body(body: &mut RecvStream) -> Option<Bytes> {
    let cap = MAX_PAYLOAD_VOIP + 1;
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.ok()?;
        let _ = body.flow_control().release_capacity(chunk.len());
        let room = cap.saturating_sub(buf.len());
        if chunk.len() >= room {
            buf.extend_from_slice(chunk.get(..room).unwrap_or_default());
            break;
        }
        if buf.is_empty() && chunk.len() < room && body.is_end_stream() {
            // The common case: one DATA frame; keep it without copying.
            return Some(chunk);
        }
        buf.extend_from_slice(&chunk);
    }
    Some(buf.freeze())
}

async fn handle_stream(
    shared: Arc<Shared>,
    conn: Arc<ConnState>,
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (parts, mut body) = request.into_parts();
    // A stream the client reset before its body ended is dropped unanswered.
    let Some(body_bytes) = read_body(&mut body).await else {
        return;
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let req = RequestParts {
        method: &parts.method,
        path,
        headers: &parts.headers,
        body: &body_bytes,
        client_certificate: conn.client_certificate,
        connection_key_id: conn.key_id.get().map(|k| &**k),
    };
    let request_id = parts
        .headers
        .get("apns-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_canonical_uuid(s));
    let apns_id = request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);

    let outcome: Result<AcceptedPush, Reply> = match shared.validator.check(&req) {
        Err(reply) => Err(reply),
        Ok(checked) => {
            if let Auth::Token { key_id, .. } = &checked.auth {
                let _ = conn.key_id.set(key_id.clone());
            }
            match shared.take_script(checked.token) {
                Some(reply) => Err(reply),
                None => Ok(AcceptedPush {
                    connection: conn.id,
                    stream_id: respond.stream_id().as_u32(),
                    token: checked.token.to_owned(),
                    apns_id: apns_id.clone(),
                    apns_id_from_request: request_id.is_some(),
                    push_type: checked.push_type,
                    priority: checked.priority,
                    topic: checked.topic.map(str::to_owned),
                    expiration: checked.expiration,
                    collapse_id: checked.collapse_id.map(str::to_owned),
                    body: body_bytes.clone(),
                    auth: checked.auth,
                }),
            }
        }
    };
    if let Some(d) = shared.faults.delay {
        tokio::time::sleep(d).await;
    }
    let Ok(id_value) = HeaderValue::from_str(&apns_id) else {
        return;
    };
    match outcome {
        Ok(push) => {
            let mut response = Response::new(());
            *response.status_mut() = StatusCode::OK;
            response.headers_mut().insert("apns-id", id_value);
            // Recorded and answered in one step (no await between them).
            shared.record(push);
            shared.count_answer(200);
            let _ = respond.send_response(response, true);
        }
        Err(reply) => {
            let status = reply.status();
            let Ok(code) = StatusCode::from_u16(status) else {
                return;
            };
            let mut response = Response::new(());
            *response.status_mut() = code;
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            headers.insert("apns-id", id_value);
            if let Reply::TooManyRequests {
                retry_after: Some(secs),
            } = &reply
            {
                headers.insert("retry-after", HeaderValue::from(*secs));
            }
            let now_ms = shared
                .validator
                .clock
                .now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let body = reply.body(now_ms);
            shared.count_answer(status);
            if let Ok(mut send) = respond.send_response(response, false) {
                let _ = send.send_data(body, true);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// `tidings standin apns`
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_bodies_are_exact() {
        assert_eq!(
            &Reply::BadDeviceToken.body(5)[..],
            br#"{"reason":"BadDeviceToken"}"#
        );
        assert_eq!(
            &Reply::Unregistered {
                timestamp_ms: Some(1_700_000_000_123)
            }
            .body(5)[..],
            br#"{"reason":"Unregistered","timestamp":1700000000123}"#
        );
        assert_eq!(
            &Reply::ExpiredToken { timestamp_ms: None }.body(42)[..],
            br#"{"reason":"ExpiredToken","timestamp":42}"#
        );
        assert_eq!(Reply::TooManyRequests { retry_after: None }.status(), 429);
        assert_eq!(Reply::Shutdown.status(), 503);
    }

    #[test]
    fn from_reason_knows_every_reason_in_the_table() {
        for (reason, status) in [
            ("BadDeviceToken", 400),
            ("IdleTimeout", 400),
            ("ExpiredProviderToken", 403),
            ("BadPath", 404),
            ("MethodNotAllowed", 405),
            ("Unregistered", 410),
            ("ExpiredToken", 410),
            ("PayloadTooLarge", 413),
            ("TooManyRequests", 429),
            ("InternalServerError", 500),
            ("Shutdown", 503),
            ("BadPayload", 400),
        ] {
            let reply = Reply::from_reason(reason).unwrap();
            assert_eq!((reply.reason(), reply.status()), (reason, status));
        }
        assert_eq!(Reply::from_reason("Teapot"), None);
    }

    #[test]
    fn uuid_shape() {
        assert!(is_canonical_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_canonical_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_canonical_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!is_canonical_uuid("123e4567-e89b-12d3-a456-42661417400g"));
    }

    #[test]
    fn push_types_parse_and_suffix() {
        for t in PushType::ALL {
            assert_eq!(PushType::parse(t.as_str()), Some(t));
        }
        assert_eq!(PushType::parse("Alert"), None);
        assert_eq!(PushType::Voip.topic_suffix(), ".voip");
        assert_eq!(PushType::Voip.max_payload(), 5120);
        assert_eq!(PushType::Alert.max_payload(), 4096);
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// The checks without a socket: the order decides which of several
    /// faults is reported.
    #[test]
    fn validator_reports_the_first_failure_in_the_documented_order() {
        use tidings_std::clock::{Clock, ManualClock};
        let key = generate_signing_key("TEAM123456", "KEY1234567").unwrap();
        let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let v = ApnsStandin::builder()
            .signing_key_from(&key)
            .topic("com.example.app")
            .clock(Arc::new(clock.clone()))
            .validator()
            .unwrap();
        let auth = format!("bearer {}", key.jwt(clock.unix_seconds()).unwrap());
        let good = headers(&[("authorization", &auth), ("apns-topic", "com.example.app")]);
        fn check<'a>(
            v: &Validator,
            method: &'a Method,
            path: &'a str,
            headers: &'a HeaderMap,
            body: &'a [u8],
            client_certificate: bool,
        ) -> Result<Checked<'a>, Reply> {
            v.check(&RequestParts {
                method,
                path,
                headers,
                body,
                client_certificate,
                connection_key_id: None,
            })
        }
        // Every request below but the first is a POST.
        fn post<'a>(
            v: &Validator,
            path: &'a str,
            headers: &'a HeaderMap,
            body: &'a [u8],
            client_certificate: bool,
        ) -> Result<Checked<'a>, Reply> {
            check(v, &Method::POST, path, headers, body, client_certificate)
        }
        let none = HeaderMap::new();
        let body = br#"{"aps":{}}"#;
        let ok = post(&v, "/3/device/00ff", &good, body, false).unwrap();
        assert_eq!(ok.token, "00ff");
        assert_eq!(
            ok.auth,
            Auth::Token {
                key_id: Arc::from("KEY1234567"),
                team_id: Arc::from("TEAM123456"),
                iat: 1_800_000_000
            }
        );
        // Method before path, path before everything else.
        assert_eq!(
            check(&v, &Method::GET, "/nope", &HeaderMap::new(), b"", false),
            Err(Reply::MethodNotAllowed)
        );
        assert_eq!(
            post(&v, "/3/device/zz", &none, b"", false),
            Err(Reply::BadDeviceToken)
        );
        // Duplicates before auth; auth before push type, topic and body;
        // with a certificate, the push type, then the topic, priority,
        // expiration, ids and the payload, in that order.
        let mut dup = HeaderMap::new();
        dup.append("apns-id", HeaderValue::from_static("x"));
        dup.append("apns-id", HeaderValue::from_static("y"));
        let bad_everything = [
            ("apns-push-type", "nope"),
            ("apns-priority", "3"),
            ("apns-id", "x"),
        ];
        let long_collapse = "c".repeat(65);
        let voip_topic = [
            ("apns-push-type", "voip"),
            ("apns-topic", "com.example.app"),
            ("apns-priority", "3"),
        ];
        let priority = [
            ("apns-topic", "com.example.app"),
            ("apns-priority", "3"),
            ("apns-expiration", "x"),
        ];
        let too_large = [b'x'; 4097];
        let in_order: [(HeaderMap, &[u8], bool, Reply); 11] = [
            (dup, b"", false, Reply::DuplicateHeaders),
            (
                headers(&bad_everything),
                b"",
                false,
                Reply::MissingProviderToken,
            ),
            (headers(&bad_everything), b"", true, Reply::InvalidPushType),
            (headers(&voip_topic), b"", true, Reply::BadTopic),
            (headers(&priority), b"", true, Reply::BadPriority),
            (
                headers(&[("apns-expiration", "x"), ("apns-id", "x")]),
                b"",
                true,
                Reply::BadExpirationDate,
            ),
            (
                headers(&[("apns-id", "x"), ("apns-collapse-id", &long_collapse)]),
                b"",
                true,
                Reply::BadMessageId,
            ),
            (
                headers(&[("apns-collapse-id", &long_collapse)]),
                b"",
                true,
                Reply::BadCollapseId,
            ),
            (HeaderMap::new(), b"", true, Reply::PayloadEmpty),
            (HeaderMap::new(), &too_large, true, Reply::PayloadTooLarge),
            (HeaderMap::new(), b"x", true, Reply::BadPayload),
        ];
        for (h, payload, certificate, expected) in &in_order {
            let got = post(&v, "/3/device/00", h, payload, *certificate);
            assert_eq!(got, Err(expected.clone()), "{expected:?}");
        }
        // The token's age moves with the clock; an hour to the second is fine.
        clock.advance(Duration::from_secs(3600));
        assert!(post(&v, "/3/device/00", &good, body, false).is_ok());
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            post(&v, "/3/device/00", &good, body, false),
            Err(Reply::ExpiredProviderToken)
        );
        assert_eq!(v.distinct_jwts(), 1);
    }

    #[test]
    fn hostile_token_claims_do_not_panic() {
        let key = generate_signing_key("T", "K").unwrap();
        let v = ApnsStandin::builder()
            .signing_key_from(&key)
            .validator()
            .unwrap();
        let check = |headers: &HeaderMap| {
            let parts = RequestParts {
                method: &Method::POST,
                path: "/3/device/00",
                headers,
                body: b"{}",
                client_certificate: false,
                connection_key_id: None,
            };
            v.check(&parts).map(|_| ())
        };
        for iat in [i64::MIN, i64::MAX, 0, -1] {
            let auth = format!("bearer {}", key.jwt(iat).unwrap());
            let h = headers(&[("authorization", &auth), ("apns-topic", "a.b")]);
            let r = check(&h);
            assert!(
                matches!(
                    r,
                    Err(Reply::ExpiredProviderToken | Reply::InvalidProviderToken)
                ),
                "{iat}: {r:?}"
            );
        }
        for junk in [
            "bearer ....",
            "bearer é",
            "BEARER x.y.z",
            "bearer",
            "bearer a.b.c.d",
        ] {
            let mut h = HeaderMap::new();
            h.insert(
                "authorization",
                HeaderValue::from_bytes(junk.as_bytes()).unwrap(),
            );
            h.insert("apns-topic", HeaderValue::from_static("a.b"));
            let r = check(&h);
            assert!(r.is_err(), "{junk}");
        }
    }

    #[test]
    fn p8_round_trip_and_jwt_shape() {
        let key = generate_signing_key("TEAM123456", "KEY1234567").unwrap();
        assert!(key.p8_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(key.p8_pem.ends_with("-----END PRIVATE KEY-----\n"));
        assert_eq!(public_key_from_p8(&key.p8_pem).unwrap(), key.public_key);
        assert_eq!(key.public_key.len(), 65);
        let jwt = key.jwt(1_000).unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        assert!(public_key_from_p8("nonsense").is_err());
        assert!(format!("{key:?}").find("PRIVATE").is_none());
    }
}
