//! The local queue: jobs, their devices' states, the due-time queue, the
//! idempotency keys and the invalid-token feedback feed, in one embedded
//! database (redb: crash-safe, copy-on-write B-trees, every commit durable
//! when it returns). A job is answered 202 only after the transaction that
//! holds it and its queue entries committed; a device's result and the
//! removal of its queue entry commit together, so a committed result is
//! never sent again and an uncommitted one is sent again after a crash.
//!
//! Records are postcard, not JSON: a device record is what a send needs
//! (channel, token, the push rendered at accept time) and nothing of the
//! request it came from, so a request's size bounds what the store keeps.
//! It is written once, 64 devices of a job to a row, with a body the
//! job's devices share kept once; a result writes the device's state
//! alone ([`disk`]).
//! A job whose message has a key (`Message.MsgKey`, or `MsgSeq` in a
//! group) also keeps its request once ([`Kept`]) and is indexed by the key,
//! so a recall or an edit ([`Store::recall`]) renders each sent device's
//! replacement from the same case; both go with the job.
//!
//! Nothing is kept forever ([`Store::sweep`]): a finished job and its
//! devices go `server.job_ttl_secs` after acceptance (unfinished ones stay
//! until they finish), an idempotency key after 24 h, a feedback record
//! after `feedback.ttl_secs` unless the webhook has not posted it yet.
//! Deletions run in small transactions; redb reuses the freed pages, so
//! under a steady load the file stops growing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

mod disk;
mod record;
use disk::{ReadCache, ReadTables, Rows, BODIES, DEVICES, STATES};
use record::{decode, encode, err};
pub use record::{DeviceRecord, DeviceState, StoreError, StoredHeaders, StoredPush};

/// Job id → [`JobRecord`] (postcard).
const JOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("jobs");
/// (accepted ms, job id): the jobs by age, for retention.
const JOBS_BY_AGE: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("jobs_by_age");
/// Job id → devices still pending (absent: none).
const JOB_PENDING: TableDefinition<'_, &str, u32> = TableDefinition::new("job_pending");
/// (channel, due time ms, job id, device index) → held: what is to be
/// sent, per channel by due time — so taking a channel's due devices
/// reads only them, however many another channel has waiting. `held`
/// marks a device waiting on a paused channel, due at once after a
/// restart (the pause was this process's).
const QUEUE: TableDefinition<'_, (&str, u64, &str, u32), bool> =
    TableDefinition::new("queue_by_channel");
/// Idempotency key → job id.
const IDEMPOTENCY: TableDefinition<'_, &str, &str> = TableDefinition::new("idempotency");
/// (accepted ms, idempotency key) → job id: the keys by age.
const KEYS_BY_AGE: TableDefinition<'_, (u64, &str), &str> = TableDefinition::new("keys_by_age");
/// Sequence number → [`Feedback`] (JSON): the invalid-token feed.
const FEEDBACK: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("feedback");
/// Job id → [`Kept`] (postcard): what a job whose message has a key keeps
/// so a recall or an edit can render its replacements.
const KEPT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("kept");
/// (message key, job id): the jobs of each message key (`c2c:<MsgKey>`,
/// `group:<GroupId>:<MsgSeq>`).
const BY_KEY: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("jobs_by_message_key");
/// Message key → [`RecallRecord`] (postcard): the message's recall or
/// newest edit, kept while any job of the key is.
const RECALLS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("recalls");
/// Counters: feedback sequence, the webhook's cursor, the record format.
/// (The queue's depth is [`QUEUE`]'s length, which redb keeps in the
/// table's header: a commit need not write a counter beside it.)
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// The queue depth earlier gateways counted in [`META`]; removed on open.
const OLD_QUEUED: &str = "queued";
const FEEDBACK_SEQ: &str = "feedback_seq";
const WEBHOOK_CURSOR: &str = "webhook_cursor";
const SCHEMA: &str = "schema";
const WRITE_CHECK: &str = "write_check";
/// The record format this code writes. 1 was JSON with a copy of the
/// recipient per device, decided again at send time; 3 rewrote a
/// device's whole record (its push included) with every result; 4 keeps
/// the state apart and a fan-out's shared body once ([`disk`]).
const SCHEMA_VERSION: u64 = 4;

/// Rows one retention transaction deletes at most: a short write lock,
/// so accepts and results are not held up behind a large sweep.
const SWEEP_ROWS: usize = 2_000;

/// One accepted push request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    /// When it was accepted (Unix ms): every rule is decided at this time.
    pub accepted_ms: u64,
    pub devices: u32,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body (hex): a key reused with another body
    /// is a conflict, not a repeat. Empty for a job without an idempotency
    /// key: no later request is ever compared with it.
    #[serde(default)]
    pub body_sha256: String,
    /// What the request was.
    pub form: JobForm,
    /// A keyed message's key and request: written to their own table with
    /// the job (not in this record's bytes, so records written before
    /// recall existed read as they were); `None` when read back.
    #[serde(skip)]
    pub kept: Option<Kept>,
}

/// What a job whose message has a key keeps beside its record, for the
/// job's lifetime: the key and the request, so a recall or an edit renders
/// each sent device's replacement from the same case, at the same
/// accepted time, as its first push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// `MessageKey`'s `Display`.
    pub message_key: String,
    /// A JSON job's request body; `None` for a wire job (its bytes are its
    /// record's `form`).
    pub request: Option<String>,
}

/// A message's recall, or its newest edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallRecord {
    /// `None`: recalled (final); else the newest edit's text.
    pub edit: Option<String>,
    pub at_ms: u64,
    /// The jobs holding its replacements, oldest first: the last one takes
    /// those of devices whose send lands after the recall.
    pub jobs: Vec<String>,
    /// (job id, device) being sent as a recall or edit landed: their
    /// results settle them (`write_results`), each once. (Any other
    /// result of the message's jobs is of a push already current.)
    pub in_flight: Vec<(String, u32)>,
}

/// What a recall sends a device that showed the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// A silent push with the same replace key: "recalled" or the edit.
    Replaced,
    /// The provider's revoke API (Xiaomi, HarmonyOS).
    Revoked,
    /// A background/data push the app removes the notification on (APNs,
    /// FCM; `recall.remove_on`).
    Removed,
}

/// Renders a keyed job's recall or edit: for each device index asked,
/// what to send it (a device record for a replacement job, its push
/// rendered), or nothing when it cannot be rendered.
pub trait Renderer: Send + Sync {
    fn render(
        &self,
        job: &JobRecord,
        kept: &Kept,
        edit: Option<&str>,
        indices: &[u32],
    ) -> Vec<(u32, Follow, DeviceRecord)>;
}

/// What one recall or edit did, device by device of the message's jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecallOutcome {
    /// The job of the replacements (made even when it has none yet: a
    /// device in flight may add one).
    pub job_id: String,
    /// Queued, now never sent (a recall).
    pub recalled: u32,
    /// Queued, now sent with the edit's text instead (an edit).
    pub edited: u32,
    /// Being sent as the recall landed: a replacement follows if the send
    /// succeeds, else nothing.
    pub in_flight: u32,
    pub replaced: u32,
    pub revoked: u32,
    pub removed: u32,
    /// Never sent (suppressed, failed, expired, invalid token), or already
    /// recalled.
    pub untouched: u32,
    /// The same recall or edit was made before: nothing was done again.
    pub repeated: bool,
}

impl RecallOutcome {
    /// Counts what `rendered` sends the `sent` devices of job `id` (those
    /// not rendered: untouched) and names each device `<job>:<path>`: the
    /// devices of the recall's job.
    pub fn follow_ups(
        &mut self,
        id: &str,
        sent: usize,
        rendered: Vec<(u32, Follow, DeviceRecord)>,
    ) -> impl Iterator<Item = DeviceRecord> + '_ {
        self.untouched += count(sent.saturating_sub(rendered.len()));
        let id = id.to_owned();
        rendered.into_iter().map(move |(_, follow, mut device)| {
            match follow {
                Follow::Replaced => self.replaced += 1,
                Follow::Revoked => self.revoked += 1,
                Follow::Removed => self.removed += 1,
            }
            device.path = format!("{id}:{}", device.path);
            device
        })
    }
}

/// Why a recall did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RecallError {
    #[error(
        "no job of message {0} is held (never sent with that key, or past the job TTL: server.job_ttl_secs, queue.job_ttl_secs on NATS)"
    )]
    Unknown(String),
    #[error("message {0} was recalled: an edit after a recall changes nothing")]
    AfterRecall(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum JobForm {
    /// A JSON request (the NATS queue keeps it beside the record; the local
    /// store keeps only its devices' rendered pushes).
    Json,
    /// One postcard job (core `wire`) from an edge relay.
    Wire { bytes: Vec<u8> },
}

/// An invalid token, as the feedback feed and webhook give it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Feedback {
    pub channel: String,
    pub token: String,
    pub reason: String,
    /// When the provider last saw it valid (Unix ms), where it says.
    pub invalid_since: Option<u64>,
    pub job_id: String,
    /// When the gateway learned it (Unix ms).
    pub at: u64,
}

/// A queue entry: when, which job, which device.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueueKey {
    pub channel: String,
    pub due_ms: u64,
    pub job_id: String,
    pub device: u32,
}

/// What accepting a job did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    New,
    /// The idempotency key names this earlier job of the same body:
    /// nothing was queued.
    Existing {
        job_id: String,
        devices: u32,
    },
    /// The idempotency key names an earlier job of another body: nothing
    /// was queued (409).
    Conflict {
        job_id: String,
    },
}

/// A device's result, to commit.
#[derive(Clone, Debug)]
pub struct DeviceResult {
    pub key: QueueKey,
    pub state: DeviceState,
    pub attempts: u32,
    pub held_ms: u64,
    pub feedback: Option<Feedback>,
}

/// Queue entries being sent, counted per channel, so one slow provider's
/// leases cannot take every slot. A queue read ([`Store::take_due`]) holds
/// them from before its snapshot to the end of its scan, so a result or a
/// recall committed meanwhile changes them only after: an entry whose
/// result committed before the snapshot is not in it, one committed
/// after is still leased when the scan meets it.
///
/// Also what the dispatcher knows of the queue between reads: a new job's
/// devices are leased before their commit and handed to the senders, so
/// the queue needs reading only when something else put an entry there
/// (see [`Leases::must_read`]).
#[derive(Debug)]
pub struct Leases {
    held: HashSet<QueueKey>,
    per_channel: HashMap<String, usize>,
    /// Counts what may have put a due entry no lease holds in the queue (a
    /// retry, a lease given back, a new device over its channel's cap, a
    /// recall's replacements, a read that stopped short).
    changes: u64,
    /// `changes` as of the start of the last whole read: equal, nothing
    /// is waiting unheld (a read that failed leaves it behind).
    read_at: u64,
    /// The earliest entry the last read found not yet due.
    next_due: Option<u64>,
}

