//! The HTTP API (axum): `POST /v1/push`, `POST /v1/push/batch`, `GET /v1/jobs/{id}`,
//! `GET /v1/feedback`, `POST /v1/recall`, `POST /v1/tencent/callback`,
//! `GET /metrics`, `GET /healthz`, `GET /readyz`, `GET /openapi.json`.
//! JSON with PascalCase keys, as the case format.
//!
//! [`OPENAPI`] (`openapi.json` beside `Cargo.toml`) describes every route
//! of [`routes`]; the tests hold the two to each other and check every
//! answer they get against it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest as _;
use subtle::ConstantTimeEq;
use tidings_std::clock::SharedClock;
use tidings_std::ingest::AppDoc;

use crate::job::{prepare, prepare_wire, Prepared, WIRE_CONTENT_TYPE};
use crate::metrics::Metrics;
use crate::nats::{AcceptError, Nats};
use crate::store::{Accepted, DeviceRecord, JobForm, JobRecord, Kept, Store};
use crate::time::now_ms;
use crate::worker::{AcceptJobs, Write};

/// `Retry-After` on a 503: the queue is above its high-water mark or
/// (NATS) not reachable.
const BUSY_RETRY_AFTER_SECS: u64 = 5;
/// The request id header, read and answered.
static REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");
/// How long a job or feedback read from NATS may take before a 503.
const NATS_READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);
/// Feedback records per page at most.
const FEEDBACK_PAGE: usize = 1000;

/// Where accepted jobs go.
pub enum Queue {
    Local {
        store: Store,
        /// The store's one writer (jobs and results in one commit).
        writer: tokio::sync::mpsc::Sender<Write>,
        wake: Arc<tokio::sync::Notify>,
        /// The dispatcher's leases: a recall holds them while it commits.
        leases: Arc<std::sync::Mutex<crate::store::Leases>>,
    },
    Nats(Arc<Nats>),
}

pub struct AppState {
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    pub clock: SharedClock,
    pub tokens: Vec<String>,
    pub app: AppDoc,
    /// `[recall]`.
    pub recall: crate::recall::RecallSettings,
    pub max_devices: usize,
    pub high_water: u64,
    /// The body deadline and the rate limits.
    pub limits: crate::limits::ApiLimits,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("tokens", &self.tokens.len())
            .field("max_devices", &self.max_devices)
            .finish_non_exhaustive()
    }
}

/// An error answer: a status and one message (naming the key for a 400).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The framework's refusals of what it could not read — a query string, a
/// path, a body over `server.max_body_bytes` (413) — in the API's JSON
/// `Error` shape with the framework's status, like every other answer.
macro_rules! refusal_as_api_error {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                ApiError::new(rejection.status(), rejection.body_text())
            }
        }
    )*};
}
refusal_as_api_error!(QueryRejection, PathRejection, BytesRejection);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "Error": self.message }))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The OpenAPI 3.1 document of this API, served at `GET /openapi.json`.
///
/// What it decides where the issue was silent: the document is served
/// without a token (it holds no secret, and generators fetch it bare);
/// the refusals the HTTP framework makes itself (a body over `max_body`:
/// 413, a query or path that cannot be read: 400) are answered in the
/// same JSON `Error` shape as every other error; 408 and 429 (the
/// listener's limits) are documented on the routes behind the token, with
/// `Retry-After` required on a 429 and allowed on a 408; the feedback
/// webhook's POSTs are in its `webhooks`; `info.version` is the crate's.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// A bearer token of `server.api_tokens` (when any are configured).
    Token,
    /// Anyone: probes, metrics and the API's description.
    Open,
    /// Authenticated by the route itself, as its caller can: Tencent IM's
    /// callback signature, or an API token in the query.
    Callback,
}

/// The methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Verb {
    /// As an OpenAPI path item names it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        }
    }
}

/// One route: the router is built from these, and the tests compare them
/// with the `paths` of [`OPENAPI`] (method, path and security).
pub struct Route {
    pub verb: Verb,
    /// As axum and OpenAPI both write it (`/v1/jobs/{id}`).
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<Arc<AppState>>,
}

