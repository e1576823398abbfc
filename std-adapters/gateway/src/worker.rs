//! The workers: take due devices from the queue, hand each one's stored
//! push (rendered at accept time) to its provider's client, and commit
//! each result with the removal of its queue entry.
//!
//! - Per provider, before anything shared: a [`Gate`] (down or paused
//!   channels send one probe at a time and hold the rest, attempts
//!   unspent) and at most `concurrency` sends in flight. The local queue
//!   leases at most twice that per channel, so a stuck provider's devices
//!   never take the others' places.
//! - Retries: the provider's `Retry` time (its `Retry-After`, or its
//!   policy, growing with the attempt; a send that got no answer backs off
//!   from 1 s, doubling) plus up to 20 % jitter, within the device's
//!   budget — the message's `MsgLifeTime`, else `retry_budget` (1 h), not
//!   counting time held on a paused channel — after which the device is
//!   `failed`.
//! - A push whose `MsgLifeTime` has passed is `expired`, not sent.
//! - Results are committed in batches (one transaction for all that
//!   arrived while the last one committed), so a burst costs few disk
//!   syncs; a crash before a commit sends those devices again (at least
//!   once), a committed result is never sent again. A commit that fails
//!   gives its devices back (sent again once the store commits) and stops
//!   the dispatcher until a write succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use tidings_core::model::Channel;
use tidings_deliver::{Delivery, Outcome, Provider, Push};
use tidings_std::clock::SharedClock;
use tidings_std::config::Config;
use tidings_std::ingest::AppDoc;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use crate::gate::{Admission, Gates};
use crate::metrics::Metrics;
use crate::store::{
    Accepted, DeviceRecord, DeviceResult, DeviceState, Feedback, JobRecord, Leases, QueueKey, Store,
};
use crate::time::{millis, now_ms};

/// Due devices read from the queue at a time.
const BATCH: usize = 512;
/// Jobs kept in memory for their sends.
const JOB_CACHE: usize = 8192;
/// Writes (results and accepted jobs) committed in one transaction at
/// most: a commit costs one disk sync whatever its size, so the writer
/// takes all that is waiting.
const COMMIT_BATCH: usize = 4096;
/// Room in the writer's channel: a full channel makes senders wait.
const WRITE_QUEUE: usize = 8192;
/// Longest idle wait between queue reads (new jobs and settled sends wake
/// the loop at once).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How often a store that failed a commit is tried again.
const STORE_RETRY: Duration = Duration::from_secs(1);
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

/// The provider a channel is sent through (APNs VoIP goes through APNs).
pub fn provider_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Apns | Channel::ApnsVoip => "apns",
        other => other.name(),
    }
}

/// The providers, made from the config when a channel is first needed.
/// A channel without a table fails its devices (nothing to fix by
/// waiting); a client that cannot be made from its table (an unreadable or
/// malformed key) is not remembered: the channel is paused like refused
/// credentials, and each of its probes tries to make the client again —
/// the operator fixes the file, and the devices go.
struct Providers {
    config: Config,
    clock: SharedClock,
    made: Mutex<HashMap<&'static str, Arc<dyn Provider>>>,
}

/// Why a channel has no client.
enum Unmade {
    /// No table for it in the config.
    NotConfigured(String),
    /// Its table is there, but the client cannot be made from it.
    Unusable(String),
}

