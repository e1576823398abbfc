//! APNs (vendors.md §1): HTTP/2 provider API with token (ES256 JWT) or
//! certificate auth; the answer → [`Outcome`] table is [`RESPONSES`].
//!
//! The body and every header value come from the core's render
//! ([`ApnsHeaders`]); this module adds only what belongs to one send:
//! `authorization`, and `apns-id` (the push's UUID, the same across its
//! retries so both sides' logs match).
//!
//! Refused credentials ([`Outcome::CredentialsRefused`], see
//! [`crate::outcome`]): `InvalidProviderToken`, `MissingProviderToken`,
//! `BadCertificate`, `BadCertificateEnvironment`,
//! `BadEnvironmentKeyIdInToken`, `TopicDisallowed`, `BadTopic`,
//! `MissingTopic`; `ExpiredProviderToken` only when it answers a token
//! minted after APNs called the previous one expired (the first time, a
//! fresh token is minted within the 20-minute floor and the push resent,
//! as before: a second refusal means the clock or the key is wrong); and a
//! provider token that cannot be signed (`ProviderTokenUnavailable`).
//! Decisions where vendors.md is silent: `Forbidden` ("action not
//! allowed") stays a rejection of the push, since it may depend on the
//! push (its type); a 403 reason not in the table is a rejection too. A
//! topic that cannot be a header value is still a local rejection
//! (`BadTopic`, no status): the core rendered it, not APNs refused it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request};
use tidings_core::render::{ApnsHeaders, Headers};
use tidings_std::clock::SharedClock;
use tidings_std::config::{ApnsSection, ConfigError};

use crate::http2::{
    Answer, ConnId, Endpoint, Http2Pool, PoolConfig, SendError, DEFAULT_MAX_CONNECTIONS,
};
use crate::jwt::Es256Key;
use crate::outcome::{retry_after, Backoff, Delivery, Outcome};
use crate::tls::{client_config, ClientIdentity, TlsError};
use crate::Push;

/// Production host (vendors.md §1.1).
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
/// Development host (vendors.md §1.1).
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// `:path` prefix; the hex device token follows (vendors.md §1.2).
pub const DEVICE_PATH: &str = "/3/device/";
/// A provider token is renewed when this old (vendors.md §1.6: at least
/// every 60 minutes; sideshow/apns2 renews at 50).
pub const TOKEN_RENEW_AFTER: Duration = Duration::from_secs(50 * 60);
/// …and never more often than this (vendors.md §1.6: 429
/// `TooManyProviderTokenUpdates` otherwise).
pub const TOKEN_RENEW_FLOOR: Duration = Duration::from_secs(20 * 60);
/// A send's whole budget: connect, wait for a stream, answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = crate::kit::config::DEFAULT_REQUEST_TIMEOUT;
/// 5xx and `Shutdown` after one fresh-connection resend (vendors.md §1.8:
/// exponential backoff; sygnal starts at 10 s, we start at 5 s and stop
/// doubling at 30 minutes).
pub const SERVER_BACKOFF: Backoff = crate::outcome::SERVER_BACKOFF;
/// 429 `TooManyRequests`: that device token only, slower than the rest.
pub const DEVICE_BACKOFF: Backoff = crate::outcome::RATE_BACKOFF;
/// Resends within one send of a request the server asked to be sent on a
/// fresh connection or with a fresh token.
const MAX_RESENDS: u32 = 3;
/// Resends within one send of a request the server did not process
/// (GOAWAY, REFUSED_STREAM): always safe, and each needs a new connection,
/// so the deadline bounds them too; this only stops a server that refuses
/// everything from keeping a send busy until its deadline.
const MAX_UNPROCESSED_RESENDS: u32 = 10;

static APNS_ID: HeaderName = HeaderName::from_static("apns-id");
static APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
static APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");
static APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
static APNS_EXPIRATION: HeaderName = HeaderName::from_static("apns-expiration");
static APNS_COLLAPSE_ID: HeaderName = HeaderName::from_static("apns-collapse-id");

