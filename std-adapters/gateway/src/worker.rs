//! The workers: take due devices from the queue, decide and render them
//! again from what the store kept (at the job's accepted time), send them
//! through their provider's client, and commit each result with the
//! removal of its queue entry.
//!
//! - Per-provider concurrency: at most `concurrency` sends in flight per
//!   channel.
//! - Retries: the provider's `Retry` time (its `Retry-After`, or its
//!   policy, growing with the attempt) plus up to 20 % jitter, within the
//!   device's budget — the message's `MsgLifeTime`, else
//!   `retry_budget` (1 h) — after which the device is `failed`.
//! - A push whose `MsgLifeTime` has passed is `expired`, not sent.
//! - Results are committed in batches (one transaction for all that
//!   arrived while the last one committed), so a burst costs
//!   few disk syncs; a crash before a commit sends those devices again
//!   (at least once), a committed result is never sent again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use tidings_core::model::{Case, Channel};
use tidings_core::{decide, Decision};
use tidings_deliver::{Delivery, Outcome, Provider, Push};
use tidings_std::clock::SharedClock;
use tidings_std::config::Config;
use tidings_std::ingest::AppDoc;
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::job::{case_doc, render_push};
use crate::metrics::Metrics;
use crate::store::{
    DeviceRecord, DeviceResult, DeviceState, Feedback, JobForm, JobRecord, Leases, QueueKey, Store,
};

/// Due devices read from the queue at a time.
const BATCH: usize = 512;
/// Results committed in one transaction at most: a commit costs one disk
/// sync whatever its size, so the committer takes all that is waiting.
const COMMIT_BATCH: usize = 4096;
/// How long the committer waits to fill a batch.
const COMMIT_WINDOW: Duration = Duration::from_millis(2);
/// Longest idle wait between queue reads (new jobs wake the loop at once).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Jitter added to a retry time, as a fraction of its delay.
const JITTER: f64 = 0.2;

/// UUID namespace for pushes: a device's push id (APNs `apns-id`) is the
/// same on every attempt and after a restart.
const PUSH_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x7d1c_9e0a_5b3f_4c2e_9a61_0f4d_8b27_c5e3);

pub struct Settings {
    pub concurrency: usize,
    pub retry_budget: Duration,
    pub app: AppDoc,
}

/// The providers, made from the config when a channel is first needed.
struct Providers {
    config: Config,
    clock: SharedClock,
    made: Mutex<HashMap<&'static str, Arc<dyn Provider>>>,
}

impl Providers {
    fn get(&self, channel: Channel) -> Result<Arc<dyn Provider>, String> {
        let mut made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = made.get(channel.name()) {
            return Ok(Arc::clone(p));
        }
        let provider: Arc<dyn Provider> = Arc::from(
            tidings_deliver::client_for(channel, &self.config, Arc::clone(&self.clock))
                .map_err(|e| e.to_string())?,
        );
        made.insert(channel.name(), Arc::clone(&provider));
        Ok(provider)
    }
}

/// The running workers: a dispatcher and a committer.
pub struct Workers {
    pub(crate) wake: Arc<Notify>,
    stop: tokio::sync::watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<()>,
}

/// What sending a device needs, whichever queue it came from.
pub(crate) struct Context {
    pub(crate) clock: SharedClock,
    pub(crate) metrics: Arc<Metrics>,
    providers: Providers,
    pub(crate) settings: Settings,
    limits: Mutex<HashMap<&'static str, Arc<Semaphore>>>,
}

impl Context {
    pub(crate) fn new(
        config: Config,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        Self {
            providers: Providers {
                config,
                clock: Arc::clone(&clock),
                made: Mutex::new(HashMap::new()),
            },
            clock,
            metrics,
            settings,
            limits: Mutex::new(HashMap::new()),
        }
    }
}

/// The local queue's dispatcher state.
struct Shared {
    store: Store,
    context: Context,
    leased: Mutex<Leases>,
    jobs: Mutex<HashMap<String, Arc<JobRecord>>>,
}

/// What one attempt at a device came to.
pub(crate) struct Attempt {
    pub(crate) state: DeviceState,
    pub(crate) feedback: Option<Feedback>,
}

impl Workers {
    pub fn start(
        store: Store,
        config: Config,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        let shared = Arc::new(Shared {
            store,
            context: Context::new(config, clock, metrics, settings),
            leased: Mutex::new(Leases::default()),
            jobs: Mutex::new(HashMap::new()),
        });
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatcher = tokio::spawn(dispatch(shared, Arc::clone(&wake), stopped));
        Self {
            wake,
            stop,
            dispatcher,
        }
    }

    /// New work was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops taking work, waits up to `drain` for sends in flight and
    /// their commits; what is left stays queued for the next start.
    pub async fn stop(self, drain: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(drain, self.dispatcher).await.is_err() {
            tracing::warn!("drain deadline passed; unfinished sends stay queued");
        }
    }
}