impl Default for Leases {
    /// Nothing known of the queue yet: the first pass reads it.
    fn default() -> Self {
        Self {
            held: HashSet::new(),
            per_channel: HashMap::new(),
            changes: 1,
            read_at: 0,
            next_due: None,
        }
    }
}

impl Leases {
    /// Whether a pass at `now_ms` must read the queue: something may wait
    /// there that no sender holds, or the earliest waiting entry is due.
    pub fn must_read(&self, now_ms: u64) -> bool {
        self.changes != self.read_at || self.next_due.is_some_and(|t| t <= now_ms)
    }

    /// When the earliest entry the last read left waiting is due.
    pub fn next_due(&self) -> Option<u64> {
        self.next_due
    }

    /// An entry no lease holds was added (or may have been): the next pass
    /// reads the queue.
    pub fn queue_changed(&mut self) {
        self.changes = self.changes.wrapping_add(1);
    }

    fn take(&mut self, key: QueueKey) {
        *self.per_channel.entry(key.channel.clone()).or_default() += 1;
        self.held.insert(key);
    }

    fn drop_lease(&mut self, key: &QueueKey) -> bool {
        if !self.held.remove(key) {
            return false;
        }
        if let Some(n) = self.per_channel.get_mut(&key.channel) {
            *n = n.saturating_sub(1);
        }
        true
    }

    /// A lease given back without a result: the entry may be taken again.
    pub fn release(&mut self, key: &QueueKey) {
        self.drop_lease(key);
        self.queue_changed();
    }

    /// The entry's result is committed.
    pub fn settle(&mut self, key: &QueueKey) {
        self.drop_lease(key);
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Leases an entry the writer is about to commit (nothing else can
    /// know it yet) unless its channel has `cap` leases: whether it was
    /// leased.
    pub fn lease_new(&mut self, key: &QueueKey, cap: usize) -> bool {
        if self.held.contains(key) || self.room(&key.channel, cap) == 0 {
            return false;
        }
        self.take(key.clone());
        true
    }

    /// Whether `channel` may take another lease under `cap`.
    pub fn has_room(&self, channel: &str, cap: usize) -> bool {
        self.room(channel, cap) > 0
    }

    /// Leases `channel` may still take under `cap`.
    fn room(&self, channel: &str, cap: usize) -> usize {
        cap.saturating_sub(self.per_channel.get(channel).copied().unwrap_or(0))
    }
}

/// What the store keeps, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A finished job and its devices, from acceptance.
    pub job_ttl_ms: u64,
    /// A feedback record, from when it was learned.
    pub feedback_ttl_ms: u64,
    /// A webhook posts the feed: records past its cursor stay.
    pub webhook: bool,
}

/// What one [`Store::sweep`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub jobs: u64,
    pub devices: u64,
    pub keys: u64,
    pub feedback: u64,
}

#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: PathBuf,
    /// Whether the last write committed (`/readyz`; the dispatcher stops
    /// sending while results cannot be kept).
    writable: Arc<AtomicBool>,
    /// Devices queued as of the last commit: read on every request, kept
    /// here so a request costs no read transaction.
    depth: Arc<AtomicU64>,
    /// Renders recalls and edits (none: a sent device of a recalled
    /// message is left as it is).
    renderer: Option<Arc<dyn Renderer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// How long an idempotency key names its job (issue contract: 24 h).
pub const IDEMPOTENCY_WINDOW_MS: u64 = 24 * 3600 * 1000;