// ---------------------------------------------------------------- config

/// How the client proves who it is (vendors.md §1.6).
#[derive(Debug)]
pub enum ApnsAuth {
    /// ES256 provider token from a `.p8` key.
    Token {
        team_id: String,
        key_id: String,
        key: Box<Es256Key>,
    },
    /// TLS client certificate; no `authorization` header.
    Certificate(ClientIdentity),
}

#[derive(Debug)]
pub struct ApnsConfig {
    /// `production`, `sandbox`, or any `https://host:port`.
    pub endpoint: String,
    pub auth: ApnsAuth,
    /// An extra CA to trust beside the system's (a stand-in's).
    pub ca_file: Option<PathBuf>,
    pub pool: PoolConfig,
    pub request_timeout: Duration,
}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("apns.endpoint: {0}")]
    Endpoint(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl ApnsConfig {
    /// Reads `[apns]`: loads the key or certificate it names. Errors name
    /// the key (`apns.key_file: …`) and never carry key material.
    pub fn from_section(section: &ApnsSection) -> Result<Self, ConfigError> {
        let auth = match (&section.key_file, &section.cert_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "apns.cert_file",
                    "give key_file (token auth) or cert_file (certificate auth), not both",
                ))
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "apns.key_file",
                    "missing: give key_file with team_id and key_id (token auth), or cert_file",
                ))
            }
            (Some(path), None) => {
                let required = |value: &Option<String>, key: &str| {
                    value
                        .clone()
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| ConfigError::new(key, "missing (token auth needs it)"))
                };
                let team_id = required(&section.team_id, "apns.team_id")?;
                let key_id = required(&section.key_id, "apns.key_id")?;
                let pem = std::fs::read(path).map_err(|e| {
                    ConfigError::new(
                        "apns.key_file",
                        format!("{}: cannot read: {e}", path.display()),
                    )
                })?;
                let key = Es256Key::from_pkcs8_pem(&pem).map_err(|e| {
                    ConfigError::new("apns.key_file", format!("{}: {e}", path.display()))
                })?;
                ApnsAuth::Token {
                    team_id,
                    key_id,
                    key: Box::new(key),
                }
            }
            (None, Some(path)) => ApnsAuth::Certificate(
                ClientIdentity::load(path, section.cert_password.as_deref())
                    .map_err(|e| ConfigError::new("apns.cert_file", e.to_string()))?,
            ),
        };
        let endpoint = section
            .endpoint
            .clone()
            .unwrap_or_else(|| "production".to_owned());
        Endpoint::parse(endpoint_url(&endpoint))
            .map_err(|e| ConfigError::new("apns.endpoint", e))?;
        let connections = section.connections.map_or(DEFAULT_MAX_CONNECTIONS, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        if connections == 0 {
            return Err(ConfigError::new("apns.connections", "must be at least 1"));
        }
        let request_timeout = section
            .request_timeout_secs
            .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs);
        if request_timeout.is_zero() {
            return Err(ConfigError::new(
                "apns.request_timeout_secs",
                "must be at least 1",
            ));
        }
        Ok(Self {
            endpoint,
            auth,
            ca_file: section.ca_file.clone(),
            pool: PoolConfig {
                max_connections: connections,
                ..PoolConfig::default()
            },
            request_timeout,
        })
    }
}

/// `production` / `sandbox` (or `development`) / a URL.
pub fn endpoint_url(endpoint: &str) -> &str {
    match endpoint {
        "production" => PRODUCTION_URL,
        "sandbox" | "development" => SANDBOX_URL,
        url => url,
    }
}

// ---------------------------------------------------------------- auth

