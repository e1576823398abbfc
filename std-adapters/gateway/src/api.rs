//! The HTTP API (axum): `POST /v1/push`, `GET /v1/jobs/{id}`,
//! `GET /v1/feedback`, `GET /metrics`, `GET /healthz`, `GET /readyz`.
//! JSON with PascalCase keys, as the case format.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest as _;
use subtle::ConstantTimeEq;
use tidings_std::clock::SharedClock;
use tidings_std::ingest::AppDoc;

use crate::job::{prepare, prepare_wire, WIRE_CONTENT_TYPE};
use crate::metrics::Metrics;
use crate::nats::{AcceptError, Nats};
use crate::store::{Accepted, DeviceRecord, JobForm, JobRecord, Store};
use crate::worker::now_ms;

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
        /// Jobs to commit: one writer commits every waiting job at once.
        acceptor: tokio::sync::mpsc::Sender<AcceptJob>,
        wake: Arc<tokio::sync::Notify>,
    },
    Nats(Arc<Nats>),
}

pub struct AppState {
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    pub clock: SharedClock,
    pub tokens: Vec<String>,
    pub app: AppDoc,
    pub max_devices: usize,
    pub high_water: u64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("tokens", &self.tokens.len())
            .field("max_devices", &self.max_devices)
            .finish_non_exhaustive()
    }
}

/// A job waiting to be committed, and where its answer goes.
pub struct AcceptJob {
    pub job: JobRecord,
    pub devices: Vec<crate::store::DeviceRecord>,
    pub reply: tokio::sync::oneshot::Sender<Result<Accepted, String>>,
}

/// Jobs committed in one transaction at most.
const ACCEPT_BATCH: usize = 512;

/// The store's one writer of jobs: it takes every job waiting and commits
/// them in one durable transaction, then answers each. A request is still
/// answered 202 only after its job is on disk, but a burst of requests
/// costs one disk sync, not one each. Ends when every sender is gone.
pub async fn accept_loop(store: Store, mut jobs: tokio::sync::mpsc::Receiver<AcceptJob>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < ACCEPT_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writer = store.clone();
        let committed = tokio::task::spawn_blocking(move || {
            let refs: Vec<(&JobRecord, &[crate::store::DeviceRecord])> = batch
                .iter()
                .map(|a| (&a.job, a.devices.as_slice()))
                .collect();
            let answers = writer.accept_all(&refs);
            (batch, answers)
        })
        .await;
        let Ok((batch, answers)) = committed else {
            tracing::error!("the store writer task failed");
            continue;
        };
        match answers {
            Ok(answers) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.to_string()));
                }
            }
        }
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

/// The router; `max_body` bytes per request (413 above).
pub fn router(state: Arc<AppState>, max_body: usize) -> Router {
    let api = Router::new()
        .route("/v1/push", post(push))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/feedback", get(feedback))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authorize,
        ));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), count))
        .with_state(state)
}

/// Every request gets an id (the caller's `x-request-id` when it is a
/// short visible-ASCII token, else a new UUID) in its log span and its
/// answer, and is counted by matched route (never the raw path: ids would
/// make the label set unbounded) and status.
async fn count(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
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
    state.metrics.http(&route, status);
    response
}

/// `Authorization: Bearer <token>` against the configured tokens, in
/// constant time per token. No tokens configured: the API is open.
async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if state.tokens.is_empty() {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let mut ok = subtle::Choice::from(0u8);
    for token in &state.tokens {
        ok |= token.as_bytes().ct_eq(given.as_bytes());
    }
    if bool::from(ok) && !given.is_empty() {
        next.run(request).await
    } else {
        let mut response =
            ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is needed")
                .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }
}

#[derive(Deserialize)]
struct PushQuery {
    #[serde(default)]
    dry_run: bool,
}

async fn push(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PushQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let wire = kind.starts_with(WIRE_CONTENT_TYPE);
    if !wire && !kind.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {kind:?}: send application/json or {WIRE_CONTENT_TYPE}"),
        ));
    }
    if !query.dry_run {
        let queued = match &state.queue {
            Queue::Local { store, .. } => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.queued())
                    .await
                    .map_err(internal)?
                    .map_err(internal)?
            }
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
    }
    let accepted_ms = now_ms(&state.clock);
    let now = i64::try_from(accepted_ms / 1000).unwrap_or(i64::MAX);
    let (app, max) = (state.app.clone(), state.max_devices);
    let dry_run = query.dry_run;
    let prepared = tokio::task::spawn_blocking(move || {
        if wire {
            prepare_wire(&body, now, dry_run).map(|p| (p, body))
        } else {
            prepare(&body, now, &app, max, dry_run).map(|p| (p, body))
        }
    })
    .await
    .map_err(internal)?
    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (prepared, body) = prepared;
    if query.dry_run {
        let n = prepared.reports.len();
        return Ok((
            StatusCode::OK,
            Json(json!({ "Devices": n, "Results": prepared.reports })),
        )
            .into_response());
    }
    let job = JobRecord {
        id: uuid::Uuid::new_v4().to_string(),
        accepted_ms,
        devices: u32::try_from(prepared.devices.len()).unwrap_or(u32::MAX),
        idempotency_key: prepared.idempotency_key,
        body_sha256: hex::encode(sha2::Sha256::digest(&body)),
        form: if wire {
            JobForm::Wire {
                bytes: body.to_vec(),
            }
        } else {
            JobForm::Json
        },
    };
    // The NATS queue keeps a JSON job's request: its devices are read
    // from it again by whichever gateway fans it out.
    let request_body = (!wire).then_some(body);
    let suppressed: Vec<String> = prepared
        .devices
        .iter()
        .filter_map(|d| match &d.state {
            crate::store::DeviceState::Suppressed { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let (job_id, devices) = (job.id.clone(), job.devices);
    let accepted = match &state.queue {
        Queue::Local { acceptor, .. } => {
            let (reply, answered) = tokio::sync::oneshot::channel();
            let request = AcceptJob {
                job,
                devices: prepared.devices,
                reply,
            };
            acceptor
                .send(request)
                .await
                .map_err(|_| internal("the store writer has stopped"))?;
            answered
                .await
                .map_err(|_| internal("the store writer dropped a job"))?
                .map_err(|why| {
                    tracing::error!(%why, "a push was not accepted: the store cannot commit");
                    unavailable("the queue cannot take it now: the store cannot commit")
                })?
        }
        Queue::Nats(nats) => {
            nats.accept(job, request_body.as_deref())
                .await
                .map_err(|e| match e {
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
                })?
        }
    };
    let answer = match accepted {
        Accepted::New => {
            for reason in &suppressed {
                state.metrics.suppress(reason);
            }
            if let Queue::Local { wake, .. } = &state.queue {
                wake.notify_one();
            }
            json!({ "JobId": job_id, "Devices": devices })
        }
        Accepted::Existing { job_id, devices } => json!({ "JobId": job_id, "Devices": devices }),
        Accepted::Conflict { job_id } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("IdempotencyKey: already used by job {job_id} for another request body"),
            ))
        }
    };
    state
        .metrics
        .accept_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

async fn job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
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

#[derive(Deserialize)]
struct FeedbackQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn feedback(
    State(state): State<Arc<AppState>>,
    Query(q): Query<FeedbackQuery>,
) -> Result<Json<Value>, ApiError> {
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
            store.queued().ok()
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
                store.queued()?;
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