impl Store {
    /// Opens (or creates) `dir/queue.redb`. A database left by a killed
    /// process opens as it was at its last commit; devices it held on a
    /// paused channel are due at once (this process knows nothing of the
    /// pause). A database of another record format is refused, naming it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let path = dir.join("queue.redb");
        let db = Database::create(&path).map_err(err)?;
        let txn = db.begin_write().map_err(err)?;
        {
            txn.open_table(JOBS).map_err(err)?;
            txn.open_table(JOBS_BY_AGE).map_err(err)?;
            txn.open_table(JOB_PENDING).map_err(err)?;
            txn.open_table(DEVICES).map_err(err)?;
            txn.open_table(STATES).map_err(err)?;
            txn.open_table(BODIES).map_err(err)?;
            txn.open_table(IDEMPOTENCY).map_err(err)?;
            txn.open_table(KEYS_BY_AGE).map_err(err)?;
            txn.open_table(FEEDBACK).map_err(err)?;
            txn.open_table(KEPT).map_err(err)?;
            txn.open_table(BY_KEY).map_err(err)?;
            txn.open_table(RECALLS).map_err(err)?;
            let mut meta = txn.open_table(META).map_err(err)?;
            // The queue's depth is its table's length (redb keeps it); the
            // counter earlier gateways kept beside it goes.
            meta.remove(OLD_QUEUED).map_err(err)?;
            let jobs = txn.open_table(JOBS).map_err(err)?.len().map_err(err)?;
            let schema = meta.get(SCHEMA).map_err(err)?.map(|v| v.value());
            match schema {
                Some(SCHEMA_VERSION) => {}
                None if jobs == 0 => {
                    meta.insert(SCHEMA, SCHEMA_VERSION).map_err(err)?;
                }
                found => {
                    return Err(err(format!(
                        "{} holds records of format {} (this gateway writes {SCHEMA_VERSION}): \
                         let the gateway that wrote it drain its queue, or move the file aside",
                        path.display(),
                        found.unwrap_or(1)
                    )))
                }
            }
            let mut queue = txn.open_table(QUEUE).map_err(err)?;
            let mut held = Vec::new();
            for entry in queue.iter().map_err(err)? {
                let (key, is_held) = entry.map_err(err)?;
                if is_held.value() {
                    let (channel, due, job, index) = key.value();
                    held.push((channel.to_owned(), due, job.to_owned(), index));
                }
            }
            for (channel, due, job, index) in held {
                queue
                    .remove((channel.as_str(), due, job.as_str(), index))
                    .map_err(err)?;
                queue
                    .insert((channel.as_str(), 0, job.as_str(), index), false)
                    .map_err(err)?;
            }
        }
        txn.commit().map_err(err)?;
        let depth = db
            .begin_read()
            .map_err(err)?
            .open_table(QUEUE)
            .map_err(err)?
            .len()
            .map_err(err)?;
        Ok(Self {
            db: Arc::new(db),
            path,
            writable: Arc::new(AtomicBool::new(true)),
            depth: Arc::new(AtomicU64::new(depth)),
            renderer: None,
        })
    }

    /// The store with `renderer` for its recalls and edits.
    pub fn with_renderer(mut self, renderer: Arc<dyn Renderer>) -> Self {
        self.renderer = Some(renderer);
        self
    }

    /// Recalls or edits a message ([`Recall`]) in one transaction, leases
    /// held throughout so no device of it is taken meanwhile. Per device
    /// of its jobs: queued (not being sent) → `recalled` and out of the
    /// queue, or after an edit its push swapped for the edit's; sent →
    /// a replacement, revoke or removal in a new job (the answer's); being
    /// sent → left to its result (`write_results`); else untouched.
    /// Made again with the same text (or a second recall): nothing.
    pub fn recall(
        &self,
        ask: &Recall<'_>,
        leases: &std::sync::Mutex<Leases>,
    ) -> Result<RecallOutcome, RecallError> {
        let mut leases = leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let txn = self.db.begin_write().map_err(err)?;
        let (outcome, depth) = {
            let mut t = Tables::open(&txn)?;
            let by_key = txn.open_table(BY_KEY).map_err(err)?;
            let outcome = recall_in(&mut t, &by_key, ask, &leases, self.renderer.as_deref())?;
            (outcome, t.close()?)
        };
        if outcome.repeated {
            return Ok(outcome);
        }
        self.noted(txn.commit().map_err(err))?;
        self.depth.store(depth, Ordering::Relaxed);
        // Its replacements are queued for the dispatcher to read.
        leases.queue_changed();
        Ok(outcome)
    }

    /// Stores a job, its devices and the queue entries of those to send,
    /// in one durable transaction — unless `job.idempotency_key` names a
    /// job accepted within 24 h, which is answered instead.
    pub fn accept(
        &self,
        job: &JobRecord,
        devices: &[DeviceRecord],
    ) -> Result<Accepted, StoreError> {
        let mut answers = self.accept_all(&[(job, devices)])?;
        answers.pop().ok_or_else(|| err("no answer"))
    }

    /// [`Store::accept`] for several jobs in one transaction: one disk sync
    /// for all of them (a job later in the batch sees the idempotency keys
    /// of the earlier ones). Nothing is stored unless everything is. Each
    /// job's devices are written in key order.
    pub fn accept_all(
        &self,
        jobs_in: &[(&JobRecord, &[DeviceRecord])],
    ) -> Result<Vec<Accepted>, StoreError> {
        self.write(jobs_in, &[]).map(|(answers, _)| answers)
    }

    /// Accepts `jobs_in` ([`Store::accept_all`]) and commits `results`
    /// ([`Store::commit`]) in one durable transaction: one disk sync for
    /// all the writer has waiting. Nothing is written unless everything is.
    /// With the answers: whether a result queued its device again (a retry
    /// or a hold) or queued a recall's replacement.
    pub fn write(
        &self,
        jobs_in: &[(&JobRecord, &[DeviceRecord])],
        results: &[DeviceResult],
    ) -> Result<(Vec<Accepted>, bool), StoreError> {
        self.noted((|| {
            let txn = self.db.begin_write().map_err(err)?;
            let answers = write_jobs(&txn, jobs_in)?;
            let queued = write_results(&txn, results, self.renderer.as_deref())?;
            let depth = txn.open_table(QUEUE).map_err(err)?.len().map_err(err)?;
            txn.commit().map_err(err)?;
            self.depth.store(depth, Ordering::Relaxed);
            Ok((answers, queued))
        })())
    }

    /// Up to `limit` queue entries due by `now_ms` that are not leased,
    /// with their device records, read in one transaction; each one
    /// returned is leased (so no two workers take it). A channel with
    /// `per_channel` leases already is passed over (its entries wait; the
    /// others go on). One caller at a time. Notes in `leases` whether it
    /// read all that is due, and when the earliest entry not yet due is
    /// ([`Leases::must_read`]).
    pub fn take_due(
        &self,
        now_ms: u64,
        limit: usize,
        per_channel: usize,
        leases: &std::sync::Mutex<Leases>,
    ) -> Result<Vec<(QueueKey, DeviceRecord)>, StoreError> {
        // The leases are held from before the snapshot to the end of the
        // scan (see [`Leases`]); the read sees every change counted
        // before it begins.
        let mut leases = leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = leases.changes;
        let mut out = Vec::new();
        let read = |leases: &mut Leases, out: &mut Vec<(QueueKey, DeviceRecord)>| {
            let txn = self.db.begin_read().map_err(err)?;
            let queue = txn.open_table(QUEUE).map_err(err)?;
            let tables = ReadTables::open(&txn)?;
            let rows = tables.rows();
            let mut cache = ReadCache::default();
            let (mut whole, mut next_due) = (true, None::<u64>);
            for channel in channels(&queue)? {
                let later = queue
                    .range(
                        (channel.as_str(), now_ms.saturating_add(1), "", 0u32)
                            ..=(channel.as_str(), u64::MAX, "\u{10ffff}", u32::MAX),
                    )
                    .map_err(err)?
                    .next()
                    .transpose()
                    .map_err(err)?
                    .map(|(key, _)| key.value().1);
                if let Some(at) = later {
                    next_due = Some(next_due.map_or(at, |n| n.min(at)));
                }
                let mut room = leases.room(&channel, per_channel);
                if room == 0 {
                    whole = false;
                    continue;
                }
                let due = (channel.as_str(), 0u64, "", 0u32)
                    ..=(channel.as_str(), now_ms, "\u{10ffff}", u32::MAX);
                // Most entries a busy channel has due are held already: each is
                // looked up with this one key, refilled in place, and copied
                // only when it is taken.
                let mut probe = QueueKey {
                    channel: channel.clone(),
                    due_ms: 0,
                    job_id: String::new(),
                    device: 0,
                };
                for entry in queue.range(due).map_err(err)? {
                    if room == 0 || out.len() >= limit {
                        whole = false;
                        break;
                    }
                    let (key, _) = entry.map_err(err)?;
                    let (_, due_ms, job_id, device) = key.value();
                    probe.due_ms = due_ms;
                    probe.job_id.clear();
                    probe.job_id.push_str(job_id);
                    probe.device = device;
                    if leases.held.contains(&probe) {
                        continue;
                    }
                    let record = rows.read(job_id, device, &mut cache)?;
                    // A queue entry always has its device (they commit together).
                    let Some(record) = record else { continue };
                    leases.take(probe.clone());
                    room -= 1;
                    out.push((probe.clone(), record));
                }
                if out.len() >= limit {
                    whole = false;
                    break;
                }
            }
            leases.read_at = seen;
            if !whole {
                // Stopped short (a channel at its cap, or `limit`): what is
                // left is read on the next pass, once a lease settles.
                leases.queue_changed();
            }
            leases.next_due = next_due;
            Ok(())
        };
        if let Err(e) = read(&mut leases, &mut out) {
            // What this read leased is given back (and read again next
            // pass), not held by a sender that never got it.
            for (key, _) in &out {
                leases.release(key);
            }
            return Err(e);
        }
        Ok(out)
    }

    /// The earliest due time in the queue.
    pub fn next_due(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let queue = txn.open_table(QUEUE).map_err(err)?;
        let mut earliest: Option<u64> = None;
        for channel in channels(&queue)? {
            let first = queue
                .range((channel.as_str(), 0u64, "", 0u32)..)
                .map_err(err)?
                .next()
                .transpose()
                .map_err(err)?;
            if let Some((key, _)) = first {
                let due = key.value().1;
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
            }
        }
        Ok(earliest)
    }

    pub fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let jobs = txn.open_table(JOBS).map_err(err)?;
        let value = jobs.get(id).map_err(err)?;
        value.map(|v| decode(v.value())).transpose()
    }

    pub fn device(&self, job_id: &str, index: u32) -> Result<Option<DeviceRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let tables = ReadTables::open(&txn)?;
        let rows = tables.rows();
        rows.read(job_id, index, &mut ReadCache::default())
    }

    /// Every device of a job, in request order.
    pub fn devices(&self, job_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let tables = ReadTables::open(&txn)?;
        let rows = tables.rows();
        rows.all(job_id)
    }

    /// Commits results in one transaction: each removes its queue entry
    /// and sets its device's state; a retry or a hold queues the device
    /// again at its next attempt; an invalid token joins the feedback feed.
    pub fn commit(&self, results: &[DeviceResult]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        self.write(&[], results).map(drop)
    }

    /// Devices waiting in the queue, as of the last commit.
    pub fn queued(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Whether a write commits now (`/readyz` and the dispatcher, after a
    /// failed commit).
    pub fn check_writable(&self) -> Result<(), StoreError> {
        self.noted((|| {
            let txn = self.db.begin_write().map_err(err)?;
            {
                let mut meta = txn.open_table(META).map_err(err)?;
                let n = meta.get(WRITE_CHECK).map_err(err)?.map_or(0, |v| v.value());
                meta.insert(WRITE_CHECK, n.wrapping_add(1)).map_err(err)?;
            }
            txn.commit().map_err(err)
        })())
    }

    /// Whether the last write committed.
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    fn noted<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.writable.store(result.is_ok(), Ordering::Relaxed);
        result
    }

    /// The database file's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// Feedback records after `cursor`, at most `limit`.
    pub fn feedback_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Feedback)>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(FEEDBACK).map_err(err)?;
        let mut out = Vec::new();
        for entry in table.range(cursor.saturating_add(1)..).map_err(err)? {
            let (seq, value) = entry.map_err(err)?;
            out.push((
                seq.value(),
                serde_json::from_slice(value.value()).map_err(err)?,
            ));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The feed's last sequence number (0: empty).
    pub fn feedback_seq(&self) -> Result<u64, StoreError> {
        self.meta(FEEDBACK_SEQ)
    }

    pub fn webhook_cursor(&self) -> Result<u64, StoreError> {
        self.meta(WEBHOOK_CURSOR)
    }

    pub fn set_webhook_cursor(&self, cursor: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        txn.open_table(META)
            .map_err(err)?
            .insert(WEBHOOK_CURSOR, cursor)
            .map_err(err)?;
        txn.commit().map_err(err)
    }

    fn meta(&self, key: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let meta = txn.open_table(META).map_err(err)?;
        Ok(meta.get(key).map_err(err)?.map_or(0, |v| v.value()))
    }

    /// Deletes what `retention` no longer keeps at `now_ms`, in
    /// transactions of at most [`SWEEP_ROWS`] rows.
    pub fn sweep(&self, now_ms: u64, retention: &Retention) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        while self.sweep_keys(now_ms, &mut swept)? {}
        // Unfinished expired jobs are passed over, not rescanned.
        let mut after: Option<(u64, String)> = None;
        while let Some(next) =
            self.sweep_jobs(now_ms, retention.job_ttl_ms, after.take(), &mut swept)?
        {
            after = Some(next);
        }
        while self.sweep_feedback(now_ms, retention, &mut swept)? {}
        Ok(swept)
    }

    /// Idempotency keys older than the window; `true` if there may be more.
    fn sweep_keys(&self, now_ms: u64, swept: &mut Swept) -> Result<bool, StoreError> {
        let horizon = now_ms.saturating_sub(IDEMPOTENCY_WINDOW_MS);
        let txn = self.db.begin_write().map_err(err)?;
        let more;
        {
            let mut by_age = txn.open_table(KEYS_BY_AGE).map_err(err)?;
            let mut keys = txn.open_table(IDEMPOTENCY).map_err(err)?;
            let mut old: Vec<(u64, String, String)> = Vec::new();
            for entry in by_age.range(..(horizon, "")).map_err(err)? {
                let (key, job) = entry.map_err(err)?;
                let (at, name) = key.value();
                old.push((at, name.to_owned(), job.value().to_owned()));
                if old.len() >= SWEEP_ROWS {
                    break;
                }
            }
            more = old.len() >= SWEEP_ROWS;
            for (at, name, job) in &old {
                by_age.remove((*at, name.as_str())).map_err(err)?;
                // A key taken over by a later job stays with it.
                let current = keys
                    .get(name.as_str())
                    .map_err(err)?
                    .map(|v| v.value() == job);
                if current == Some(true) {
                    keys.remove(name.as_str()).map_err(err)?;
                    swept.keys += 1;
                }
            }
        }
        txn.commit().map_err(err)?;
        Ok(more)
    }

    /// Finished jobs accepted before the horizon, with their devices; the
    /// position to go on from if there may be more.
    fn sweep_jobs(
        &self,
        now_ms: u64,
        ttl_ms: u64,
        after: Option<(u64, String)>,
        swept: &mut Swept,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let horizon = now_ms.saturating_sub(ttl_ms);
        let txn = self.db.begin_write().map_err(err)?;
        let mut last = None;
        let mut rows = 0usize;
        {
            let mut by_age = txn.open_table(JOBS_BY_AGE).map_err(err)?;
            let mut jobs = txn.open_table(JOBS).map_err(err)?;
            let pending_of = txn.open_table(JOB_PENDING).map_err(err)?;
            let mut devices = txn.open_table(DEVICES).map_err(err)?;
            let mut states = txn.open_table(STATES).map_err(err)?;
            let mut bodies = txn.open_table(BODIES).map_err(err)?;
            let mut kept = txn.open_table(KEPT).map_err(err)?;
            let mut by_key = txn.open_table(BY_KEY).map_err(err)?;
            let mut recalls = txn.open_table(RECALLS).map_err(err)?;
            let mut old: Vec<(u64, String)> = Vec::new();
            let start = after
                .as_ref()
                .map_or((0, ""), |(at, id)| (*at, id.as_str()));
            for entry in by_age.range(start..(horizon, "")).map_err(err)? {
                let (key, _) = entry.map_err(err)?;
                let (at, id) = key.value();
                if after
                    .as_ref()
                    .is_some_and(|(a, i)| *a == at && i.as_str() == id)
                {
                    continue;
                }
                old.push((at, id.to_owned()));
                if old.len() >= SWEEP_ROWS {
                    break;
                }
            }
            let mut cache = ReadCache::default();
            for (at, id) in old {
                last = Some((at, id.clone()));
                if pending_of.get(id.as_str()).map_err(err)?.is_some() {
                    continue;
                }
                let count = jobs
                    .get(id.as_str())
                    .map_err(err)?
                    .map(|v| decode::<JobRecord>(v.value()).map(|j| j.devices))
                    .transpose()?
                    .unwrap_or(0);
                if count == 1 {
                    // A single device keeps no pending count: its state says.
                    let rows = Rows {
                        devices: &devices,
                        states: &states,
                        bodies: &bodies,
                    };
                    let device = rows.read(id.as_str(), 0, &mut cache)?;
                    if device.is_some_and(|d| d.state.is_pending()) {
                        continue;
                    }
                }
                jobs.remove(id.as_str()).map_err(err)?;
                for n in 0..disk::chunks(count) {
                    devices.remove((id.as_str(), n)).map_err(err)?;
                }
                for index in 0..count {
                    states.remove((id.as_str(), index)).map_err(err)?;
                }
                bodies
                    .retain_in((id.as_str(), 0)..=(id.as_str(), u32::MAX), |_, _| false)
                    .map_err(err)?;
                by_age.remove((at, id.as_str())).map_err(err)?;
                let gone = kept
                    .remove(id.as_str())
                    .map_err(err)?
                    .map(|v| decode::<Kept>(v.value()))
                    .transpose()?;
                if let Some(k) = gone {
                    // The message's recall goes with its last job.
                    let key = k.message_key.as_str();
                    by_key.remove((key, id.as_str())).map_err(err)?;
                    let others = by_key
                        .range((key, "")..=(key, "\u{10ffff}"))
                        .map_err(err)?
                        .next()
                        .is_some();
                    if !others {
                        recalls.remove(key).map_err(err)?;
                    }
                }
                swept.jobs += 1;
                swept.devices += u64::from(count);
                rows += usize::try_from(count).unwrap_or(usize::MAX) + 1;
                if rows >= SWEEP_ROWS {
                    break;
                }
            }
        }
        txn.commit().map_err(err)?;
        Ok(last)
    }

    /// Feedback records past their lifetime (and, with a webhook, posted);
    /// `true` if there may be more.
    fn sweep_feedback(
        &self,
        now_ms: u64,
        retention: &Retention,
        swept: &mut Swept,
    ) -> Result<bool, StoreError> {
        let horizon = now_ms.saturating_sub(retention.feedback_ttl_ms);
        let txn = self.db.begin_write().map_err(err)?;
        let mut more = false;
        {
            let cursor = if retention.webhook {
                txn.open_table(META)
                    .map_err(err)?
                    .get(WEBHOOK_CURSOR)
                    .map_err(err)?
                    .map_or(0, |v| v.value())
            } else {
                u64::MAX
            };
            let mut feedback = txn.open_table(FEEDBACK).map_err(err)?;
            let mut old = Vec::new();
            for entry in feedback.range(..=cursor).map_err(err)? {
                let (seq, value) = entry.map_err(err)?;
                let at = serde_json::from_slice::<Feedback>(value.value()).map_or(0, |f| f.at);
                if at >= horizon {
                    break;
                }
                old.push(seq.value());
                if old.len() >= SWEEP_ROWS {
                    more = true;
                    break;
                }
            }
            for seq in old {
                feedback.remove(seq).map_err(err)?;
                swept.feedback += 1;
            }
        }
        txn.commit().map_err(err)?;
        Ok(more)
    }
}