impl Route {
    fn new<H, T>(verb: Verb, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        Self {
            verb,
            path,
            access,
            handler: on(verb.filter(), handler),
        }
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Access::{Callback, Open, Token};
    use Verb::{Get, Post};
    vec![
        Route::new(Post, "/v1/push", Token, push),
        Route::new(Post, "/v1/push/batch", Token, push_batch),
        Route::new(Get, "/v1/jobs/{id}", Token, job),
        Route::new(Get, "/v1/feedback", Token, feedback),
        Route::new(Post, "/v1/recall", Token, recall),
        Route::new(Post, "/v1/tencent/callback", Callback, tencent_callback),
        Route::new(Get, "/metrics", Open, metrics),
        Route::new(Get, "/healthz", Open, || async { "ok" }),
        Route::new(Get, "/readyz", Open, ready),
        Route::new(Get, "/openapi.json", Open, || async {
            ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
        }),
    ]
}

/// The router; `max_body` bytes per request (413 above).
pub fn router(state: Arc<AppState>, max_body: usize) -> Router {
    let mut router = Router::new();
    let mut tokened = Vec::new();
    for route in routes() {
        if route.access == Access::Token {
            tokened.push(route.path);
        }
        router = router.route(route.path, route.handler);
    }
    let front = Front {
        state: Arc::clone(&state),
        tokened: tokened.into(),
    };
    router
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(front, front_door))
        .with_state(state)
}