/// The process's one provider token for a key: minted lazily, shared by
/// every request and connection, renewed at [`TOKEN_RENEW_AFTER`] and
/// never sooner than [`TOKEN_RENEW_FLOOR`] after the last mint.
pub struct ProviderToken {
    team_id: String,
    key_id: String,
    key: Es256Key,
    clock: SharedClock,
    current: RwLock<Option<Minted>>,
    mints: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
struct Minted {
    /// `bearer <JWT>`, marked sensitive (never logged, never indexed by HPACK).
    header: HeaderValue,
    issued_at: SystemTime,
}

impl std::fmt::Debug for ProviderToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderToken")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .field("mints", &self.mints())
            .finish_non_exhaustive()
    }
}

/// What renewal after a rejection gave.
enum Renewal {
    Fresh(HeaderValue),
    /// The floor forbids a new token before this time.
    NotBefore(SystemTime),
}

impl ProviderToken {
    pub fn new(team_id: String, key_id: String, key: Es256Key, clock: SharedClock) -> Self {
        Self {
            team_id,
            key_id,
            key,
            clock,
            current: RwLock::new(None),
            mints: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Tokens minted so far.
    pub fn mints(&self) -> u64 {
        self.mints.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The `authorization` value to send now.
    fn header(&self) -> Result<HeaderValue, String> {
        let now = self.clock.now();
        {
            let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(m) = current.as_ref().filter(|m| age(m, now) < TOKEN_RENEW_AFTER) {
                return Ok(m.header.clone());
            }
        }
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some(m) if age(m, now) < TOKEN_RENEW_AFTER => Ok(m.header.clone()),
            _ => {
                let minted = self.mint(now)?;
                let header = minted.header.clone();
                *current = Some(minted);
                Ok(header)
            }
        }
    }

    /// APNs said the token `rejected` is expired: mint a new one unless a
    /// newer one exists already, or the floor forbids it yet.
    fn renew_after_rejection(&self, rejected: &HeaderValue) -> Result<Renewal, String> {
        let now = self.clock.now();
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = current.as_ref() {
            if m.header != rejected {
                return Ok(Renewal::Fresh(m.header.clone()));
            }
            if age(m, now) < TOKEN_RENEW_FLOOR {
                return Ok(Renewal::NotBefore(m.issued_at + TOKEN_RENEW_FLOOR));
            }
        }
        let minted = self.mint(now)?;
        let header = minted.header.clone();
        *current = Some(minted);
        Ok(Renewal::Fresh(header))
    }

    fn mint(&self, now: SystemTime) -> Result<Minted, String> {
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = serde_json::json!({ "alg": "ES256", "kid": self.key_id }).to_string();
        let claims = serde_json::json!({ "iss": self.team_id, "iat": iat }).to_string();
        let jwt = self
            .key
            .sign(&header, &claims)
            .map_err(|e| format!("provider token: {e}"))?;
        let mut value = HeaderValue::try_from(format!("bearer {jwt}"))
            .map_err(|_| "provider token: not a header value".to_owned())?;
        value.set_sensitive(true);
        self.mints
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(key_id = %self.key_id, iat, "minted an APNs provider token");
        Ok(Minted {
            header: value,
            issued_at: now,
        })
    }
}

fn age(m: &Minted, now: SystemTime) -> Duration {
    // A clock that went back counts as a fresh token: the floor holds.
    now.duration_since(m.issued_at).unwrap_or(Duration::ZERO)
}

// ---------------------------------------------------------------- client

/// An APNs client: one per key or certificate, shared by all sends.
#[derive(Debug)]
pub struct ApnsClient {
    pool: Http2Pool,
    /// Parsed once: each request's URI is built from it and the path.
    authority: http::uri::Authority,
    token: Option<ProviderToken>,
    clock: SharedClock,
    request_timeout: Duration,
}

impl ApnsClient {
    pub fn new(config: ApnsConfig, clock: SharedClock) -> Result<Self, InitError> {
        let endpoint =
            Endpoint::parse(endpoint_url(&config.endpoint)).map_err(InitError::Endpoint)?;
        let (identity, token) = match config.auth {
            ApnsAuth::Token {
                team_id,
                key_id,
                key,
            } => (
                None,
                Some(ProviderToken::new(
                    team_id,
                    key_id,
                    *key,
                    Arc::clone(&clock),
                )),
            ),
            ApnsAuth::Certificate(identity) => (Some(identity), None),
        };
        let tls = client_config(config.ca_file.as_deref(), identity)?;
        let authority = endpoint
            .authority()
            .parse()
            .map_err(|e| InitError::Endpoint(format!("{}: {e}", endpoint.authority())))?;
        let pool = Http2Pool::new(endpoint, tls, config.pool).map_err(InitError::Endpoint)?;
        Ok(Self {
            pool,
            authority,
            token,
            clock,
            request_timeout: config.request_timeout,
        })
    }

    /// Provider tokens minted so far (0 with certificate auth).
    pub fn token_mints(&self) -> u64 {
        self.token.as_ref().map_or(0, ProviderToken::mints)
    }

    /// Connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.pool.connections_opened()
    }

    /// Sends one rendered APNs push; never fails, every end is a [`Delivery`].
    pub async fn send(&self, push: &Push<'_>) -> Delivery {
        if let Some(refused) = push.refuse_revoke("apns") {
            return refused;
        }
        let Headers::Apns(headers) = push.headers else {
            return self.local_reject("NotAnApnsPush");
        };
        match tokio::time::timeout(
            self.request_timeout,
            self.send_until_answered(&headers, push),
        )
        .await
        {
            Ok(delivery) => delivery,
            Err(_) => SendError::Timeout(format!("no answer within {:?}", self.request_timeout))
                .delivery("apns", self.clock.now(), push.attempt),
        }
    }

    async fn send_until_answered(&self, headers: &ApnsHeaders<'_>, push: &Push<'_>) -> Delivery {
        let body = Bytes::copy_from_slice(push.body);
        let mut authorization = match self.authorization() {
            Ok(a) => a,
            Err(e) => return self.auth_failure(&e),
        };
        let (mut resends, mut unprocessed) = (0, 0);
        // A token minted after APNs called the previous one expired: if
        // APNs calls this one expired too, the clock or key is wrong.
        let mut fresh_token = false;
        loop {
            let request = match self.request(headers, push, authorization.as_ref()) {
                Ok(r) => r,
                Err(reason) => return self.local_reject(reason),
            };
            let answer = match self.pool.send(request, body.clone()).await {
                Ok(answer) => answer,
                Err(SendError::Unprocessed(why)) if unprocessed < MAX_UNPROCESSED_RESENDS => {
                    tracing::debug!(%why, "APNs did not process a push; sending it again");
                    unprocessed += 1;
                    continue;
                }
                Err(e) => return e.delivery("apns", self.clock.now(), push.attempt),
            };
            let reply = Reply::read(&answer);
            let action = action_for(answer.status.as_u16(), &reply.reason);
            let resend = resends < MAX_RESENDS;
            match action {
                Action::Resend(Resend::NewConnection) if resend => {
                    self.pool.retire(answer.conn);
                    resends += 1;
                }
                Action::Resend(Resend::NewToken) if fresh_token => {
                    return self.finish(&answer, reply, Action::CredentialsRefused, push)
                }
                Action::Resend(Resend::NewToken) if resend => {
                    match self.renew(authorization.as_ref(), answer.conn) {
                        Ok(Ok(fresh)) => {
                            authorization = Some(fresh);
                            fresh_token = true;
                            resends += 1;
                        }
                        Ok(Err(not_before)) => {
                            return Delivery {
                                outcome: Outcome::Retry {
                                    reason: reply.reason,
                                    not_before,
                                },
                                status: Some(answer.status.as_u16()),
                                id: None,
                                invalid_tokens: Vec::new(),
                            }
                        }
                        Err(e) => return self.auth_failure(&e),
                    }
                }
                Action::Resend(_) => return self.finish(&answer, reply, Action::Backoff, push),
                action => return self.finish(&answer, reply, action, push),
            }
        }
    }

    /// After `ExpiredProviderToken`: a fresh token, or the time the
    /// 20-minute floor allows one (the push is retried then). With
    /// certificate auth there is no token to renew: retry on the backoff.
    fn renew(
        &self,
        rejected: Option<&HeaderValue>,
        conn: ConnId,
    ) -> Result<Result<HeaderValue, SystemTime>, String> {
        let (Some(token), Some(rejected)) = (&self.token, rejected) else {
            return Ok(Err(self.clock.now() + SERVER_BACKOFF.base));
        };
        match token.renew_after_rejection(rejected)? {
            Renewal::Fresh(header) => Ok(Ok(header)),
            Renewal::NotBefore(at) => {
                // The connection may hold the old token's key binding.
                self.pool.retire(conn);
                Ok(Err(at))
            }
        }
    }

    fn authorization(&self) -> Result<Option<HeaderValue>, String> {
        self.token.as_ref().map(ProviderToken::header).transpose()
    }

    fn request(
        &self,
        h: &ApnsHeaders<'_>,
        push: &Push<'_>,
        authorization: Option<&HeaderValue>,
    ) -> Result<Request<()>, &'static str> {
        let mut path = String::with_capacity(DEVICE_PATH.len() + h.device_token.len());
        path.push_str(DEVICE_PATH);
        path.push_str(h.device_token);
        let uri = http::Uri::builder()
            .scheme(http::uri::Scheme::HTTPS)
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|_| "BadDeviceToken")?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(8);
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.clone());
        }
        let value = |text: &str, why: &'static str| HeaderValue::from_str(text).map_err(|_| why);
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut id = value(push.id.hyphenated().encode_lower(&mut id), "BadMessageId")?;
        // Unique to the push: kept out of HPACK's table, where it would
        // only push out the entries that repeat (topic, push type).
        id.set_sensitive(true);
        headers.insert(APNS_ID.clone(), id);
        headers.insert(
            APNS_PUSH_TYPE.clone(),
            HeaderValue::from_static(h.push_type),
        );
        headers.insert(APNS_PRIORITY.clone(), HeaderValue::from_static(h.priority));
        let topic = if h.topic_suffix.is_empty() {
            value(h.topic, "BadTopic")?
        } else {
            value(&format!("{}{}", h.topic, h.topic_suffix), "BadTopic")?
        };
        headers.insert(APNS_TOPIC.clone(), topic);
        if let Some(expiration) = h.expiration {
            headers.insert(APNS_EXPIRATION.clone(), HeaderValue::from(expiration));
        }
        if let Some(collapse_id) = &h.collapse_id {
            headers.insert(
                APNS_COLLAPSE_ID.clone(),
                value(collapse_id.as_str(), "BadCollapseId")?,
            );
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(request)
    }

    fn finish(&self, answer: &Answer, reply: Reply, action: Action, push: &Push<'_>) -> Delivery {
        let status = answer.status.as_u16();
        let now = self.clock.now();
        let retry_after = answer
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        let id = answer
            .headers
            .get(&APNS_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let reason = reply.reason;
        let outcome = match action {
            Action::Deliver => Outcome::Delivered {
                id: id.clone().unwrap_or_else(|| push.id.to_string()),
            },
            Action::DropToken => Outcome::TokenInvalid {
                reason,
                since: reply
                    .timestamp_ms
                    .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            },
            Action::Backoff | Action::Resend(_) => {
                SERVER_BACKOFF.retry(reason, now, push.attempt, retry_after)
            }
            Action::DeviceBackoff => DEVICE_BACKOFF.retry(reason, now, push.attempt, retry_after),
            Action::TokenUpdatesBackoff => Outcome::Retry {
                reason,
                not_before: now + retry_after.unwrap_or(TOKEN_RENEW_FLOOR),
            },
            Action::CredentialsRefused => {
                tracing::debug!(status, %reason, "APNs refused the sender's credentials");
                Outcome::CredentialsRefused { reason }
            }
            Action::Reject => {
                if matches!(status, 400 | 403 | 404 | 405 | 413) {
                    tracing::debug!(status, %reason, "APNs rejected a push: check the configuration or the payload");
                }
                Outcome::Rejected { reason }
            }
        };
        Delivery {
            outcome,
            status: Some(status),
            id,
            invalid_tokens: Vec::new(),
        }
    }

    fn local_reject(&self, reason: &str) -> Delivery {
        Delivery::local_reject(reason)
    }

    /// The provider token could not be signed: the key is unusable, so
    /// every push of the channel would fail the same way.
    fn auth_failure(&self, why: &str) -> Delivery {
        tracing::debug!(%why, "APNs provider token could not be made");
        Delivery::bare(
            Outcome::CredentialsRefused {
                reason: "ProviderTokenUnavailable".into(),
            },
            None,
        )
    }
}