impl Providers {
    fn get(&self, channel: Channel) -> Result<Arc<dyn Provider>, Unmade> {
        let name = provider_of(channel);
        if let Some(p) = self.lock().get(name) {
            return Ok(Arc::clone(p));
        }
        if !has_table(&self.config, name) {
            return Err(Unmade::NotConfigured(format!(
                "no [{name}] table in the config"
            )));
        }
        let provider: Arc<dyn Provider> =
            tidings_deliver::client_for(channel, &self.config, Arc::clone(&self.clock))
                .map(Arc::from)
                .map_err(|e| Unmade::Unusable(e.to_string()))?;
        Ok(Arc::clone(self.lock().entry(name).or_insert(provider)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Arc<dyn Provider>>> {
        self.made.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether the config has a table for the provider `name`.
fn has_table(config: &Config, name: &str) -> bool {
    match name {
        "apns" => config.apns.is_some(),
        "fcm" => config.fcm.is_some(),
        "huawei" => config.huawei.is_some(),
        "honor" => config.honor.is_some(),
        "xiaomi" => config.xiaomi.is_some(),
        "oppo" => config.oppo.is_some(),
        "vivo" => config.vivo.is_some(),
        "meizu" => config.meizu.is_some(),
        "tpns" => config.tpns.is_some(),
        "harmony" => config.harmony.is_some(),
        _ => false,
    }
}

/// What the store's one writer commits. Accepted jobs and send results
/// share one pipeline: every write waiting when a commit starts goes into
/// it, so a burst of requests and the results of the sends before them
/// cost one disk sync together.
// Results are most of what flows here: kept inline, not boxed (an
// allocation each).
#[allow(clippy::large_enum_variant)]
pub enum Write {
    /// Jobs to accept, answered once they are on disk (or not).
    Accept(AcceptJobs),
    /// A device's result.
    Result(DeviceResult),
    /// Answered once every write sent before it has committed.
    Flush(oneshot::Sender<()>),
}

/// Jobs accepted together (one request, or one batch request), each with
/// its device records, and where their answers go.
pub struct AcceptJobs {
    pub jobs: Vec<(JobRecord, Vec<DeviceRecord>)>,
    pub reply: oneshot::Sender<Result<Vec<Accepted>, String>>,
}

/// The running workers: a dispatcher and the store's writer.
pub struct Workers {
    pub(crate) wake: Arc<Notify>,
    /// The store's writer: the API sends accepted jobs here.
    pub(crate) writer: mpsc::Sender<Write>,
    /// The queue entries being sent: a recall holds them while it commits.
    pub(crate) leases: Arc<Mutex<Leases>>,
    stop: tokio::sync::watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<()>,
}

/// Pushes a provider rejected, logged once a minute per channel and
/// reason with the count since (a misconfigured payload field would
/// otherwise be one line per device).
#[derive(Default)]
struct Rejections {
    /// (channel, reason) → (last logged, Unix ms; rejections since).
    seen: Mutex<HashMap<RejectionKey, (u64, u64)>>,
}

type RejectionKey = (&'static str, String);

impl Rejections {
    const EVERY_MS: u64 = 60_000;

    fn note(&self, channel: &'static str, reason: &str, now_ms: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() > 1024 {
            seen.clear();
        }
        let (last, count) = seen.entry((channel, reason.to_owned())).or_insert((0, 0));
        *count += 1;
        if *last == 0 || now_ms.saturating_sub(*last) >= Self::EVERY_MS {
            tracing::warn!(channel, reason, pushes = *count, "the provider rejected pushes: check the configuration or the payload (logged once a minute per reason)");
            *last = now_ms.max(1);
            *count = 0;
        }
    }
}

/// What sending a device needs, whichever queue it came from.
pub(crate) struct Context {
    pub(crate) clock: SharedClock,
    pub(crate) metrics: Arc<Metrics>,
    providers: Providers,
    pub(crate) settings: Settings,
    limits: Mutex<HashMap<&'static str, Arc<Semaphore>>>,
    gates: Gates,
    rejections: Rejections,
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
            gates: Gates::new(Arc::clone(&metrics)),
            metrics,
            settings,
            limits: Mutex::new(HashMap::new()),
            rejections: Rejections::default(),
        }
    }

    /// A provider's send permits.
    fn limit(&self, provider: &'static str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            limits
                .entry(provider)
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.concurrency.max(1)))),
        )
    }
}