/// What every request passes through once, before its handler.
#[derive(Clone)]
struct Front {
    state: Arc<AppState>,
    /// The paths behind an API token (whatever the method: a wrong one
    /// is refused 401 before it is told 405).
    tokened: Arc<[&'static str]>,
}

/// Every request gets an id (the caller's `x-request-id` when it is a
/// short visible-ASCII token, else a new UUID) in its log span and its
/// answer, and is counted by matched route (never the raw path: ids would
/// make the label set unbounded) and status; a route behind a token is
/// authorized ([`auth_refusal`]); a body is read under
/// [`body_deadline`]. One layer for all three: each layer is a boxed
/// future and a service clone per request.
async fn front_door(State(front): State<Front>, request: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let state = &front.state;
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let tokened = matched.is_some() && front.tokened.contains(&route);
    let mut response = async {
        if tokened {
            if let Some(refused) = auth_refusal(state, &request) {
                return refused;
            }
        }
        body_deadline(state, request, next).await
    }
    .instrument(span.clone())
    .await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::debug!(
            status,
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    state.metrics.http(route, status);
    response
}

/// `Authorization: Bearer <token>` against the configured tokens, in
/// constant time per token. No tokens configured: the API is open. A
/// valid token over its rate (`server.rate_limit_per_second`) is answered
/// 429; a wrong or missing one 401, or 429 once its client address is over
/// `server.auth_failures_per_minute`. The refusal, if refused.
fn auth_refusal(state: &AppState, request: &Request) -> Option<Response> {
    use subtle::ConditionallySelectable as _;
    if state.tokens.is_empty() {
        return None;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Which token matched, found without an early exit.
    let mut found = u64::MAX;
    for (index, token) in state.tokens.iter().enumerate() {
        let index = u64::try_from(index).unwrap_or(u64::MAX);
        found.conditional_assign(&index, token.as_bytes().ct_eq(given.as_bytes()));
    }
    match usize::try_from(found) {
        Ok(index) if found != u64::MAX && !given.is_empty() => {
            let over = state.limits.tokens.as_ref().map(|t| t.check(&index));
            if let Some(Err(retry_after)) = over {
                state.metrics.rate_limit(index);
                return Some(too_many(
                    format!("API token {index} is over its rate (server.rate_limit_per_second)"),
                    retry_after,
                ));
            }
            None
        }
        _ => Some(unauthorized(state, request)),
    }
}

/// A wrong or missing token: 401, or 429 when the client's address is
/// over its failure rate (a line in the log at most once a minute per
/// address).
fn unauthorized(state: &AppState, request: &Request) -> Response {
    let mut response = refuse_auth(state, peer_of(request), "a valid bearer token is needed");
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The client address of a request (unspecified when the listener gave
/// none).
fn peer_of(request: &Request) -> std::net::IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip())
}

/// A failed authentication from `peer`: 401 with `message`, or 429 once
/// the address is over its failure rate.
fn refuse_auth(state: &AppState, peer: std::net::IpAddr, message: &str) -> Response {
    let (verdict, line) = state.limits.failed_auth.note(peer, now_ms(&state.clock));
    if let Some(line) = line {
        crate::limits::log_failed_auth(line);
    }
    state.metrics.auth_failure(verdict.is_err());
    if let Err(retry_after) = verdict {
        return too_many(
            "too many failed authentications from this address (server.auth_failures_per_minute)",
            retry_after,
        );
    }
    ApiError::new(StatusCode::UNAUTHORIZED, message).into_response()
}

/// A 429 with `Retry-After`.
fn too_many(message: impl Into<String>, retry_after: u64) -> Response {
    let mut limited = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
    limited.retry_after = Some(retry_after);
    limited.into_response()
}

/// A request's body must arrive within `server.body_timeout_secs` of its
/// headers: past it the body fails, and the answer is a 408 (closing an
/// HTTP/1.1 connection: the rest of the body would be read as a request).
async fn body_deadline(state: &AppState, request: Request, next: Next) -> Response {
    use http_body::Body as _;
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let within = state.limits.body_timeout;
    let expired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http1 = request.version() < axum::http::Version::HTTP_2;
    let request = request.map(|body| {
        axum::body::Body::new(crate::limits::DeadlineBody::new(
            body,
            within,
            Arc::clone(&expired),
        ))
    });
    let response = next.run(request).await;
    if !expired.load(std::sync::atomic::Ordering::Relaxed) {
        return response;
    }
    state.metrics.timeout("body");
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body did not arrive within {} s (server.body_timeout_secs)",
            within.as_secs()
        ),
    )
    .into_response();
    if http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[derive(Deserialize)]
struct PushQuery {
    #[serde(default)]
    dry_run: bool,
}

/// Request bodies up to this size are read on the request's own task;
/// larger ones on a blocking thread, so a big fan-out does not hold an
/// executor thread.
const INLINE_PREPARE_BYTES: usize = 16 * 1024;
/// Push requests in one batch at most.
pub const MAX_BATCH: usize = 1000;

/// A push request read, decided and rendered: what to accept.
struct Ready {
    record: JobRecord,
    devices: Vec<DeviceRecord>,
    /// The request as it came (the NATS queue keeps a JSON job's).
    request: Option<Bytes>,
    suppressed: Vec<String>,
}

impl Ready {
    fn new(prepared: Prepared, body: Bytes, wire: bool, accepted_ms: u64) -> Self {
        let record = JobRecord {
            id: uuid::Uuid::now_v7().to_string(),
            accepted_ms,
            devices: u32::try_from(prepared.devices.len()).unwrap_or(u32::MAX),
            body_sha256: if prepared.idempotency_key.is_some() {
                hex::encode(sha2::Sha256::digest(&body))
            } else {
                String::new()
            },
            idempotency_key: prepared.idempotency_key,
            form: if wire {
                JobForm::Wire {
                    bytes: body.to_vec(),
                }
            } else {
                JobForm::Json
            },
            kept: prepared.message_key.map(|message_key| Kept {
                message_key,
                request: (!wire).then(|| String::from_utf8_lossy(&body).into_owned()),
            }),
        };
        let suppressed = prepared
            .devices
            .iter()
            .filter_map(|d| match &d.state {
                crate::store::DeviceState::Suppressed { reason } => Some(reason.clone()),
                _ => None,
            })
            .collect();
        Self {
            record,
            devices: prepared.devices,
            request: (!wire).then_some(body),
            suppressed,
        }
    }
}

/// Whether the body is the postcard wire job (else JSON); another
/// `Content-Type` is a 415.
fn body_form(headers: &HeaderMap, wire_allowed: bool) -> Result<bool, ApiError> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let wire = wire_allowed && kind.starts_with(WIRE_CONTENT_TYPE);
    if !wire && !kind.starts_with("application/json") {
        let allowed = if wire_allowed {
            format!("application/json or {WIRE_CONTENT_TYPE}")
        } else {
            "application/json".to_owned()
        };
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {kind:?}: send {allowed}"),
        ));
    }
    Ok(wire)
}