async fn dispatch(
    shared: Arc<Shared>,
    wake: Arc<Notify>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let (results, committed) = mpsc::channel::<DeviceResult>(COMMIT_BATCH);
    let committer = tokio::spawn(commit_loop(Arc::clone(&shared), committed));
    let in_flight = Arc::new(Semaphore::new(
        shared.context.settings.concurrency.max(1) * 4,
    ));
    let mut sends = tokio::task::JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        while sends.try_join_next().is_some() {}
        let now = now_ms(&shared.context.clock);
        let due = {
            let taker = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || taker.store.take_due(now, BATCH, &taker.leased))
                .await
                .unwrap_or_else(|e| Err(crate::store::StoreError::from_join(&e)))
        };
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "reading the queue failed");
                Vec::new()
            }
        };
        if due.is_empty() {
            let next = shared.store.next_due().ok().flatten();
            let wait = next.map_or(IDLE_POLL, |t| {
                Duration::from_millis(t.saturating_sub(now)).min(IDLE_POLL)
            });
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        for (key, device) in due {
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                break;
            };
            let (shared, results) = (Arc::clone(&shared), results.clone());
            sends.spawn(async move {
                let result = process(&shared, key.clone(), device).await;
                drop(permit);
                match result {
                    Some(result) => {
                        let _ = results.send(result).await;
                    }
                    None => {
                        shared
                            .leased
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .release(&key);
                    }
                }
            });
            if *stopped.borrow() {
                break;
            }
        }
    }
    // Drain: the sends in flight finish and their results commit.
    while sends.join_next().await.is_some() {}
    drop(results);
    let _ = committer.await;
}

/// One device (its record read with its queue entry): what to commit
/// (`None`: its job could not be read; the device stays queued).
async fn process(shared: &Shared, key: QueueKey, device: DeviceRecord) -> Option<DeviceResult> {
    let job = job(shared, &key.job_id)?;
    let Attempt { state, feedback } =
        attempt(&shared.context, &job, key.device, &device, device.attempts).await?;
    Some(DeviceResult {
        key,
        state,
        attempts: device.attempts + 1,
        feedback,
    })
}

/// One attempt at a device of `job` (`before` attempts made already):
/// decide and render again from what was kept (at the job's accepted
/// time), send unless expired, and say what came of it. `None` only when
/// the send was abandoned (the gateway stopping).
pub(crate) async fn attempt(
    context: &Context,
    job: &JobRecord,
    index: u32,
    device: &DeviceRecord,
    before: u32,
) -> Option<Attempt> {
    let failed = |why: String| {
        Some(Attempt {
            state: DeviceState::Failed { reason: why },
            feedback: None,
        })
    };
    let accepted_secs = i64::try_from(job.accepted_ms / 1000).unwrap_or(i64::MAX);
    match &job.form {
        JobForm::Json { common } => {
            let doc = match case_doc(common, &device.recipient, accepted_secs) {
                Ok(doc) => doc,
                Err(e) => return failed(e.to_string()),
            };
            let lent = match doc.lend() {
                Ok(lent) => lent,
                Err(e) => return failed(e.to_string()),
            };
            let case = match lent.case(accepted_secs, &context.settings.app) {
                Ok(case) => case,
                Err(e) => return failed(e.to_string()),
            };
            send_case(context, job, index, device, before, &case).await
        }
        JobForm::Wire { bytes } => {
            let decoded = match tidings_core::wire::decode(bytes) {
                Ok(decoded) => decoded,
                Err(e) => return failed(e.to_string()),
            };
            let mut case = decoded.case();
            case.now = accepted_secs;
            send_case(context, job, index, device, before, &case).await
        }
    }
}

/// Decides and renders a device's case again (the same inputs as at
/// accept time, so the same bytes), and sends it unless it expired.
async fn send_case(
    context: &Context,
    job: &JobRecord,
    index: u32,
    device: &DeviceRecord,
    before: u32,
    case: &Case<'_>,
) -> Option<Attempt> {
    let finish = |state: DeviceState| {
        Some(Attempt {
            state,
            feedback: None,
        })
    };
    let failed = |why: String| finish(DeviceState::Failed { reason: why });
    let channel = case.recipient.device.channel;
    let n = match decide(case) {
        Ok(Decision::Push(n)) => n,
        Ok(Decision::Suppress(reason)) => {
            return finish(DeviceState::Suppressed {
                reason: reason.name().into(),
            })
        }
        Err(e) => return failed(e.to_string()),
    };
    let now = now_ms(&context.clock);
    if let Some(expires) = n.expires_at() {
        if i128::from(now / 1000) > i128::from(expires) {
            context.metrics.push(channel.name(), "expired");
            return finish(DeviceState::Expired);
        }
    }
    let (body, headers) = match render_push(&n) {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let provider = match context.providers.get(channel) {
        Ok(p) => p,
        Err(why) => {
            tracing::error!(channel = channel.name(), %why, "no provider client");
            return failed(why);
        }
    };
    let push = Push {
        body: &body,
        headers,
        id: push_id(&job.id, index),
        attempt: before,
    };
    let limit = {
        let mut limits = context
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            limits
                .entry(channel.name())
                .or_insert_with(|| Arc::new(Semaphore::new(context.settings.concurrency.max(1)))),
        )
    };
    let delivery = {
        let _permit = limit.acquire().await.ok()?;
        provider.send(&push).await
    };
    // The budget: the message's lifetime, else the configured one.
    let budget = case
        .message
        .life_time
        .map_or(millis(context.settings.retry_budget), |secs| {
            u64::from(secs) * 1000
        });
    Some(result_of(context, job, device, channel, delivery, budget))
}