provider!(ApnsClient);

// ---------------------------------------------------------------- answers

/// The error body `{"reason": "...", "timestamp": ms}` (vendors.md §1.7).
struct Reply {
    reason: String,
    timestamp_ms: Option<u64>,
}

impl Reply {
    fn read(answer: &Answer) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            reason: Option<String>,
            timestamp: Option<u64>,
        }
        let body: Option<Body> = (!answer.body.is_empty())
            .then(|| serde_json::from_slice(&answer.body).ok())
            .flatten();
        let (reason, timestamp_ms) = body.map_or((None, None), |b| (b.reason, b.timestamp));
        Self {
            reason: reason.unwrap_or_default(),
            timestamp_ms,
        }
    }
}

/// What one answer asks of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// The device token is dead.
    DropToken,
    /// Send again at once, this way; a second time is a [`Action::Backoff`].
    Resend(Resend),
    /// Server trouble: retry after the server backoff or `Retry-After`.
    Backoff,
    /// Too many pushes to this device: retry it later, slower.
    DeviceBackoff,
    /// Tokens renewed too often: retry once the floor has passed.
    TokenUpdatesBackoff,
    /// The sender's credentials, key, certificate or topic are refused:
    /// [`Outcome::CredentialsRefused`].
    CredentialsRefused,
    /// Fix the push or the configuration; sending again cannot help.
    Reject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    NewConnection,
    NewToken,
}