/// The channels with devices queued: one lookup each, in name order.
fn channels(
    queue: &impl ReadableTable<(&'static str, u64, &'static str, u32), bool>,
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    let mut next = queue.first().map_err(err)?;
    while let Some((key, _)) = next {
        let channel = key.value().0.to_owned();
        // Past every entry of this channel: the first of the next one.
        next = queue
            .range((channel.as_str(), u64::MAX, "\u{10ffff}", u32::MAX)..)
            .map_err(err)?
            .find(|e| e.as_ref().map_or(true, |(k, _)| k.value().0 != channel))
            .transpose()
            .map_err(err)?;
        found.push(channel);
    }
    Ok(found)
}

/// The job half of [`Store::write`].
fn write_jobs(
    txn: &redb::WriteTransaction,
    jobs_in: &[(&JobRecord, &[DeviceRecord])],
) -> Result<Vec<Accepted>, StoreError> {
    let mut answers = Vec::with_capacity(jobs_in.len());
    if jobs_in.is_empty() {
        return Ok(answers);
    }
    {
        let mut jobs = txn.open_table(JOBS).map_err(err)?;
        let mut by_age = txn.open_table(JOBS_BY_AGE).map_err(err)?;
        let mut pending_of = txn.open_table(JOB_PENDING).map_err(err)?;
        let mut keys = txn.open_table(IDEMPOTENCY).map_err(err)?;
        let mut keys_by_age = txn.open_table(KEYS_BY_AGE).map_err(err)?;
        let mut table = txn.open_table(DEVICES).map_err(err)?;
        let mut bodies = txn.open_table(BODIES).map_err(err)?;
        let mut queue = txn.open_table(QUEUE).map_err(err)?;
        let mut kept = txn.open_table(KEPT).map_err(err)?;
        let mut by_key = txn.open_table(BY_KEY).map_err(err)?;
        'jobs: for &(job, devices) in jobs_in {
            if let Some(key) = &job.idempotency_key {
                let earlier = keys
                    .get(key.as_str())
                    .map_err(err)?
                    .map(|v| v.value().to_owned());
                if let Some(earlier) = earlier {
                    let record = jobs
                        .get(earlier.as_str())
                        .map_err(err)?
                        .map(|v| decode::<JobRecord>(v.value()))
                        .transpose()?;
                    if let Some(record) = record {
                        if job.accepted_ms.saturating_sub(record.accepted_ms)
                            < IDEMPOTENCY_WINDOW_MS
                        {
                            answers.push(if record.body_sha256 == job.body_sha256 {
                                Accepted::Existing {
                                    job_id: record.id,
                                    devices: record.devices,
                                }
                            } else {
                                Accepted::Conflict { job_id: record.id }
                            });
                            continue 'jobs;
                        }
                    }
                }
                keys.insert(key.as_str(), job.id.as_str()).map_err(err)?;
                keys_by_age
                    .insert((job.accepted_ms, key.as_str()), job.id.as_str())
                    .map_err(err)?;
            }
            jobs.insert(job.id.as_str(), encode(job)?.as_slice())
                .map_err(err)?;
            if let Some(k) = &job.kept {
                kept.insert(job.id.as_str(), encode(k)?.as_slice())
                    .map_err(err)?;
                by_key
                    .insert((k.message_key.as_str(), job.id.as_str()), ())
                    .map_err(err)?;
            }
            by_age
                .insert((job.accepted_ms, job.id.as_str()), ())
                .map_err(err)?;
            let mut pending = 0u32;
            let shared = disk::SharedBodies::of(devices);
            shared.put(&mut bodies, &job.id)?;
            disk::put_new(&mut table, &job.id, devices, &shared)?;
            for (i, device) in devices.iter().enumerate() {
                let index = u32::try_from(i).map_err(err)?;
                if device.state.is_pending() {
                    queue
                        .insert(
                            (
                                device.channel.as_str(),
                                job.accepted_ms,
                                job.id.as_str(),
                                index,
                            ),
                            false,
                        )
                        .map_err(err)?;
                    pending += 1;
                }
            }
            // A single device's own state says whether its job is done:
            // the common single push writes (and later removes) no count.
            if pending > 0 && devices.len() > 1 {
                pending_of.insert(job.id.as_str(), pending).map_err(err)?;
            }
            answers.push(Accepted::New);
        }
    }
    Ok(answers)
}