/// A 503 while the queue is above its high-water mark or unreachable.
fn ensure_room(state: &AppState) -> Result<(), ApiError> {
    let queued = match &state.queue {
        Queue::Local { store, .. } => store.queued(),
        Queue::Nats(nats) => {
            if !nats.connected() {
                return Err(unavailable("the queue (NATS) is not reachable"));
            }
            nats.depth()
        }
    };
    if queued >= state.high_water {
        return Err(unavailable(format!("the queue is full ({queued} waiting)")));
    }
    Ok(())
}

/// Runs `work` on this task when the body is small, else on a blocking
/// thread.
async fn off_task<T: Send + 'static>(
    size: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if size <= INLINE_PREPARE_BYTES {
        Ok(work())
    } else {
        tokio::task::spawn_blocking(work).await.map_err(internal)
    }
}

/// Accepts jobs: on the local queue in one commit (all or, when the store
/// cannot commit, none: a 503), on NATS one by one (each its own answer).
/// The local queue takes the device records (moved, not copied).
async fn accept(
    state: &AppState,
    ready: Vec<&mut Ready>,
) -> Result<Vec<Result<Accepted, ApiError>>, ApiError> {
    match &state.queue {
        Queue::Local { writer, wake, .. } => {
            let (reply, answered) = tokio::sync::oneshot::channel();
            let jobs = ready
                .into_iter()
                .map(|r| (r.record.clone(), std::mem::take(&mut r.devices)))
                .collect();
            writer
                .send(Write::Accept(AcceptJobs { jobs, reply }))
                .await
                .map_err(|_| internal("the store's writer has stopped"))?;
            let accepted = answered
                .await
                .map_err(|_| internal("the store's writer dropped a job"))?
                .map_err(|why| {
                    tracing::error!(%why, "a push was not accepted: the store cannot commit");
                    unavailable("the queue cannot take it now: the store cannot commit")
                })?;
            wake.notify_one();
            Ok(accepted.into_iter().map(Ok).collect())
        }
        Queue::Nats(nats) => {
            let mut answers = Vec::with_capacity(ready.len());
            for r in ready {
                let accepted = nats
                    .accept(r.record.clone(), r.request.as_deref(), &r.devices)
                    .await
                    .map_err(nats_refusal);
                answers.push(accepted);
            }
            Ok(answers)
        }
    }
}

/// An accept the NATS queue refused, as the API answers it.
fn nats_refusal(e: AcceptError) -> ApiError {
    match e {
        AcceptError::Unavailable(why) => {
            tracing::warn!(%why, "a push was not accepted");
            unavailable(format!("the queue cannot take it now: {why}"))
        }
        AcceptError::TooLarge { size, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the job is {size} bytes as queued, over the NATS server's max_payload of {limit} bytes"
            ),
        ),
        AcceptError::Internal(why) => internal(why),
    }
}

/// The answer to one accepted job: `{"JobId", "Devices"}`, or a 409 when
/// its `IdempotencyKey` names another request.
fn answer(state: &AppState, ready: &Ready, accepted: Accepted) -> Result<Value, ApiError> {
    match accepted {
        Accepted::New => {
            for reason in &ready.suppressed {
                state.metrics.suppress(reason);
            }
            Ok(json!({ "JobId": ready.record.id, "Devices": ready.record.devices }))
        }
        Accepted::Existing { job_id, devices } => {
            Ok(json!({ "JobId": job_id, "Devices": devices }))
        }
        Accepted::Conflict { job_id } => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("IdempotencyKey: already used by job {job_id} for another request body"),
        )),
    }
}