/// The local queue's dispatcher state.
struct Shared {
    store: Store,
    context: Context,
    leased: Arc<Mutex<Leases>>,
    /// A lease was settled or given back: a channel at its cap may take more.
    settled: Notify,
    jobs: Mutex<JobCache>,
    /// Devices the writer has just accepted, leased for the dispatcher:
    /// sent without reading them back from the queue.
    fresh: Mutex<Vec<(QueueKey, DeviceRecord)>>,
}

/// What one attempt at a device came to.
pub(crate) struct Attempt {
    pub(crate) state: DeviceState,
    pub(crate) feedback: Option<Feedback>,
    /// Whether the push was sent (a held or expired one was not: it spends
    /// no attempt).
    pub(crate) tried: bool,
    /// The device's time held on a paused channel, this attempt's included.
    pub(crate) held_ms: u64,
}

impl Workers {
    pub fn start(
        store: Store,
        config: Config,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Result<Self, crate::store::StoreError> {
        let shared = Arc::new(Shared {
            store,
            context: Context::new(config, clock, metrics, settings),
            leased: Arc::new(Mutex::new(Leases::default())),
            settled: Notify::new(),
            jobs: Mutex::new(JobCache::default()),
            fresh: Mutex::new(Vec::new()),
        });
        let wake = Arc::new(Notify::new());
        let leases = Arc::clone(&shared.leased);
        let (writer, writes) = mpsc::channel(WRITE_QUEUE);
        let (committer, waker) = (Arc::clone(&shared), Arc::clone(&wake));
        std::thread::Builder::new()
            .name("tidings-writer".into())
            .spawn(move || commit_loop(&committer, &waker, writes))
            .map_err(|e| crate::store::StoreError::no_writer(&e))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatcher = tokio::spawn(dispatch(shared, Arc::clone(&wake), writer.clone(), stopped));
        Ok(Self {
            wake,
            writer,
            leases,
            stop,
            dispatcher,
        })
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
    results: mpsc::Sender<Write>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let per_channel = lease_cap(&shared);
    let mut sends = tokio::task::JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        while sends.try_join_next().is_some() {}
        if !shared.store.is_writable() {
            // Results cannot be kept: sending now would only send twice.
            let store = shared.store.clone();
            let _ = tokio::task::spawn_blocking(move || store.check_writable()).await;
            if !shared.store.is_writable() {
                tokio::select! {
                    () = tokio::time::sleep(STORE_RETRY) => {}
                    _ = stopped.changed() => {}
                }
                continue;
            }
            tracing::info!("the store commits again: sending resumes");
        }
        let fresh =
            std::mem::take(&mut *shared.fresh.lock().unwrap_or_else(PoisonError::into_inner));
        for (key, device) in fresh {
            send(&mut sends, &shared, &results, key, device);
        }
        let now = now_ms(&shared.context.clock);
        let settled = shared.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        // New jobs' devices come leased through `fresh`; the queue is read
        // only when something else may wait there, or a wait is over.
        let (read, next) = {
            let leases = shared.leased.lock().unwrap_or_else(PoisonError::into_inner);
            (leases.must_read(now), leases.next_due())
        };
        let due = if read {
            let taker = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || {
                taker.store.take_due(now, BATCH, per_channel, &taker.leased)
            })
            .await
            .unwrap_or_else(|e| Err(crate::store::StoreError::from_join(&e)))
        } else {
            Ok(Vec::new())
        };
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "reading the queue failed");
                Vec::new()
            }
        };
        if due.is_empty() {
            // Nothing to take: wait for new work, a settled lease (what is
            // due may all be leased, or its channel at its cap) or the
            // next due time.
            let next = if read {
                shared
                    .leased
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .next_due()
            } else {
                next
            };
            let wait = match next {
                Some(t) if t > now => Duration::from_millis(t - now).min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = wake.notified() => {}
                () = &mut settled => {}
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        for (key, device) in due {
            send(&mut sends, &shared, &results, key, device);
        }
    }
    // Drain: the sends in flight finish and their results commit.
    while sends.join_next().await.is_some() {}
    let (flushed, committed) = oneshot::channel();
    if results.send(Write::Flush(flushed)).await.is_ok() {
        let _ = committed.await;
    }
}