/// The tables a result or a recall writes, open in one transaction.
struct Tables<'t> {
    jobs: redb::Table<'t, &'static str, &'static [u8]>,
    by_age: redb::Table<'t, (u64, &'static str), ()>,
    queue: redb::Table<'t, (&'static str, u64, &'static str, u32), bool>,
    devices: redb::Table<'t, (&'static str, u32), &'static [u8]>,
    states: redb::Table<'t, (&'static str, u32), &'static [u8]>,
    bodies: redb::Table<'t, (&'static str, u32), &'static str>,
    pending_of: redb::Table<'t, &'static str, u32>,
    kept: redb::Table<'t, &'static str, &'static [u8]>,
    recalls: redb::Table<'t, &'static str, &'static [u8]>,
    /// A recall walks a job's devices in order: each chunk is read once.
    /// Emptied when a chunk is written.
    cache: ReadCache,
    /// Pending counts read in this transaction (`None`: no row), and
    /// whether changed: written back by [`Tables::close`], so a fan-out's
    /// results write its count once, not once per device.
    pending: HashMap<String, (Option<u32>, bool)>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            jobs: txn.open_table(JOBS).map_err(err)?,
            by_age: txn.open_table(JOBS_BY_AGE).map_err(err)?,
            queue: txn.open_table(QUEUE).map_err(err)?,
            devices: txn.open_table(DEVICES).map_err(err)?,
            states: txn.open_table(STATES).map_err(err)?,
            bodies: txn.open_table(BODIES).map_err(err)?,
            pending_of: txn.open_table(JOB_PENDING).map_err(err)?,
            kept: txn.open_table(KEPT).map_err(err)?,
            recalls: txn.open_table(RECALLS).map_err(err)?,
            cache: ReadCache::default(),
            pending: HashMap::new(),
        })
    }

    /// Writes the pending counts back; returns the queue's depth.
    fn close(mut self) -> Result<u64, StoreError> {
        for (job_id, (count, changed)) in std::mem::take(&mut self.pending) {
            if !changed {
                continue;
            }
            match count {
                Some(n) if n > 0 => {
                    self.pending_of.insert(job_id.as_str(), n).map_err(err)?;
                }
                _ => {
                    self.pending_of.remove(job_id.as_str()).map_err(err)?;
                }
            }
        }
        self.queue.len().map_err(err)
    }

    /// `job_id`'s pending count as this transaction has it (`None`: no
    /// row).
    fn pending_count(&mut self, job_id: &str) -> Result<Option<u32>, StoreError> {
        if let Some((count, _)) = self.pending.get(job_id) {
            return Ok(*count);
        }
        let count = self.pending_of.get(job_id).map_err(err)?.map(|v| v.value());
        self.pending.insert(job_id.to_owned(), (count, false));
        Ok(count)
    }

    fn set_pending(&mut self, job_id: &str, count: u32) {
        self.pending.insert(job_id.to_owned(), (Some(count), true));
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let value = self.jobs.get(id).map_err(err)?;
        value.map(|v| decode(v.value())).transpose()
    }

    fn device(&mut self, job_id: &str, index: u32) -> Result<Option<DeviceRecord>, StoreError> {
        let rows = Rows {
            devices: &self.devices,
            states: &self.states,
            bodies: &self.bodies,
        };
        rows.read(job_id, index, &mut self.cache)
    }

    /// Writes a device whole: its push (new, or an edit's) and its state.
    fn put_device(
        &mut self,
        job_id: &str,
        index: u32,
        device: &DeviceRecord,
    ) -> Result<(), StoreError> {
        self.cache = ReadCache::default();
        disk::put_one(&mut self.devices, job_id, index, device)?;
        self.put_status(
            job_id,
            index,
            &device.state,
            device.attempts,
            device.held_ms,
        )
    }

    /// Writes a device's state only (its push stays as accepted).
    fn put_status(
        &mut self,
        job_id: &str,
        index: u32,
        state: &DeviceState,
        attempts: u32,
        held_ms: u64,
    ) -> Result<(), StoreError> {
        let row = disk::status_row(state, attempts, held_ms)?;
        self.states
            .insert((job_id, index), row.as_slice())
            .map_err(err)?;
        Ok(())
    }

    /// A keyed job's kept request and its message's recall, if recalled.
    fn recall_of(&self, job_id: &str) -> Result<Option<(Kept, RecallRecord)>, StoreError> {
        let kept: Option<Kept> = {
            let value = self.kept.get(job_id).map_err(err)?;
            value.map(|v| decode(v.value())).transpose()?
        };
        let Some(kept) = kept else { return Ok(None) };
        let record: Option<RecallRecord> = {
            let value = self.recalls.get(kept.message_key.as_str()).map_err(err)?;
            value.map(|v| decode(v.value())).transpose()?
        };
        Ok(record.map(|r| (kept, r)))
    }

    /// A keyed job's kept request and its message's recall, when the
    /// device `(job_id, index)` was being sent as the recall landed; that
    /// mark is taken off (its result settles it, once).
    fn in_flight_at_recall(
        &mut self,
        job_id: &str,
        index: u32,
    ) -> Result<Option<(Kept, RecallRecord)>, StoreError> {
        let Some((kept, mut record)) = self.recall_of(job_id)? else {
            return Ok(None);
        };
        let Some(at) = record
            .in_flight
            .iter()
            .position(|(j, i)| j == job_id && *i == index)
        else {
            return Ok(None);
        };
        record.in_flight.swap_remove(at);
        self.recalls
            .insert(kept.message_key.as_str(), encode(&record)?.as_slice())
            .map_err(err)?;
        Ok(Some((kept, record)))
    }

    /// One fewer device of `job_id` pending.
    fn settle_one(&mut self, job_id: &str) -> Result<(), StoreError> {
        // No count: a single-device job (see `write_jobs`).
        let Some(pending) = self.pending_count(job_id)? else {
            return Ok(());
        };
        self.set_pending(job_id, pending.saturating_sub(1));
        Ok(())
    }

    /// Appends devices to `job` (queued, due at `due_ms`) and writes its
    /// record with the new count.
    fn append(
        &mut self,
        job: &mut JobRecord,
        due_ms: u64,
        added: &[DeviceRecord],
    ) -> Result<(), StoreError> {
        let counted = self.pending_count(&job.id)?;
        let mut pending = match counted {
            Some(n) => n,
            // A single device keeps no count: its own state says.
            None if job.devices == 1 => u32::from(
                self.device(&job.id, 0)?
                    .is_some_and(|d| d.state.is_pending()),
            ),
            None => 0,
        };
        for device in added {
            let index = job.devices;
            self.put_device(&job.id, index, device)?;
            self.queue
                .insert(
                    (device.channel.as_str(), due_ms, job.id.as_str(), index),
                    false,
                )
                .map_err(err)?;
            pending += 1;
            job.devices += 1;
        }
        if pending > 0 {
            self.set_pending(&job.id, pending);
        }
        self.jobs
            .insert(job.id.as_str(), encode(&*job)?.as_slice())
            .map_err(err)?;
        Ok(())
    }

    /// The queue entry of a pending device: where the queue holds it (due
    /// at acceptance, at its next attempt, or at 0 once a restart freed a
    /// held one).
    fn entry_of(
        &self,
        job: &JobRecord,
        index: u32,
        device: &DeviceRecord,
    ) -> Result<Option<QueueKey>, StoreError> {
        let waiting = device.state.waiting().map(|(_, at)| at);
        for due_ms in [Some(job.accepted_ms), waiting, Some(0)]
            .into_iter()
            .flatten()
        {
            let key = (device.channel.as_str(), due_ms, job.id.as_str(), index);
            if self.queue.get(key).map_err(err)?.is_some() {
                return Ok(Some(QueueKey {
                    channel: device.channel.clone(),
                    due_ms,
                    job_id: job.id.clone(),
                    device: index,
                }));
            }
        }
        Ok(None)
    }

    /// A queued device of a recalled message: out of the queue, never to
    /// be sent.
    fn recall_queued(&mut self, entry: &QueueKey, device: &DeviceRecord) -> Result<(), StoreError> {
        self.unqueue(entry)?;
        self.put_status(
            &entry.job_id,
            entry.device,
            &DeviceState::Recalled,
            device.attempts,
            device.held_ms,
        )
    }

    /// Takes a pending device out of the queue.
    fn unqueue(&mut self, key: &QueueKey) -> Result<(), StoreError> {
        let entry = (
            key.channel.as_str(),
            key.due_ms,
            key.job_id.as_str(),
            key.device,
        );
        if self.queue.remove(entry).map_err(err)?.is_some() {
            self.settle_one(&key.job_id)?;
        }
        Ok(())
    }
}

/// The result half of [`Store::write`]. A result of a keyed job whose
/// message was recalled while it was being sent (its lease kept it in the
/// queue) is where the race is settled: sent → its replacement joins the
/// recall's last job in the same transaction (exactly one); to be retried
/// → recalled (never sent), or, after an edit, retried with the edit.
/// Whether it queued anything (a retry, a hold, a recall's replacement):
/// entries no lease holds.
fn write_results(
    txn: &redb::WriteTransaction,
    results: &[DeviceResult],
    renderer: Option<&dyn Renderer>,
) -> Result<bool, StoreError> {
    let mut queued = false;
    if results.is_empty() {
        return Ok(queued);
    }
    {
        let mut t = Tables::open(txn)?;
        let mut feedback = txn.open_table(FEEDBACK).map_err(err)?;
        let mut meta = txn.open_table(META).map_err(err)?;
        let first_seq = meta
            .get(FEEDBACK_SEQ)
            .map_err(err)?
            .map_or(0, |v| v.value());
        let mut seq = first_seq;
        for r in results {
            let channel = r.key.channel.as_str();
            let job_id = r.key.job_id.as_str();
            let key = (channel, r.key.due_ms, job_id, r.key.device);
            if t.queue.remove(key).map_err(err)?.is_none() {
                // Committed before (a duplicate lease): keep the first.
                continue;
            }
            let recalled = t.in_flight_at_recall(job_id, r.key.device)?;
            let mut state = std::borrow::Cow::Borrowed(&r.state);
            let mut follow = None;
            let mut edited = None;
            if let Some((kept, record)) = &recalled {
                match (&r.state, &record.edit) {
                    (s, None) if s.is_pending() => {
                        state = std::borrow::Cow::Owned(DeviceState::Recalled);
                    }
                    (s, Some(text)) if s.is_pending() => {
                        // Retried with the edit's text, not the original.
                        let job = t.job(job_id)?;
                        let swapped = job.zip(renderer).and_then(|(job, renderer)| {
                            renderer
                                .render(&job, kept, Some(text), &[r.key.device])
                                .pop()
                        });
                        edited = swapped.map(|(_, _, with)| with.push);
                    }
                    (DeviceState::Delivered { .. }, edit) => {
                        follow = Some((kept.clone(), edit.clone(), record.jobs.last().cloned()));
                    }
                    _ => {}
                }
            }
            let waiting = state.waiting().map(|(_, next)| next);
            let held = matches!(*state, DeviceState::Paused { .. });
            let whole = match edited {
                Some(push) => t
                    .device(job_id, r.key.device)?
                    .map(|device| DeviceRecord { push, ..device }),
                None => None,
            };
            match whole {
                // Its push changes: the device is written whole.
                Some(mut device) => {
                    device.state = state.into_owned();
                    device.attempts = r.attempts;
                    device.held_ms = r.held_ms;
                    t.put_device(job_id, r.key.device, &device)?;
                }
                None => t.put_status(job_id, r.key.device, &state, r.attempts, r.held_ms)?,
            }
            if let Some(next) = waiting {
                t.queue
                    .insert((channel, next, job_id, r.key.device), held)
                    .map_err(err)?;
                queued = true;
            } else {
                t.settle_one(job_id)?;
            }
            if let (Some((kept, edit, Some(recall_job))), Some(renderer)) = (follow, renderer) {
                let original = t.job(job_id)?;
                let made = original
                    .map(|job| renderer.render(&job, &kept, edit.as_deref(), &[r.key.device]))
                    .unwrap_or_default();
                if let Some(mut into) = t.job(&recall_job)? {
                    let added: Vec<DeviceRecord> = made.into_iter().map(|(_, _, d)| d).collect();
                    t.append(&mut into, 0, &added)?;
                    queued = true;
                }
            }
            if let Some(f) = &r.feedback {
                seq += 1;
                let bytes = serde_json::to_vec(f).map_err(err)?;
                feedback.insert(seq, bytes.as_slice()).map_err(err)?;
            }
        }
        // Written only when it moved: most commits of results have no
        // feedback and then leave the table's page clean.
        if seq != first_seq {
            meta.insert(FEEDBACK_SEQ, seq).map_err(err)?;
        }
        t.close()?;
    }
    Ok(queued)
}