fn accepted_now(state: &AppState) -> (u64, i64) {
    let accepted_ms = now_ms(&state.clock);
    (
        accepted_ms,
        i64::try_from(accepted_ms / 1000).unwrap_or(i64::MAX),
    )
}

/// What both push routes read first: the dry-run flag and the body (the
/// framework's refusals of either in the API's JSON shape), room in the
/// queue unless it is a dry run, and the time it is accepted at.
struct Incoming {
    started: Instant,
    dry_run: bool,
    body: Bytes,
    accepted_ms: u64,
    now: i64,
}

fn incoming(
    state: &AppState,
    query: Result<Query<PushQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Incoming, ApiError> {
    let started = Instant::now();
    let Query(query) = query?;
    let body = body?;
    if !query.dry_run {
        ensure_room(state)?;
    }
    let (accepted_ms, now) = accepted_now(state);
    Ok(Incoming {
        started,
        dry_run: query.dry_run,
        body,
        accepted_ms,
        now,
    })
}

async fn push(
    State(state): State<Arc<AppState>>,
    query: Result<Query<PushQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let wire = body_form(&headers, true)?;
    let input = incoming(&state, query, body)?;
    let (dry_run, now, body) = (input.dry_run, input.now, input.body);
    let (app, max) = (state.app.clone(), state.max_devices);
    let prepared = off_task(body.len(), move || {
        if wire {
            prepare_wire(&body, now, dry_run).map(|p| (p, body))
        } else {
            prepare(&body, now, &app, max, dry_run).map(|p| (p, body))
        }
    })
    .await?
    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (prepared, body) = prepared;
    if dry_run {
        let n = prepared.reports.len();
        return Ok((
            StatusCode::OK,
            Json(json!({ "Devices": n, "Results": prepared.reports })),
        )
            .into_response());
    }
    let mut ready = Ready::new(prepared, body, wire, input.accepted_ms);
    let accepted = accept(&state, vec![&mut ready])
        .await?
        .pop()
        .ok_or_else(|| internal("no answer for the job"))??;
    let answer = answer(&state, &ready, accepted)?;
    state
        .metrics
        .accept_seconds
        .observe(input.started.elapsed().as_secs_f64());
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// `POST /v1/push/batch`: a JSON array of push requests, each read as
/// `POST /v1/push` reads one. One answer per element, in order: its
/// `JobId` and `Devices`, or its `Error` (the key path prefixed with the
/// element's index) and `Status`; an element that fails queues nothing,
/// the others are accepted in one commit. At most [`MAX_BATCH`] elements
/// and `server.max_devices` devices in all.
async fn push_batch(
    State(state): State<Arc<AppState>>,
    query: Result<Query<PushQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    body_form(&headers, false)?;
    let input = incoming(&state, query, body)?;
    let (dry_run, now, body) = (input.dry_run, input.now, input.body);
    let (app, max) = (state.app.clone(), state.max_devices);
    let prepared = off_task(body.len(), move || {
        let elements: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body)
            .map_err(|e| format!("a batch is a JSON array of push requests: {e}"))?;
        if elements.is_empty() {
            return Err("a batch is a JSON array of push requests: empty".to_owned());
        }
        if elements.len() > MAX_BATCH {
            return Err(format!("more than {MAX_BATCH} push requests in one batch"));
        }
        let mut left = max;
        let mut out = Vec::with_capacity(elements.len());
        for (i, element) in elements.into_iter().enumerate() {
            let bytes = body.slice_ref(element.get().as_bytes());
            let one = match prepare(&bytes, now, &app, left, dry_run) {
                Ok(p) => {
                    left -= p.devices.len();
                    Ok((p, bytes))
                }
                Err(e) if e.key.is_empty() => Err(format!("[{i}]: {}", e.reason)),
                Err(e) => Err(format!("[{i}].{e}")),
            };
            out.push(one);
        }
        Ok(out)
    })
    .await?
    .map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, why))?;
    let refused =
        |error: &ApiError| json!({ "Error": error.message, "Status": error.status.as_u16() });
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    if dry_run {
        let results: Vec<Value> = prepared
            .into_iter()
            .map(|one| match one {
                Ok((p, _)) => json!({ "Devices": p.reports.len(), "Results": p.reports }),
                Err(why) => refused(&bad(why)),
            })
            .collect();
        return Ok((StatusCode::OK, Json(json!({ "Results": results }))).into_response());
    }
    let mut ready: Vec<Result<Ready, String>> = prepared
        .into_iter()
        .map(|one| one.map(|(p, bytes)| Ready::new(p, bytes, false, input.accepted_ms)))
        .collect();
    let mut accepted = accept(
        &state,
        ready.iter_mut().filter_map(|r| r.as_mut().ok()).collect(),
    )
    .await?
    .into_iter();
    let results: Vec<Value> = ready
        .into_iter()
        .map(|one| {
            let answered = match one {
                Ok(r) => accepted
                    .next()
                    .unwrap_or_else(|| Err(internal("no answer for a job")))
                    .and_then(|a| answer(&state, &r, a)),
                Err(why) => Err(bad(why)),
            };
            answered.unwrap_or_else(|e| refused(&e))
        })
        .collect();
    state
        .metrics
        .accept_seconds
        .observe(input.started.elapsed().as_secs_f64());
    Ok((StatusCode::ACCEPTED, Json(json!({ "Results": results }))).into_response())
}