/// Every row of vendors.md §1.7, status and reason → action.
pub const RESPONSES: &[(u16, &str, Action)] = &[
    (200, "", Action::Deliver),
    (400, "BadCollapseId", Action::Reject),
    (400, "BadDeviceToken", Action::DropToken),
    (400, "BadExpirationDate", Action::Reject),
    (400, "BadMessageId", Action::Reject),
    (400, "BadPriority", Action::Reject),
    (400, "BadTopic", Action::CredentialsRefused),
    (400, "DeviceTokenNotForTopic", Action::DropToken),
    (400, "DuplicateHeaders", Action::Reject),
    (400, "IdleTimeout", Action::Resend(Resend::NewConnection)),
    (400, "InvalidPushType", Action::Reject),
    (400, "MissingDeviceToken", Action::Reject),
    (400, "MissingTopic", Action::CredentialsRefused),
    (400, "PayloadEmpty", Action::Reject),
    (400, "TopicDisallowed", Action::CredentialsRefused),
    (403, "BadCertificate", Action::CredentialsRefused),
    (403, "BadCertificateEnvironment", Action::CredentialsRefused),
    (
        403,
        "ExpiredProviderToken",
        Action::Resend(Resend::NewToken),
    ),
    (403, "Forbidden", Action::Reject),
    (403, "InvalidProviderToken", Action::CredentialsRefused),
    (403, "MissingProviderToken", Action::CredentialsRefused),
    (
        403,
        "UnrelatedKeyIdInToken",
        Action::Resend(Resend::NewConnection),
    ),
    (
        403,
        "BadEnvironmentKeyIdInToken",
        Action::CredentialsRefused,
    ),
    (404, "BadPath", Action::Reject),
    (405, "MethodNotAllowed", Action::Reject),
    (410, "ExpiredToken", Action::DropToken),
    (410, "Unregistered", Action::DropToken),
    (413, "PayloadTooLarge", Action::Reject),
    (
        429,
        "TooManyProviderTokenUpdates",
        Action::TokenUpdatesBackoff,
    ),
    (429, "TooManyRequests", Action::DeviceBackoff),
    (500, "InternalServerError", Action::Backoff),
    (503, "ServiceUnavailable", Action::Backoff),
    (503, "Shutdown", Action::Resend(Resend::NewConnection)),
];