/// A device's push id (APNs `apns-id`): the same on every attempt, after a
/// restart and on whichever gateway sends it.
pub(crate) fn push_id(job_id: &str, index: u32) -> uuid::Uuid {
    uuid::Uuid::new_v5(&PUSH_ID_NAMESPACE, format!("{job_id}/{index}").as_bytes())
}

fn result_of(
    context: &Context,
    job: &JobRecord,
    device: &DeviceRecord,
    channel: Channel,
    delivery: Delivery,
    budget_ms: u64,
) -> Attempt {
    let finish = |state: DeviceState| Attempt {
        state,
        feedback: None,
    };
    let metrics = &context.metrics;
    metrics.push(channel.name(), delivery.outcome.name());
    if !matches!(delivery.outcome, Outcome::Delivered { .. }) {
        metrics.provider_error(channel.name(), delivery.outcome.reason());
    }
    let now = now_ms(&context.clock);
    match delivery.outcome {
        Outcome::Delivered { id } => {
            metrics
                .delivery_seconds
                .observe(now.saturating_sub(job.accepted_ms) as f64 / 1000.0);
            finish(DeviceState::Delivered { id, at_ms: now })
        }
        Outcome::TokenInvalid { reason, since } => {
            let feedback = Feedback {
                channel: channel.name().into(),
                token: device.token.clone(),
                reason: reason.clone(),
                invalid_since: since
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(millis),
                job_id: job.id.clone(),
                at: now,
            };
            Attempt {
                state: DeviceState::TokenInvalid { reason },
                feedback: Some(feedback),
            }
        }
        Outcome::Rejected { reason } | Outcome::CredentialsRefused { reason } => {
            finish(DeviceState::Failed { reason })
        }
        Outcome::Retry { reason, not_before } => {
            let at = not_before.duration_since(UNIX_EPOCH).map_or(now, millis);
            let delay = at.saturating_sub(now);
            let jitter = (delay as f64 * JITTER * rand::random::<f64>()) as u64;
            let next = at.max(now) + jitter;
            let budget_end = job.accepted_ms.saturating_add(budget_ms);
            if next > budget_end {
                finish(DeviceState::Failed {
                    reason: format!("RetryBudgetExhausted: {reason}"),
                })
            } else {
                finish(DeviceState::Retrying {
                    reason,
                    next_attempt_ms: next,
                })
            }
        }
    }
}

fn job(shared: &Shared, id: &str) -> Option<Arc<JobRecord>> {
    let mut jobs = shared.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(job) = jobs.get(id) {
        return Some(Arc::clone(job));
    }
    let job = Arc::new(shared.store.job(id).ok().flatten()?);
    // A small cache: fan-outs read their job once per batch, not per device.
    if jobs.len() >= 1024 {
        jobs.clear();
    }
    jobs.insert(id.to_owned(), Arc::clone(&job));
    Some(job)
}

async fn commit_loop(shared: Arc<Shared>, mut results: mpsc::Receiver<DeviceResult>) {
    let mut batch = Vec::with_capacity(COMMIT_BATCH);
    while let Some(first) = results.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + COMMIT_WINDOW;
        while batch.len() < COMMIT_BATCH {
            match tokio::time::timeout_at(deadline, results.recv()).await {
                Ok(Some(r)) => batch.push(r),
                _ => break,
            }
        }
        let done = std::mem::take(&mut batch);
        let store = shared.store.clone();
        let committed =
            tokio::task::spawn_blocking(move || store.commit(&done).map(|()| done)).await;
        match committed {
            Ok(Ok(done)) => {
                let mut leased = shared.leased.lock().unwrap_or_else(PoisonError::into_inner);
                for r in &done {
                    leased.settle(&r.key);
                }
            }
            Ok(Err(e)) => {
                // The devices stay queued and leased: sent again after a
                // restart rather than twice now.
                tracing::error!(error = %e, "committing results failed");
            }
            Err(e) => tracing::error!(error = %e, "commit task failed"),
        }
        if let Ok(depth) = shared.store.queued() {
            shared
                .context
                .metrics
                .queue_depth
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
    }
}

pub fn now_ms(clock: &SharedClock) -> u64 {
    clock.now().duration_since(UNIX_EPOCH).map_or(0, millis)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