async fn job(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id?;
    let found: Option<(JobRecord, Vec<DeviceRecord>)> = match &state.queue {
        Queue::Local { store, .. } => {
            let (store, lookup) = (store.clone(), id.clone());
            let (record, devices) = tokio::task::spawn_blocking(move || {
                let record = store.job(&lookup)?;
                let devices = store.devices(&lookup)?;
                Ok::<_, crate::store::StoreError>((record, devices))
            })
            .await
            .map_err(internal)?
            .map_err(internal)?;
            record.map(|r| (r, devices))
        }
        Queue::Nats(nats) => bounded(nats.job_view(&id)).await.map_err(|why| {
            tracing::warn!(%why, "reading a job from NATS failed");
            unavailable("the queue (NATS) cannot be read now")
        })?,
    };
    let (record, devices) =
        found.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job {id}")))?;
    let devices: Vec<Value> = devices
        .into_iter()
        .map(|d| {
            let mut entry = d.state.view();
            entry["Path"] = d.path.into();
            entry["Channel"] = d.channel.into();
            entry["Token"] = d.token.into();
            entry["Attempts"] = d.attempts.into();
            entry
        })
        .collect();
    Ok(Json(json!({
        "JobId": record.id,
        "AcceptedAt": record.accepted_ms,
        "Devices": devices,
    })))
}

/// `POST /v1/recall`: recalls or edits a message the gateway pushed
/// ([`crate::recall`]); 202 with what it did per device, 404 when no job
/// of the message is held, 409 for an edit after a recall; the same on
/// either queue.
async fn recall(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    body_form(&headers, false)?;
    let body = body?;
    let ask = crate::recall::RecallRequest::parse(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, refusal_text(&e)))?;
    let outcome = recall_one(&state, &ask.message_key, ask.edit.as_deref()).await?;
    let outcome = outcome.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            crate::store::RecallError::Unknown(ask.message_key.clone()).to_string(),
        )
    })?;
    Ok((StatusCode::ACCEPTED, Json(recall_answer(&outcome))).into_response())
}

fn refusal_text(e: &crate::recall::Refused) -> String {
    if e.key.is_empty() {
        e.reason.clone()
    } else {
        e.to_string()
    }
}