/// The table's row, or by status class for a reason not in it: 2xx
/// delivered, 410 token dead, 429 per device, 5xx backoff, other 4xx
/// rejected. (`TopicDisallowed` refuses the sender rather than dropping the
/// token as sygnal does: it is the app's topic that is refused, not the
/// device.)
pub fn action_for(status: u16, reason: &str) -> Action {
    if (200..300).contains(&status) {
        return Action::Deliver;
    }
    if let Some(&(_, _, action)) = RESPONSES
        .iter()
        .find(|(s, r, _)| *s == status && *r == reason)
    {
        return action;
    }
    if !reason.is_empty() {
        tracing::debug!(status, %reason, "APNs answered a reason not in the table");
    }
    match status {
        410 => Action::DropToken,
        429 => Action::DeviceBackoff,
        500..=599 => Action::Backoff,
        _ => Action::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_reason_has_one_row() {
        for (i, (status, reason, _)) in RESPONSES.iter().enumerate() {
            let again = RESPONSES
                .iter()
                .skip(i + 1)
                .any(|(s, r, _)| s == status && r == reason);
            assert!(!again, "{status} {reason} twice");
        }
        // vendors.md §1.7 lists 32 error rows; plus success.
        assert_eq!(RESPONSES.len(), 33);
    }

    #[test]
    fn table_rows_and_status_class_fallbacks() {
        assert_eq!(action_for(200, ""), Action::Deliver);
        assert_eq!(action_for(410, "Unregistered"), Action::DropToken);
        assert_eq!(action_for(400, "BadDeviceToken"), Action::DropToken);
        assert_eq!(action_for(400, "BadTopic"), Action::CredentialsRefused);
        assert_eq!(action_for(403, "Forbidden"), Action::Reject);
        assert_eq!(
            action_for(403, "ExpiredProviderToken"),
            Action::Resend(Resend::NewToken)
        );
        assert_eq!(
            action_for(503, "Shutdown"),
            Action::Resend(Resend::NewConnection)
        );
        assert_eq!(action_for(429, "TooManyRequests"), Action::DeviceBackoff);
        assert_eq!(
            action_for(429, "TooManyProviderTokenUpdates"),
            Action::TokenUpdatesBackoff
        );
        // Reasons APNs may add later fall back by status class.
        assert_eq!(action_for(502, "SomethingNew"), Action::Backoff);
        assert_eq!(action_for(410, "SomethingNew"), Action::DropToken);
        assert_eq!(action_for(400, "SomethingNew"), Action::Reject);
        assert_eq!(action_for(429, ""), Action::DeviceBackoff);
    }

    #[test]
    fn endpoint_names() {
        assert_eq!(endpoint_url("production"), PRODUCTION_URL);
        assert_eq!(endpoint_url("sandbox"), SANDBOX_URL);
        assert_eq!(endpoint_url("development"), SANDBOX_URL);
        assert_eq!(endpoint_url("https://127.0.0.1:1"), "https://127.0.0.1:1");
    }
}