/// [`Store::recall`] inside its transaction (the leases held throughout).
fn recall_in(
    t: &mut Tables<'_>,
    by_key: &redb::Table<'_, (&'static str, &'static str), ()>,
    ask: &Recall<'_>,
    leases: &Leases,
    renderer: Option<&dyn Renderer>,
) -> Result<RecallOutcome, RecallError> {
    let key = ask.message_key;
    let mut job_ids = Vec::new();
    for entry in by_key.range((key, "")..=(key, "\u{10ffff}")).map_err(err)? {
        let (k, _) = entry.map_err(err)?;
        job_ids.push(k.value().1.to_owned());
    }
    if job_ids.is_empty() {
        return Err(RecallError::Unknown(key.to_owned()));
    }
    let previous: Option<RecallRecord> = {
        let value = t.recalls.get(key).map_err(err)?;
        value.map(|v| decode(v.value())).transpose()?
    };
    if let Some(previous) = &previous {
        if previous.edit.as_deref() == ask.edit {
            let mut outcome = RecallOutcome {
                job_id: previous.jobs.last().cloned().unwrap_or_default(),
                repeated: true,
                ..RecallOutcome::default()
            };
            for id in &job_ids {
                outcome.untouched += t.job(id)?.map_or(0, |j| j.devices);
            }
            return Ok(outcome);
        }
        if previous.edit.is_none() {
            return Err(RecallError::AfterRecall(key.to_owned()));
        }
        // An older edit's replacements not sent yet are outdated: this
        // one's replace them.
        for id in &previous.jobs {
            let Some(job) = t.job(id)? else { continue };
            for index in 0..job.devices {
                let Some(device) = t.device(id, index)? else {
                    continue;
                };
                if !device.state.is_pending() {
                    continue;
                }
                let Some(entry) = t.entry_of(&job, index, &device)? else {
                    continue;
                };
                if leases.held.contains(&entry) {
                    continue;
                }
                t.recall_queued(&entry, &device)?;
            }
        }
    }
    let mut recall_job = JobRecord {
        id: uuid::Uuid::now_v7().to_string(),
        accepted_ms: ask.now_ms,
        devices: 0,
        idempotency_key: None,
        body_sha256: String::new(),
        form: JobForm::Json,
        kept: None,
    };
    let mut outcome = RecallOutcome {
        job_id: recall_job.id.clone(),
        ..RecallOutcome::default()
    };
    let mut made = Vec::new();
    let mut in_flight = Vec::new();
    for id in &job_ids {
        let Some(job) = t.job(id)? else { continue };
        let kept: Option<Kept> = {
            let value = t.kept.get(id.as_str()).map_err(err)?;
            value.map(|v| decode(v.value())).transpose()?
        };
        let Some(kept) = kept else { continue };
        let mut sent = Vec::new();
        let mut swap = Vec::new();
        for index in 0..job.devices {
            let Some(device) = t.device(id, index)? else {
                continue;
            };
            if let DeviceState::Delivered { .. } = device.state {
                sent.push(index);
                continue;
            }
            let entry = if device.state.is_pending() {
                t.entry_of(&job, index, &device)?
            } else {
                None
            };
            match entry {
                Some(entry) if leases.held.contains(&entry) => {
                    outcome.in_flight += 1;
                    in_flight.push((id.clone(), index));
                }
                // Still queued: sent once, with the edit's text.
                Some(_) if ask.edit.is_some() => {
                    swap.push(index);
                }
                Some(entry) => {
                    t.recall_queued(&entry, &device)?;
                    outcome.recalled += 1;
                }
                None => outcome.untouched += 1,
            }
        }
        let Some(renderer) = renderer else {
            outcome.untouched += count(sent.len() + swap.len());
            continue;
        };
        let swapped = renderer.render(&job, &kept, ask.edit, &swap);
        // A device whose edit cannot be rendered keeps its first push.
        outcome.untouched += count(swap.len().saturating_sub(swapped.len()));
        let mut pushes: Vec<(u32, Option<StoredPush>)> = swapped
            .into_iter()
            .map(|(i, _, with)| (i, with.push))
            .collect();
        pushes.sort_unstable_by_key(|(i, _)| *i);
        t.cache = ReadCache::default();
        outcome.edited += disk::put_pushes(&mut t.devices, id, &pushes)?;
        let rendered = renderer.render(&job, &kept, ask.edit, &sent);
        made.extend(outcome.follow_ups(id, sent.len(), rendered));
    }
    // The job is written even with no device: a device in flight may add
    // its replacement later, and the answer names it.
    t.by_age
        .insert((recall_job.accepted_ms, recall_job.id.as_str()), ())
        .map_err(err)?;
    t.append(&mut recall_job, ask.now_ms, &made)?;
    let mut record = previous.unwrap_or(RecallRecord {
        edit: None,
        at_ms: ask.now_ms,
        jobs: Vec::new(),
        in_flight: Vec::new(),
    });
    for device in in_flight {
        if !record.in_flight.contains(&device) {
            record.in_flight.push(device);
        }
    }
    record.edit = ask.edit.map(str::to_owned);
    record.at_ms = ask.now_ms;
    record.jobs.push(recall_job.id.clone());
    t.recalls
        .insert(key, encode(&record)?.as_slice())
        .map_err(err)?;
    Ok(outcome)
}