/// `{"JobId", "Devices": {…}, "Repeated"}`.
fn recall_answer(o: &crate::store::RecallOutcome) -> Value {
    json!({
        "JobId": o.job_id,
        "Devices": {
            "Recalled": o.recalled,
            "Edited": o.edited,
            "InFlight": o.in_flight,
            "Replaced": o.replaced,
            "Revoked": o.revoked,
            "Removed": o.removed,
            "Untouched": o.untouched,
        },
        "Repeated": o.repeated,
    })
}

/// One recall on either queue; `None` when no job of the key is held.
async fn recall_one(
    state: &AppState,
    message_key: &str,
    edit: Option<&str>,
) -> Result<Option<crate::store::RecallOutcome>, ApiError> {
    use crate::store::RecallError;
    let now_ms = now_ms(&state.clock);
    let done = match &state.queue {
        Queue::Local {
            store,
            wake,
            leases,
            ..
        } => {
            let (store, leases) = (store.clone(), Arc::clone(leases));
            let (key, edit) = (message_key.to_owned(), edit.map(str::to_owned));
            let done = tokio::task::spawn_blocking(move || {
                let ask = crate::store::Recall {
                    message_key: &key,
                    edit: edit.as_deref(),
                    now_ms,
                };
                store.recall(&ask, &leases)
            })
            .await
            .map_err(internal)?;
            if done.is_ok() {
                wake.notify_one();
            }
            done
        }
        Queue::Nats(nats) => {
            // Its own task: a caller that gives up does not stop a recall
            // half made.
            let (nats, key, edit) = (
                Arc::clone(nats),
                message_key.to_owned(),
                edit.map(str::to_owned),
            );
            tokio::spawn(async move { nats.recall(&key, edit.as_deref(), now_ms).await })
                .await
                .map_err(internal)?
                .map_err(|why| {
                tracing::warn!(%why, "a recall was not made (whole): NATS cannot be read or written");
                    unavailable("the recall cannot be made now: the queue (NATS) cannot be read or written")
                })?
        }
    };
    match done {
        Ok(outcome) => {
            if !outcome.repeated {
                state.metrics.recall(&[
                    ("recalled", u64::from(outcome.recalled)),
                    ("edited", u64::from(outcome.edited)),
                    ("in_flight", u64::from(outcome.in_flight)),
                    ("replaced", u64::from(outcome.replaced)),
                    ("revoked", u64::from(outcome.revoked)),
                    ("removed", u64::from(outcome.removed)),
                    ("untouched", u64::from(outcome.untouched)),
                ]);
            }
            Ok(Some(outcome))
        }
        Err(RecallError::Unknown(_)) => Ok(None),
        Err(e @ RecallError::AfterRecall(_)) => {
            Err(ApiError::new(StatusCode::CONFLICT, e.to_string()))
        }
        Err(RecallError::Store(e)) => {
            tracing::error!(error = %e, "a recall was not made: the store cannot commit");
            Err(unavailable(
                "the recall cannot be made now: the store cannot commit",
            ))
        }
    }
}