/// Leases one channel may hold: twice its sends in flight, so a stuck
/// provider's devices never take the others' places.
fn lease_cap(shared: &Shared) -> usize {
    shared.context.settings.concurrency.max(1) * 2
}

/// Sends a leased device on a task of its own; its result goes to the
/// writer (or, if the send was abandoned, its lease is given back).
fn send(
    sends: &mut tokio::task::JoinSet<()>,
    shared: &Arc<Shared>,
    results: &mpsc::Sender<Write>,
    key: QueueKey,
    device: DeviceRecord,
) {
    let (shared, results) = (Arc::clone(shared), results.clone());
    sends.spawn(async move {
        match process(&shared, key.clone(), device).await {
            Some(result) => {
                let _ = results.send(Write::Result(result)).await;
            }
            None => {
                shared
                    .leased
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .release(&key);
                shared.settled.notify_one();
            }
        }
    });
}

/// One device (its record read with its queue entry): what to commit
/// (`None`: its job could not be read; the device stays queued).
async fn process(shared: &Shared, key: QueueKey, device: DeviceRecord) -> Option<DeviceResult> {
    let job = job(shared, &key.job_id)?;
    let Attempt {
        state,
        feedback,
        tried,
        held_ms,
    } = attempt(&shared.context, &job, key.device, &device, device.attempts).await?;
    Some(DeviceResult {
        key,
        state,
        attempts: device.attempts + u32::from(tried),
        held_ms,
        feedback,
    })
}

/// One attempt at a device of `job` (`before` attempts made already): send
/// its stored push unless it expired or its channel holds it, and say what
/// came of it. `None` only when the send was abandoned (the gateway
/// stopping).
pub(crate) async fn attempt(
    context: &Context,
    job: &JobRecord,
    index: u32,
    device: &DeviceRecord,
    before: u32,
) -> Option<Attempt> {
    let finish = |state: DeviceState| {
        Some(Attempt {
            state,
            feedback: None,
            tried: false,
            held_ms: device.held_ms,
        })
    };
    let failed = |why: String| finish(DeviceState::Failed { reason: why });
    let Some(push) = &device.push else {
        return failed("nothing was rendered to send".into());
    };
    let Some(channel) = Channel::from_name(&device.channel) else {
        return failed(format!("unknown channel {:?}", device.channel));
    };
    let Some(headers) = push.headers.lend() else {
        return failed("a stored push's headers are not the core's".into());
    };
    let now = now_ms(&context.clock);
    if let Some(expires) = push.expires_at {
        if i128::from(now / 1000) > i128::from(expires) {
            context.metrics.push(channel.name(), "expired");
            return finish(DeviceState::Expired);
        }
    }
    let name = provider_of(channel);
    let gate = context.gates.get(name);
    let held = |until_ms: u64, reason: String| {
        let now = now_ms(&context.clock);
        Some(Attempt {
            state: DeviceState::Paused {
                reason,
                next_attempt_ms: until_ms + jitter(until_ms.saturating_sub(now)),
            },
            feedback: None,
            tried: false,
            held_ms: device.held_ms + until_ms.saturating_sub(now),
        })
    };
    let ticket = match gate.admit(&context.clock).await {
        Admission::Send(ticket) => ticket,
        Admission::Hold { until_ms, reason } => return held(until_ms, reason),
    };
    let provider = match context.providers.get(channel) {
        Ok(p) => p,
        Err(Unmade::NotConfigured(why)) => return failed(why),
        Err(Unmade::Unusable(why)) => {
            // The operator's to fix, like refused credentials: the channel
            // pauses and its devices wait, attempts unspent.
            let refused = Delivery {
                outcome: Outcome::CredentialsRefused { reason: why },
                status: None,
                id: None,
                invalid_tokens: Vec::new(),
            };
            ticket.record(&refused, now_ms(&context.clock));
            let until_ms = gate
                .held_until()
                .unwrap_or_else(|| now_ms(&context.clock) + millis(crate::gate::PAUSE_PROBE.0));
            return held(
                until_ms,
                format!("CredentialsRefused: {}", refused.outcome.reason()),
            );
        }
    };
    let limit = context.limit(name);
    let delivery = {
        let _permit = limit.acquire().await.ok()?;
        provider
            .send(&Push {
                body: push.body.as_bytes(),
                headers,
                id: push_id(&job.id, index),
                attempt: before,
                action: push.headers.action(),
            })
            .await
    };
    ticket.record(&delivery, now_ms(&context.clock));
    // The budget: the message's lifetime, else the configured one; time
    // held on a paused channel does not count.
    let budget = push
        .life_time
        .map_or(millis(context.settings.retry_budget), |secs| {
            u64::from(secs) * 1000
        })
        .saturating_add(device.held_ms);
    let mut result = result_of(context, job, device, channel, delivery, budget);
    if let DeviceState::Paused {
        next_attempt_ms, ..
    } = &mut result.state
    {
        // Refused credentials: wait for the channel's next probe.
        let now = now_ms(&context.clock);
        if let Some(until_ms) = gate.held_until() {
            *next_attempt_ms = until_ms + jitter(until_ms.saturating_sub(now));
        }
    }
    Some(result)
}