/// A count as the answers give it (saturating).
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A recall or an edit to make.
#[derive(Clone, Copy, Debug)]
pub struct Recall<'a> {
    /// `MessageKey`'s `Display`.
    pub message_key: &'a str,
    /// `None`: a recall; else the edit's new text.
    pub edit: Option<&'a str>,
    pub now_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, key: Option<&str>, at: u64, devices: u32) -> JobRecord {
        JobRecord {
            id: id.into(),
            accepted_ms: at,
            devices,
            idempotency_key: key.map(Into::into),
            body_sha256: "b1".into(),
            form: JobForm::Json,
            kept: None,
        }
    }

    /// Job `id` of `devices` queued devices, accepted at 0.
    fn accept_queued(store: &Store, id: &str, devices: u32) {
        let queued: Vec<DeviceRecord> = (0..devices).map(|_| device(DeviceState::Queued)).collect();
        store.accept(&job(id, None, 0, devices), &queued).unwrap();
    }

    fn device(state: DeviceState) -> DeviceRecord {
        DeviceRecord {
            channel: "apns".into(),
            token: "ab".into(),
            path: "Recipients[0]".into(),
            state,
            attempts: 0,
            held_ms: 0,
            push: Some(StoredPush {
                body: "{}".into(),
                headers: StoredHeaders::None,
                expires_at: None,
                life_time: None,
            }),
        }
    }

    fn result(key: &QueueKey, state: DeviceState) -> DeviceResult {
        DeviceResult {
            key: key.clone(),
            state,
            attempts: 1,
            held_ms: 0,
            feedback: None,
        }
    }

    fn state_names(store: &Store, job: &str) -> Vec<&'static str> {
        store
            .devices(job)
            .unwrap()
            .iter()
            .map(|d| d.state.name())
            .collect()
    }

    fn no_leases() -> std::sync::Mutex<Leases> {
        std::sync::Mutex::new(Leases::default())
    }

    #[test]
    fn a_new_device_is_leased_within_its_channels_cap_and_then_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let leases = no_leases();
        let key = |device| QueueKey {
            channel: "apns".into(),
            due_ms: 0,
            job_id: "j".into(),
            device,
        };
        {
            let mut l = leases.lock().unwrap();
            assert!(l.lease_new(&key(0), 2));
            assert!(l.lease_new(&key(1), 2));
            assert!(!l.lease_new(&key(2), 2), "the channel is at its cap");
        }
        accept_queued(&store, "j", 3);
        // The two leased are the dispatcher's already; a queue read with
        // room takes only the third.
        let due = store.take_due(0, 10, 10, &leases).unwrap();
        let taken: Vec<u32> = due.iter().map(|(k, _)| k.device).collect();
        assert_eq!(taken, [2]);
        leases.lock().unwrap().release(&key(0));
        let due = store.take_due(0, 10, 10, &leases).unwrap();
        assert_eq!(due.iter().map(|(k, _)| k.device).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn the_queue_is_read_again_only_when_something_may_wait_there_unheld() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let leases = no_leases();
        let must_read = |now| leases.lock().unwrap().must_read(now);
        assert!(must_read(0), "nothing known at the start");
        accept_queued(&store, "j", 3);
        // A read stopped by its limit leaves the rest for the next pass.
        assert_eq!(store.take_due(0, 2, 10, &leases).unwrap().len(), 2);
        assert!(must_read(0));
        let due = store.take_due(0, 10, 10, &leases).unwrap();
        assert_eq!(due.len(), 1);
        assert!(!must_read(0), "every due entry is held");
        // A retry queues its device again (the writer says so), due later.
        let (_, queued) = store
            .write(
                &[],
                &[result(
                    &due[0].0,
                    DeviceState::Retrying {
                        reason: "ServiceUnavailable".into(),
                        next_attempt_ms: 5_000,
                    },
                )],
            )
            .unwrap();
        assert!(queued);
        leases.lock().unwrap().settle(&due[0].0);
        leases.lock().unwrap().queue_changed();
        assert!(store.take_due(1_000, 10, 10, &leases).unwrap().is_empty());
        assert!(!must_read(4_999));
        assert_eq!(leases.lock().unwrap().next_due(), Some(5_000));
        assert!(must_read(5_000), "its time has come");
        // A delivery queues nothing; a lease given back (a send abandoned)
        // is read again.
        assert_eq!(store.take_due(5_000, 10, 10, &leases).unwrap().len(), 1);
        let of = |device| QueueKey {
            device,
            ..due[0].0.clone()
        };
        let (_, queued) = store.write(&[], &[result(&of(0), delivered())]).unwrap();
        assert!(!queued);
        leases.lock().unwrap().settle(&of(0));
        assert!(!must_read(0));
        leases.lock().unwrap().release(&of(1));
        assert!(must_read(0));
    }

    #[test]
    fn a_channel_at_its_lease_cap_does_not_hide_another_channels_devices() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // 1,000 APNs devices due first, then two FCM ones.
        let apns: Vec<DeviceRecord> = (0..1000).map(|_| device(DeviceState::Queued)).collect();
        let fcm: Vec<DeviceRecord> = (0..2)
            .map(|_| DeviceRecord {
                channel: "fcm".into(),
                ..device(DeviceState::Queued)
            })
            .collect();
        store.accept(&job("a", None, 1_000, 1000), &apns).unwrap();
        store.accept(&job("b", None, 2_000, 2), &fcm).unwrap();
        let leases = no_leases();
        let taken = store.take_due(5_000, 100, 5, &leases).unwrap();
        let channels: Vec<&str> = taken.iter().map(|(k, _)| k.channel.as_str()).collect();
        assert_eq!(
            channels,
            ["apns"; 5]
                .iter()
                .chain(&["fcm"; 2])
                .copied()
                .collect::<Vec<_>>()
        );
        // Both at or past their cap or empty: nothing more, without reading
        // APNs' other 995.
        assert!(store.take_due(5_000, 100, 5, &leases).unwrap().is_empty());
        assert_eq!(store.next_due().unwrap(), Some(1_000));
        // One sent and committed: one more APNs device, another one.
        let sent = DeviceState::Delivered {
            id: "x".into(),
            at_ms: 5_000,
        };
        store.commit(&[result(&taken[0].0, sent)]).unwrap();
        leases.lock().unwrap().settle(&taken[0].0);
        let more = store.take_due(5_000, 100, 5, &leases).unwrap();
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].0.channel, "apns");
        assert!(taken.iter().all(|(k, _)| *k != more[0].0));
    }

    #[test]
    fn accept_queue_commit_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let devices = [
            device(DeviceState::Queued),
            device(DeviceState::Suppressed {
                reason: "Foreground".into(),
            }),
            device(DeviceState::Queued),
        ];
        assert_eq!(
            store
                .accept(&job("j1", Some("k"), 1_000, 3), &devices)
                .unwrap(),
            Accepted::New
        );
        assert_eq!(store.queued(), 2);
        // The same key within 24 h names the first job and queues nothing;
        // with another body it is a conflict.
        assert_eq!(
            store
                .accept(&job("j2", Some("k"), 2_000, 1), &devices[..1])
                .unwrap(),
            Accepted::Existing {
                job_id: "j1".into(),
                devices: 3
            }
        );
        let other = JobRecord {
            body_sha256: "b2".into(),
            ..job("j3", Some("k"), 2_000, 1)
        };
        assert_eq!(
            store.accept(&other, &devices[..1]).unwrap(),
            Accepted::Conflict {
                job_id: "j1".into()
            }
        );
        assert_eq!(store.queued(), 2);
        let due: Vec<QueueKey> = store
            .take_due(1_000, 10, 100, &no_leases())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(due.len(), 2);
        assert!(store
            .take_due(999, 10, 100, &no_leases())
            .unwrap()
            .is_empty());
        let leased = no_leases();
        leased.lock().unwrap().take(due[0].clone());
        let second = store.take_due(1_000, 10, 100, &leased).unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].0, due[1]);
        assert_eq!(leased.lock().unwrap().held(), 2, "taking leases");
        // A channel at its lease cap is passed over.
        let capped = no_leases();
        assert_eq!(store.take_due(1_000, 10, 1, &capped).unwrap().len(), 1);
        assert!(store.take_due(1_000, 10, 1, &capped).unwrap().is_empty());
        store
            .commit(&[
                result(
                    &due[0],
                    DeviceState::Delivered {
                        id: "x".into(),
                        at_ms: 9,
                    },
                ),
                result(
                    &due[1],
                    DeviceState::Retrying {
                        reason: "Shutdown".into(),
                        next_attempt_ms: 5_000,
                    },
                ),
            ])
            .unwrap();
        assert_eq!(store.queued(), 1);
        assert_eq!(store.next_due().unwrap(), Some(5_000));
        drop(store);
        // A reopened store is as the last commit left it.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            state_names(&store, "j1"),
            ["delivered", "suppressed", "retrying"]
        );
        // A result committed twice counts once.
        store
            .commit(&[result(
                &due[0],
                DeviceState::Failed {
                    reason: "late".into(),
                },
            )])
            .unwrap();
        assert_eq!(
            store.devices("j1").unwrap()[0].state,
            DeviceState::Delivered {
                id: "x".into(),
                at_ms: 9
            }
        );
        assert_eq!(store.queued(), 1);
    }

    #[test]
    fn held_devices_are_due_at_once_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .accept(
                &job("j", None, 1_000, 2),
                &[device(DeviceState::Queued), device(DeviceState::Queued)],
            )
            .unwrap();
        let due = store.take_due(1_000, 10, 100, &no_leases()).unwrap();
        let paused = DeviceResult {
            held_ms: 60_000,
            attempts: 0,
            ..result(
                &due[0].0,
                DeviceState::Paused {
                    reason: "CredentialsRefused: InvalidProviderToken".into(),
                    next_attempt_ms: 61_000,
                },
            )
        };
        let retrying = result(
            &due[1].0,
            DeviceState::Retrying {
                reason: "ServiceUnavailable".into(),
                next_attempt_ms: 61_000,
            },
        );
        store.commit(&[paused, retrying]).unwrap();
        assert!(store
            .take_due(2_000, 10, 100, &no_leases())
            .unwrap()
            .is_empty());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let due = store.take_due(2_000, 10, 100, &no_leases()).unwrap();
        assert_eq!(due.len(), 1, "only the held one is due at once");
        assert_eq!(due[0].0.device, 0);
        assert_eq!(due[0].1.held_ms, 60_000);
        assert_eq!(due[0].1.attempts, 0);
        assert_eq!(store.queued(), 2);
    }

    #[test]
    fn a_queue_read_that_fails_part_way_gives_back_what_it_leased() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        accept_queued(&store, "a", 1);
        accept_queued(&store, "b", 1);
        // Job b's device row unreadable: the read leases a's device first,
        // then fails on b's.
        {
            let txn = store.db.begin_write().unwrap();
            txn.open_table(DEVICES)
                .unwrap()
                .insert(("b", 0), &[0xff_u8; 3][..])
                .unwrap();
            txn.commit().unwrap();
        }
        let leases = no_leases();
        assert!(store.take_due(0, 10, 100, &leases).is_err());
        let leases = leases.lock().unwrap();
        assert_eq!(leases.held(), 0, "a's device was leased to no sender");
        assert!(leases.must_read(0), "the next pass reads again");
    }

    #[test]
    fn the_queue_depth_is_the_queues_length_and_an_earlier_counter_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        accept_queued(&store, "j", 3);
        let due = store.take_due(0, 10, 100, &no_leases()).unwrap();
        store.commit(&[result(&due[0].0, delivered())]).unwrap();
        assert_eq!(store.queued(), 2);
        drop(store);
        // A data dir an earlier gateway counted in, its counter astray.
        {
            let db = Database::create(dir.path().join("queue.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(OLD_QUEUED, 99)
                .unwrap();
            txn.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.queued(), 2);
        let txn = store.db.begin_read().unwrap();
        let meta = txn.open_table(META).unwrap();
        assert!(meta.get(OLD_QUEUED).unwrap().is_none());
    }

    #[test]
    fn a_store_of_another_format_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join("queue.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(JOBS)
                .unwrap()
                .insert("old", b"{}".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let e = Store::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("queue.redb holds records of format 1"), "{e}");
    }

    #[test]
    fn feedback_is_a_cursor_feed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let devices: Vec<DeviceRecord> = (0..3).map(|_| device(DeviceState::Queued)).collect();
        store.accept(&job("j", None, 0, 3), &devices).unwrap();
        let due: Vec<QueueKey> = store
            .take_due(0, 10, 100, &no_leases())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let results: Vec<DeviceResult> = due
            .iter()
            .map(|key| DeviceResult {
                feedback: Some(Feedback {
                    channel: "apns".into(),
                    token: format!("t{}", key.device),
                    reason: "Unregistered".into(),
                    invalid_since: None,
                    job_id: "j".into(),
                    at: 7,
                }),
                ..result(
                    key,
                    DeviceState::TokenInvalid {
                        reason: "Unregistered".into(),
                    },
                )
            })
            .collect();
        store.commit(&results).unwrap();
        let first = store.feedback_after(0, 2).unwrap();
        assert_eq!(first.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2]);
        let rest = store.feedback_after(2, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.token, "t2");
        store.set_webhook_cursor(2).unwrap();
        assert_eq!(store.webhook_cursor().unwrap(), 2);
    }

    #[test]
    fn a_fan_outs_results_in_one_commit_count_down_its_pending_count_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hour = 3_600_000;
        accept_queued(&store, "f", 3);
        let count = || {
            let txn = store.db.begin_read().unwrap();
            let table = txn.open_table(JOB_PENDING).unwrap();
            table.get("f").unwrap().map(|v| v.value())
        };
        assert_eq!(count(), Some(3));
        let due = store.take_due(0, 10, 100, &no_leases()).unwrap();
        store
            .commit(&[
                result(&due[0].0, delivered()),
                result(&due[1].0, delivered()),
            ])
            .unwrap();
        assert_eq!(count(), Some(1));
        let retention = Retention {
            job_ttl_ms: hour,
            feedback_ttl_ms: hour,
            webhook: false,
        };
        assert_eq!(store.sweep(2 * hour, &retention).unwrap().jobs, 0);
        store.commit(&[result(&due[2].0, delivered())]).unwrap();
        assert_eq!(count(), None);
        assert_eq!(store.sweep(2 * hour, &retention).unwrap().jobs, 1);
    }

    #[test]
    fn a_single_device_job_keeps_no_pending_count_and_is_swept_once_its_device_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hour = 3_600_000;
        for id in ["s1", "s2", "s3"] {
            accept_queued(&store, id, 1);
        }
        let pending_rows = || {
            let txn = store.db.begin_read().unwrap();
            let table = txn.open_table(JOB_PENDING).unwrap();
            table.len().unwrap()
        };
        assert_eq!(pending_rows(), 0);
        let due = store.take_due(0, 10, 100, &no_leases()).unwrap();
        let of = |id: &str| &due.iter().find(|(k, _)| k.job_id == id).unwrap().0;
        // s1 delivered; s2 to be retried; s3 never attempted.
        let retry = DeviceState::Retrying {
            reason: "ServiceUnavailable".into(),
            next_attempt_ms: 70 * hour,
        };
        store
            .commit(&[result(of("s1"), delivered()), result(of("s2"), retry)])
            .unwrap();
        assert_eq!(pending_rows(), 0);
        let retention = Retention {
            job_ttl_ms: 48 * hour,
            feedback_ttl_ms: 48 * hour,
            webhook: false,
        };
        let swept = store.sweep(60 * hour, &retention).unwrap();
        assert_eq!((swept.jobs, swept.devices), (1, 1));
        assert!(store.job("s1").unwrap().is_none());
        // Still queued: kept, with its device.
        for id in ["s2", "s3"] {
            assert!(store.job(id).unwrap().is_some(), "{id}");
            assert_eq!(store.devices(id).unwrap().len(), 1, "{id}");
        }
        assert_eq!(store.queued(), 2);
    }

    #[test]
    fn retention_deletes_finished_jobs_old_keys_and_posted_feedback() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hour = 3_600_000;
        // j1 finishes; j2 stays pending; j3 is new.
        for (id, key, at) in [("j1", "k1", 0), ("j2", "k2", 0), ("j3", "k3", 30 * hour)] {
            store
                .accept(
                    &job(id, Some(key), at, 2),
                    &[
                        device(DeviceState::Queued),
                        device(DeviceState::Suppressed {
                            reason: "Foreground".into(),
                        }),
                    ],
                )
                .unwrap();
        }
        let due = store.take_due(0, 10, 100, &no_leases()).unwrap();
        let j1 = due.iter().find(|(k, _)| k.job_id == "j1").unwrap();
        let mut done = result(
            &j1.0,
            DeviceState::TokenInvalid {
                reason: "Unregistered".into(),
            },
        );
        done.feedback = Some(Feedback {
            at: hour,
            ..Feedback::default()
        });
        store.commit(&[done]).unwrap();
        let retention = Retention {
            job_ttl_ms: 48 * hour,
            feedback_ttl_ms: 48 * hour,
            webhook: true,
        };
        // At 30 h: the keys of j1 and j2 are past 24 h; no job is past 48 h.
        let swept = store.sweep(30 * hour, &retention).unwrap();
        assert_eq!(
            swept,
            Swept {
                keys: 2,
                ..Swept::default()
            }
        );
        // Each job's two devices share their body (one row); j1's result
        // is a state row of its own.
        let rows_of = |id: &str| {
            let txn = store.db.begin_read().unwrap();
            let states = txn.open_table(STATES).unwrap();
            let bodies = txn.open_table(BODIES).unwrap();
            let all = (id, 0u32)..=(id, u32::MAX);
            (
                states.range(all.clone()).unwrap().count(),
                bodies.range(all).unwrap().count(),
            )
        };
        assert_eq!((rows_of("j1"), rows_of("j2")), ((1, 1), (0, 1)));
        // At 60 h: j1 (finished) goes, j2 (pending) stays; the feedback
        // record stays until the webhook posted it.
        let swept = store.sweep(60 * hour, &retention).unwrap();
        assert_eq!((swept.jobs, swept.devices, swept.feedback), (1, 2, 0));
        assert!(store.job("j1").unwrap().is_none());
        assert!(store.devices("j1").unwrap().is_empty());
        assert_eq!((rows_of("j1"), rows_of("j2")), ((0, 0), (0, 1)));
        assert!(store.job("j2").unwrap().is_some());
        assert!(store.job("j3").unwrap().is_some());
        store.set_webhook_cursor(1).unwrap();
        let swept = store.sweep(60 * hour, &retention).unwrap();
        assert_eq!(swept.feedback, 1);
        assert!(store.feedback_after(0, 10).unwrap().is_empty());
        // A key swept away no longer answers: the same key makes a new job.
        assert_eq!(
            store
                .accept(
                    &job("j4", Some("k1"), 60 * hour, 1),
                    &[device(DeviceState::Queued)]
                )
                .unwrap(),
            Accepted::New
        );
    }

    /// Renders a replacement whose body names the job, the device and
    /// the edit (or "recalled"), so a test sees what was made for whom.
    struct Marker;

    impl Renderer for Marker {
        fn render(
            &self,
            job: &JobRecord,
            _kept: &Kept,
            edit: Option<&str>,
            indices: &[u32],
        ) -> Vec<(u32, Follow, DeviceRecord)> {
            indices
                .iter()
                .map(|&i| {
                    let mut d = device(DeviceState::Queued);
                    d.push.as_mut().unwrap().body =
                        format!("{}/{i}:{}", job.id, edit.unwrap_or("recalled"));
                    (i, Follow::Replaced, d)
                })
                .collect()
        }
    }

    fn keyed(id: &str, key: &str, devices: u32) -> JobRecord {
        JobRecord {
            kept: Some(Kept {
                message_key: key.into(),
                request: Some("{}".into()),
            }),
            ..job(id, None, 1_000, devices)
        }
    }

    fn bodies(store: &Store, job: &str) -> Vec<String> {
        store
            .devices(job)
            .unwrap()
            .iter()
            .map(|d| d.push.as_ref().unwrap().body.clone())
            .collect()
    }

    fn delivered() -> DeviceState {
        DeviceState::Delivered {
            id: "x".into(),
            at_ms: 1_500,
        }
    }

    /// A store with a job "j" of `key` and `n` devices: the first sent,
    /// the second leased (being sent), the others queued.
    fn one_sent_one_sending(
        key: &str,
        n: u32,
    ) -> (
        tempfile::TempDir,
        Store,
        std::sync::Mutex<Leases>,
        Vec<(QueueKey, DeviceRecord)>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path())
            .unwrap()
            .with_renderer(Arc::new(Marker));
        let devices: Vec<DeviceRecord> = (0..n).map(|_| device(DeviceState::Queued)).collect();
        store.accept(&keyed("j", key, n), &devices).unwrap();
        let leases = no_leases();
        let due = store.take_due(1_000, 2, 100, &leases).unwrap();
        store.commit(&[result(&due[0].0, delivered())]).unwrap();
        leases.lock().unwrap().settle(&due[0].0);
        (dir, store, leases, due)
    }

    #[test]
    fn a_recall_racing_the_queue_sends_nothing_or_exactly_one_replacement() {
        // 0 sent, 1 being sent, 2 and 3 still queued (put back untaken).
        let (_dir, store, leases, due) = one_sent_one_sending("c2c:k1", 4);
        let ask = Recall {
            message_key: "c2c:k1",
            edit: None,
            now_ms: 2_000,
        };
        let outcome = store.recall(&ask, &leases).unwrap();
        assert_eq!(
            (outcome.recalled, outcome.in_flight, outcome.replaced),
            (2, 1, 1)
        );
        // The queued ones are never taken again (a queue read holds the
        // leases, so none can have begun before the recall and end after).
        assert!(store
            .take_due(9_000, 10, 100, &leases)
            .unwrap()
            .iter()
            .all(|(k, _)| k.job_id != "j"));
        // The one in flight lands: exactly one replacement joins the job.
        store.commit(&[result(&due[1].0, delivered())]).unwrap();
        assert_eq!(
            state_names(&store, "j"),
            ["delivered", "delivered", "recalled", "recalled"]
        );
        assert_eq!(
            bodies(&store, &outcome.job_id),
            ["j/0:recalled", "j/1:recalled"]
        );
        // A second recall does nothing; an edit after it is refused.
        let again = store.recall(&ask, &leases).unwrap();
        assert!(again.repeated);
        assert_eq!(again.job_id, outcome.job_id);
        assert_eq!(store.devices(&outcome.job_id).unwrap().len(), 2);
        let edit = Recall {
            edit: Some("new"),
            ..ask
        };
        assert!(matches!(
            store.recall(&edit, &leases),
            Err(RecallError::AfterRecall(_))
        ));
        assert!(matches!(
            store.recall(
                &Recall {
                    message_key: "c2c:none",
                    ..ask
                },
                &leases
            ),
            Err(RecallError::Unknown(_))
        ));
        // Its replacements are ordinary queued devices.
        assert_eq!(store.queued(), 2);
    }

    #[test]
    fn an_edit_swaps_queued_pushes_and_replaces_sent_ones_with_the_newest_text() {
        let (_dir, store, leases, due) = one_sent_one_sending("group:g:7", 3);
        let edit = |text| Recall {
            message_key: "group:g:7",
            edit: Some(text),
            now_ms: 2_000,
        };
        let first = store.recall(&edit("one"), &leases).unwrap();
        assert_eq!((first.replaced, first.in_flight, first.edited), (1, 1, 1));
        // The queued device now carries the edit.
        assert_eq!(bodies(&store, "j")[2], "j/2:one");
        // The next queue read sends it with the edit, not the original.
        let taken = store.take_due(9_000, 10, 100, &leases).unwrap();
        let pushes: Vec<(u32, &str)> = taken
            .iter()
            .filter(|(k, _)| k.job_id == "j")
            .map(|(k, d)| (k.device, d.push.as_ref().unwrap().body.as_str()))
            .collect();
        assert_eq!(pushes, [(2, "j/2:one")]);
        for (key, _) in &taken {
            leases.lock().unwrap().release(key);
        }
        // The one in flight is retried: with the edit too.
        store
            .commit(&[result(
                &due[1].0,
                DeviceState::Retrying {
                    reason: "ServiceUnavailable".into(),
                    next_attempt_ms: 3_000,
                },
            )])
            .unwrap();
        leases.lock().unwrap().settle(&due[1].0);
        assert_eq!(bodies(&store, "j")[1], "j/1:one");
        // A second edit: the first's unsent replacement is dropped, the
        // sent device gets the newest text.
        let second = store.recall(&edit("two"), &leases).unwrap();
        assert_eq!(second.replaced, 1);
        assert_eq!(
            store.devices(&first.job_id).unwrap()[0].state,
            DeviceState::Recalled
        );
        assert_eq!(bodies(&store, &second.job_id), ["j/0:two"]);
        assert_eq!(bodies(&store, "j")[1..], ["j/1:two", "j/2:two"]);
        assert!(store.recall(&edit("two"), &leases).unwrap().repeated);
        // The swapped ones are sent with the newest text: nothing follows.
        let rest = store.take_due(9_000, 10, 100, &leases).unwrap();
        let results: Vec<DeviceResult> = rest
            .iter()
            .filter(|(k, _)| k.job_id == "j")
            .map(|(k, _)| result(k, delivered()))
            .collect();
        assert_eq!(results.len(), 2);
        store.commit(&results).unwrap();
        assert_eq!(state_names(&store, "j"), ["delivered"; 3]);
        assert_eq!(store.devices(&second.job_id).unwrap().len(), 1);
    }

    #[test]
    fn a_keyed_jobs_recall_goes_with_its_last_job() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path())
            .unwrap()
            .with_renderer(Arc::new(Marker));
        store
            .accept(
                &keyed("j", "c2c:k", 1),
                &[device(DeviceState::Suppressed {
                    reason: "Foreground".into(),
                })],
            )
            .unwrap();
        let ask = Recall {
            message_key: "c2c:k",
            edit: None,
            now_ms: 2_000,
        };
        let outcome = store.recall(&ask, &no_leases()).unwrap();
        assert_eq!(outcome.untouched, 1);
        let retention = Retention {
            job_ttl_ms: 10_000,
            feedback_ttl_ms: 10_000,
            webhook: false,
        };
        let swept = store.sweep(20_000, &retention).unwrap();
        assert_eq!(swept.jobs, 2, "the job and its recall's");
        assert!(matches!(
            store.recall(&ask, &no_leases()),
            Err(RecallError::Unknown(_))
        ));
    }

    #[test]
    fn stored_headers_lend_back_what_the_core_wrote() {
        let apns = tidings_core::render::Headers::Apns(tidings_core::render::ApnsHeaders {
            push_type: "voip",
            priority: "10",
            topic: "com.example.chat",
            topic_suffix: ".voip",
            expiration: Some(1_800_000_600),
            collapse_id: Some("c1".into()),
            device_token: "ab01",
        });
        for headers in [apns, tidings_core::render::Headers::None] {
            let stored = StoredHeaders::of(&headers);
            let bytes = encode(&stored).unwrap();
            let back: StoredHeaders = decode(&bytes).unwrap();
            assert_eq!(back.lend(), Some(headers));
        }
        let forged = StoredHeaders::Apns {
            push_type: "other".into(),
            priority: "10".into(),
            topic: String::new(),
            topic_suffix: String::new(),
            expiration: None,
            collapse_id: None,
            device_token: String::new(),
        };
        assert_eq!(forged.lend(), None);
    }
}