/// `POST /v1/tencent/callback`: Tencent IM's recall callbacks as Tencent
/// sends them ([`crate::recall`]), authenticated by its signature or an
/// API token in the query; answered `{"ActionStatus": "OK", "ErrorCode":
/// 0, "ErrorInfo": ""}`. A recalled message the gateway never pushed is
/// nothing to do (most messages reach an online app without a push).
async fn tencent_callback(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    use axum::extract::FromRequest as _;
    let peer = peer_of(&request);
    let query: Query<crate::recall::CallbackQuery> = Query::try_from_uri(request.uri())?;
    let now_secs = i64::try_from(now_ms(&state.clock) / 1000).unwrap_or(i64::MAX);
    if let Err(why) = crate::recall::authenticate(&state.recall, &state.tokens, &query, now_secs) {
        return Ok(refuse_auth(&state, peer, &why.to_string()));
    }
    let body = Bytes::from_request(request, &state).await?;
    let keys = crate::recall::callback_keys(&query, &body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, refusal_text(&e)))?;
    for key in keys {
        if recall_one(&state, &key, None).await?.is_none() {
            tracing::debug!(message_key = %key, "a recalled message the gateway holds no job of");
        }
    }
    Ok(Json(json!({ "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "" })).into_response())
}

#[derive(Deserialize)]
struct FeedbackQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn feedback(
    State(state): State<Arc<AppState>>,
    q: Result<Query<FeedbackQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(FEEDBACK_PAGE).clamp(1, FEEDBACK_PAGE);
    let records = match &state.queue {
        Queue::Local { store, .. } => {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.feedback_after(q.after, limit))
                .await
                .map_err(internal)?
                .map_err(internal)?
        }
        Queue::Nats(nats) => bounded(nats.feedback_after(q.after, limit))
            .await
            .map_err(|why| {
                tracing::warn!(%why, "reading feedback from NATS failed");
                unavailable("the queue (NATS) cannot be read now")
            })?,
    };
    let next = records.last().map_or(q.after, |(seq, _)| *seq);
    let records: Vec<Value> = records
        .into_iter()
        .map(|(seq, f)| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            v["Seq"] = seq.into();
            v
        })
        .collect();
    Ok(Json(json!({ "Records": records, "Next": next })))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let depth = match &state.queue {
        Queue::Local { store, .. } => {
            state
                .metrics
                .store_bytes
                .set(i64::try_from(store.size_bytes()).unwrap_or(i64::MAX));
            Some(store.queued())
        }
        Queue::Nats(nats) => nats.refresh_depth().await.ok(),
    };
    if let Some(depth) = depth {
        state
            .metrics
            .queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    match &state.queue {
        Queue::Local { store, .. } => {
            let store = store.clone();
            let checked = tokio::task::spawn_blocking(move || {
                store.next_due()?;
                // After a failed commit, ready only once a write commits.
                if !store.is_writable() {
                    store.check_writable()?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .await;
            match checked {
                Ok(Ok(())) => Ok("ready"),
                _ => Err(unavailable("the store cannot commit")),
            }
        }
        Queue::Nats(nats) if nats.connected() => Ok("ready"),
        Queue::Nats(_) => Err(unavailable("the queue (NATS) is not reachable")),
    }
}

/// A read from NATS answered within [`NATS_READ_DEADLINE`], or an error.
async fn bounded<T>(
    read: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(NATS_READ_DEADLINE, read)
        .await
        .unwrap_or_else(|_| Err("no answer from NATS in time".into()))
}

/// A 503 the caller should retry after a pause.
fn unavailable(message: impl Into<String>) -> ApiError {
    let mut busy = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
    busy.retry_after = Some(BUSY_RETRY_AFTER_SECS);
    busy
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The methods an OpenAPI path item may hold.
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// Every route the router has is in the document, with its method and
    /// its security (the global bearer scheme, `security: []` for an open
    /// route, Tencent's signature or a query token for a callback), and
    /// the document has no other operation.
    #[test]
    fn the_document_describes_exactly_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let routed: BTreeSet<(String, &str, Access)> = routes()
            .iter()
            .map(|r| (r.path.to_owned(), r.verb.name(), r.access))
            .collect();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(method) = METHODS.iter().find(|m| **m == method) else {
                    continue; // `parameters`, `summary`…
                };
                let access = match operation.get("security") {
                    None => Access::Token,
                    Some(s) if *s == json!([]) => Access::Open,
                    Some(s) if *s == json!([{ "tencentSign": [] }, { "callbackToken": [] }]) => {
                        Access::Callback
                    }
                    Some(other) => panic!("{method} {path}: security {other}"),
                };
                documented.insert((path.clone(), *method, access));
            }
        }
        assert_eq!(routed, documented);
        assert_eq!(routed.len(), routes().len(), "a route given twice");
        assert_eq!(doc["security"], json!([{ "bearerAuth": [] }]));
        let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
        assert_eq!(
            (&scheme["type"], &scheme["scheme"]),
            (&json!("http"), &json!("bearer"))
        );
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }
}