/// Up to [`JITTER`] of `delay_ms`, so devices held or retried together do
/// not come due at the same millisecond.
fn jitter(delay_ms: u64) -> u64 {
    (delay_ms as f64 * JITTER * rand::random::<f64>()) as u64
}

/// A device's push id (APNs `apns-id`): the same on every attempt, after a
/// restart and on whichever gateway sends it.
pub(crate) fn push_id(job_id: &str, index: u32) -> uuid::Uuid {
    use std::io::Write as _;
    // `job_id/index` written on the stack: one is hashed per send.
    const ROOM: usize = 96;
    let mut name = [0u8; ROOM];
    let mut rest = &mut name[..];
    if write!(rest, "{job_id}/{index}").is_err() {
        // Not one of our job ids (they are 36 characters): the heap takes it.
        return uuid::Uuid::new_v5(&PUSH_ID_NAMESPACE, format!("{job_id}/{index}").as_bytes());
    }
    let len = ROOM - rest.len();
    uuid::Uuid::new_v5(&PUSH_ID_NAMESPACE, &name[..len])
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
        tried: true,
        held_ms: device.held_ms,
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
                feedback: Some(feedback),
                ..finish(DeviceState::TokenInvalid { reason })
            }
        }
        Outcome::Rejected { reason } => {
            context.rejections.note(channel.name(), &reason, now);
            finish(DeviceState::Failed { reason })
        }
        Outcome::CredentialsRefused { reason } => finish(DeviceState::Paused {
            reason: format!("CredentialsRefused: {reason}"),
            next_attempt_ms: now + millis(crate::gate::PAUSE_PROBE.0),
        }),
        Outcome::Retry { reason, not_before } => {
            let at = not_before.duration_since(UNIX_EPOCH).map_or(now, millis);
            let next = at.max(now) + jitter(at.saturating_sub(now));
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

/// The jobs whose devices are being sent, newest kept: the writer puts
/// every job it accepts here, so a send reads its job from the store only
/// after a restart or once the job is among the oldest [`JOB_CACHE`].
#[derive(Default)]
struct JobCache {
    jobs: HashMap<String, Arc<JobRecord>>,
    order: std::collections::VecDeque<String>,
}

impl JobCache {
    fn insert(&mut self, job: Arc<JobRecord>) {
        if self.jobs.insert(job.id.clone(), Arc::clone(&job)).is_none() {
            self.order.push_back(job.id.clone());
        }
        while self.order.len() > JOB_CACHE {
            if let Some(oldest) = self.order.pop_front() {
                self.jobs.remove(&oldest);
            }
        }
    }
}

fn job(shared: &Shared, id: &str) -> Option<Arc<JobRecord>> {
    let cached = shared
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .jobs
        .get(id)
        .cloned();
    if cached.is_some() {
        return cached;
    }
    let job = Arc::new(shared.store.job(id).ok().flatten()?);
    shared
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(Arc::clone(&job));
    Some(job)
}

/// Leases, before the commit that writes them, the pending devices of
/// `accepts` that their channels have room for, so that once committed
/// they are the dispatcher's as they are ([`hand_over`]) and nothing else
/// takes them: not a queue read, and not a recall, which waits for the
/// commit and then finds them being sent (a replacement follows if the
/// send lands) rather than queued (marked recalled, with a send already
/// on its way). The keys, in the order of `accepts`, and whether every
/// pending device got one (the rest the dispatcher reads from the queue).
fn lease_accepted(shared: &Shared, accepts: &[AcceptJobs]) -> (Vec<QueueKey>, bool) {
    let cap = lease_cap(shared);
    let mut leased = Vec::new();
    let mut all = true;
    let mut leases = shared.leased.lock().unwrap_or_else(PoisonError::into_inner);
    for (job, devices) in accepts.iter().flat_map(|a| &a.jobs) {
        for (index, device) in (0u32..).zip(devices) {
            if !device.state.is_pending() {
                continue;
            }
            if !leases.has_room(&device.channel, cap) {
                // A fan-out past its channel's cap: no key built per device.
                all = false;
                continue;
            }
            let key = QueueKey {
                channel: device.channel.clone(),
                due_ms: job.accepted_ms,
                job_id: job.id.clone(),
                device: index,
            };
            if leases.lease_new(&key, cap) {
                leased.push(key);
            } else {
                all = false;
            }
        }
    }
    (leased, all)
}

/// Gives back leases taken for devices that were not written (their
/// commit failed, or their job was a repeat of an earlier one).
fn release(shared: &Shared, keys: &[QueueKey]) {
    if keys.is_empty() {
        return;
    }
    let mut leases = shared.leased.lock().unwrap_or_else(PoisonError::into_inner);
    for key in keys {
        leases.release(key);
    }
    drop(leases);
    shared.settled.notify_one();
}

/// The jobs of a commit, each with whether it was written (`false`: a
/// repeat answered with the earlier job): the written ones into the job
/// cache, their devices leased by [`lease_accepted`] to the dispatcher as
/// they are (the rest it reads from the queue); the leases of the others
/// given back.
fn hand_over(
    shared: &Shared,
    committed: Vec<(JobRecord, Vec<DeviceRecord>, bool)>,
    leased: Vec<QueueKey>,
) {
    let mut leased = leased.into_iter().peekable();
    let (mut fresh, mut unwritten, mut jobs) = (Vec::new(), Vec::new(), Vec::new());
    for (job, devices, written) in committed {
        for (index, device) in (0u32..).zip(devices) {
            let ours = leased
                .peek()
                .is_some_and(|k| k.device == index && k.job_id == job.id);
            let Some(key) = leased.next_if(|_| ours) else {
                continue;
            };
            if written {
                fresh.push((key, device));
            } else {
                unwritten.push(key);
            }
        }
        if written {
            jobs.push(Arc::new(job));
        }
    }
    release(shared, &unwritten);
    let mut cache = shared.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    for job in jobs {
        cache.insert(job);
    }
    drop(cache);
    shared
        .fresh
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(fresh);
}

/// The store's one writer, on a thread of its own (a commit blocks on its
/// disk sync; a thread that only commits spares every commit a hand-off
/// to the blocking pool and back): takes every write waiting, commits
/// them in one transaction, then answers the accepts and settles the
/// leases. A failed commit answers its accepts with the error (a 503:
/// nothing of theirs is kept) and gives its devices back to the queue.
/// Ends when every sender of writes is gone.
fn commit_loop(shared: &Shared, wake: &Notify, mut writes: mpsc::Receiver<Write>) {
    let mut waiting = Vec::with_capacity(COMMIT_BATCH);
    while writes.blocking_recv_many(&mut waiting, COMMIT_BATCH) > 0 {
        let mut accepts = Vec::new();
        let mut results = Vec::new();
        let mut flushes = Vec::new();
        for write in waiting.drain(..) {
            match write {
                Write::Accept(a) => accepts.push(a),
                Write::Result(r) => results.push(r),
                Write::Flush(f) => flushes.push(f),
            }
        }
        let (leased, all_leased) = lease_accepted(shared, &accepts);
        let jobs: Vec<(&JobRecord, &[DeviceRecord])> = accepts
            .iter()
            .flat_map(|a| {
                a.jobs
                    .iter()
                    .map(|(job, devices)| (job, devices.as_slice()))
            })
            .collect();
        // A panic in the store fails this commit like an error would; the
        // writer goes on.
        let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.store.write(&jobs, &results)
        }))
        .unwrap_or_else(|_| Err(crate::store::StoreError::panicked()));
        drop(jobs);
        let ok = answers.is_ok();
        match answers {
            Ok((answers, queued)) => {
                let mut answers = answers.into_iter();
                let mut committed = Vec::new();
                for AcceptJobs { jobs, reply } in accepts {
                    let mine: Vec<Accepted> = answers.by_ref().take(jobs.len()).collect();
                    committed.extend(
                        jobs.into_iter()
                            .zip(&mine)
                            .map(|((job, devices), a)| (job, devices, *a == Accepted::New)),
                    );
                    let _ = reply.send(Ok(mine));
                }
                let written = committed.iter().any(|(_, _, written)| *written);
                if queued || (written && !all_leased) {
                    shared
                        .leased
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .queue_changed();
                }
                hand_over(shared, committed, leased);
                if written || queued {
                    wake.notify_one();
                }
            }
            Err(e) => {
                if !results.is_empty() {
                    // Given back: sent again once the store commits (the
                    // dispatcher waits for that), never lost.
                    tracing::error!(error = %e, devices = results.len(), "committing results failed: the devices go back to the queue");
                }
                release(shared, &leased);
                for accept in accepts {
                    let _ = accept.reply.send(Err(e.to_string()));
                }
            }
        }
        if !results.is_empty() {
            let mut leased = shared.leased.lock().unwrap_or_else(PoisonError::into_inner);
            for r in &results {
                if ok {
                    leased.settle(&r.key);
                } else {
                    leased.release(&r.key);
                }
            }
            drop(leased);
            shared.settled.notify_one();
        }
        for flushed in flushes {
            let _ = flushed.send(());
        }
        let depth = shared.store.queued();
        shared
            .context
            .metrics
            .queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_id_is_the_v5_uuid_of_its_job_and_index_whatever_the_id_length() {
        let ours = uuid::Uuid::now_v7().to_string();
        let long = "j".repeat(200);
        for job in [ours.as_str(), long.as_str(), ""] {
            for index in [0, 7, u32::MAX] {
                let name = format!("{job}/{index}");
                assert_eq!(
                    push_id(job, index),
                    uuid::Uuid::new_v5(&PUSH_ID_NAMESPACE, name.as_bytes()),
                    "{name}"
                );
            }
        }
        assert_ne!(push_id(&ours, 1), push_id(&ours, 2));
    }
}
