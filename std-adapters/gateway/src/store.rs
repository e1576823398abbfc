//! The local queue: jobs, their devices' states, the due-time queue, the
//! idempotency keys and the invalid-token feedback feed, in one embedded
//! database (redb: crash-safe, copy-on-write B-trees, every commit durable
//! when it returns). A job is answered 202 only after the transaction that
//! holds it and its queue entries committed; a device's result and the
//! removal of its queue entry commit together, so a committed result is
//! never sent again and an uncommitted one is sent again after a crash.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Job id → [`JobRecord`] (JSON).
const JOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("jobs");
/// (job id, device index) → [`DeviceRecord`] (JSON).
const DEVICES: TableDefinition<'_, (&str, u32), &[u8]> = TableDefinition::new("devices");
/// (due time ms, job id, device index): what is to be sent, by due time.
const QUEUE: TableDefinition<'_, (u64, &str, u32), ()> = TableDefinition::new("queue");
/// Idempotency key → job id.
const IDEMPOTENCY: TableDefinition<'_, &str, &str> = TableDefinition::new("idempotency");
/// Sequence number → [`Feedback`] (JSON): the invalid-token feed.
const FEEDBACK: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("feedback");
/// Counters: queue depth, feedback sequence, the webhook's cursor.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

const QUEUED: &str = "queued";
const FEEDBACK_SEQ: &str = "feedback_seq";
const WEBHOOK_CURSOR: &str = "webhook_cursor";

/// A store error: the database's own words (no request data in it).
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(String);

impl StoreError {
    pub fn from_join(e: &tokio::task::JoinError) -> Self {
        StoreError(e.to_string())
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// One accepted push request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    /// When it was accepted (Unix ms): every rule is decided at this time.
    pub accepted_ms: u64,
    pub devices: u32,
    pub idempotency_key: Option<String>,
    /// How the devices' cases are stored.
    pub form: JobForm,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum JobForm {
    /// The request's `Message`, `Sender`, `Group`, `App` as JSON object
    /// members (`"Message":…,"Sender":…`), shared by its devices.
    Json { common: String },
    /// One postcard job (core `wire`) from an edge relay.
    Wire { bytes: Vec<u8> },
}

/// A device's state, as `GET /v1/jobs/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "State", rename_all = "snake_case")]
pub enum DeviceState {
    Queued,
    Suppressed {
        #[serde(rename = "Reason")]
        reason: String,
    },
    Delivered {
        #[serde(rename = "Id")]
        id: String,
        /// When the provider took it (Unix ms).
        #[serde(rename = "DeliveredAt")]
        at_ms: u64,
    },
    TokenInvalid {
        #[serde(rename = "Reason")]
        reason: String,
    },
    Retrying {
        #[serde(rename = "Reason")]
        reason: String,
        /// Unix ms.
        #[serde(rename = "NextAttempt")]
        next_attempt_ms: u64,
    },
    Failed {
        #[serde(rename = "Reason")]
        reason: String,
    },
    Expired,
    /// Delivered `queue.max_deliver` times without a final outcome (NATS
    /// queue only): moved to the dead-letter subject with the last reason.
    DeadLettered {
        #[serde(rename = "Reason")]
        reason: String,
    },
}

impl DeviceState {
    pub fn name(&self) -> &'static str {
        match self {
            DeviceState::Queued => "queued",
            DeviceState::Suppressed { .. } => "suppressed",
            DeviceState::Delivered { .. } => "delivered",
            DeviceState::TokenInvalid { .. } => "token_invalid",
            DeviceState::Retrying { .. } => "retrying",
            DeviceState::Failed { .. } => "failed",
            DeviceState::Expired => "expired",
            DeviceState::DeadLettered { .. } => "dead_lettered",
        }
    }

    /// Whether this device still has a queue entry.
    pub fn is_pending(&self) -> bool {
        matches!(self, DeviceState::Queued | DeviceState::Retrying { .. })
    }
}

/// One device of a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The recipient with this one device, as JSON (empty for wire jobs).
    pub recipient: String,
    pub channel: String,
    pub token: String,
    /// Where it came from in the request: `Recipients[i]` or
    /// `Recipients[i].Devices[j]`.
    pub path: String,
    pub state: DeviceState,
    pub attempts: u32,
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
    pub due_ms: u64,
    pub job_id: String,
    pub device: u32,
}

/// What accepting a job did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    New,
    /// The idempotency key names this earlier job: nothing was queued.
    Existing {
        job_id: String,
        devices: u32,
    },
}

/// A device's result, to commit.
#[derive(Clone, Debug)]
pub struct DeviceResult {
    pub key: QueueKey,
    pub state: DeviceState,
    pub attempts: u32,
    pub feedback: Option<Feedback>,
}

/// Queue entries being sent, and those whose results committed since the
/// last [`Store::take_due`] began: a read that began before a commit still
/// sees its entries, which must not be taken (and sent) again.
#[derive(Debug, Default)]
pub struct Leases {
    held: HashSet<QueueKey>,
    settled: HashSet<QueueKey>,
}

impl Leases {
    /// A lease given back without a result: the entry may be taken again.
    pub fn release(&mut self, key: &QueueKey) {
        self.held.remove(key);
    }

    /// The entry's result is committed.
    pub fn settle(&mut self, key: &QueueKey) {
        if self.held.remove(key) {
            self.settled.insert(key.clone());
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
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
    /// process opens as it was at its last commit.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let db = Database::create(dir.join("queue.redb")).map_err(err)?;
        let txn = db.begin_write().map_err(err)?;
        {
            txn.open_table(JOBS).map_err(err)?;
            txn.open_table(DEVICES).map_err(err)?;
            txn.open_table(QUEUE).map_err(err)?;
            txn.open_table(IDEMPOTENCY).map_err(err)?;
            txn.open_table(FEEDBACK).map_err(err)?;
            txn.open_table(META).map_err(err)?;
        }
        txn.commit().map_err(err)?;
        Ok(Self { db: Arc::new(db) })
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
    /// of the earlier ones). Nothing is stored unless everything is.
    pub fn accept_all(
        &self,
        jobs_in: &[(&JobRecord, &[DeviceRecord])],
    ) -> Result<Vec<Accepted>, StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        let mut answers = Vec::with_capacity(jobs_in.len());
        {
            let mut jobs = txn.open_table(JOBS).map_err(err)?;
            let mut keys = txn.open_table(IDEMPOTENCY).map_err(err)?;
            let mut table = txn.open_table(DEVICES).map_err(err)?;
            let mut queue = txn.open_table(QUEUE).map_err(err)?;
            let mut meta = txn.open_table(META).map_err(err)?;
            let mut depth = meta.get(QUEUED).map_err(err)?.map_or(0, |v| v.value());
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
                            .map(|v| serde_json::from_slice::<JobRecord>(v.value()))
                            .transpose()
                            .map_err(err)?;
                        if let Some(record) = record {
                            if job.accepted_ms.saturating_sub(record.accepted_ms)
                                < IDEMPOTENCY_WINDOW_MS
                            {
                                answers.push(Accepted::Existing {
                                    job_id: record.id,
                                    devices: record.devices,
                                });
                                continue 'jobs;
                            }
                        }
                    }
                    keys.insert(key.as_str(), job.id.as_str()).map_err(err)?;
                }
                let bytes = serde_json::to_vec(job).map_err(err)?;
                jobs.insert(job.id.as_str(), bytes.as_slice())
                    .map_err(err)?;
                for (i, device) in devices.iter().enumerate() {
                    let index = u32::try_from(i).map_err(err)?;
                    let bytes = serde_json::to_vec(device).map_err(err)?;
                    table
                        .insert((job.id.as_str(), index), bytes.as_slice())
                        .map_err(err)?;
                    if device.state.is_pending() {
                        queue
                            .insert((job.accepted_ms, job.id.as_str(), index), ())
                            .map_err(err)?;
                        depth += 1;
                    }
                }
                answers.push(Accepted::New);
            }
            meta.insert(QUEUED, depth).map_err(err)?;
        }
        txn.commit().map_err(err)?;
        Ok(answers)
    }

    /// Up to `limit` queue entries due by `now_ms` that are not leased,
    /// with their device records, read in one transaction; each one
    /// returned is leased (so no two workers take it). One caller at a time.
    pub fn take_due(
        &self,
        now_ms: u64,
        limit: usize,
        leases: &std::sync::Mutex<Leases>,
    ) -> Result<Vec<(QueueKey, DeviceRecord)>, StoreError> {
        // Entries settled before this read began are gone from what it
        // sees; those settled while it reads are still in its snapshot and
        // stay skipped (see [`Leases::settle`]).
        leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .settled
            .clear();
        let txn = self.db.begin_read().map_err(err)?;
        let queue = txn.open_table(QUEUE).map_err(err)?;
        let devices = txn.open_table(DEVICES).map_err(err)?;
        let mut leases = leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        for entry in queue
            .range((0u64, "", 0u32)..=(now_ms, "\u{10ffff}", u32::MAX))
            .map_err(err)?
        {
            let (key, _) = entry.map_err(err)?;
            let (due_ms, job_id, device) = key.value();
            let key = QueueKey {
                due_ms,
                job_id: job_id.to_owned(),
                device,
            };
            if leases.held.contains(&key) || leases.settled.contains(&key) {
                continue;
            }
            let record = devices
                .get((job_id, device))
                .map_err(err)?
                .map(|v| serde_json::from_slice::<DeviceRecord>(v.value()))
                .transpose()
                .map_err(err)?;
            // A queue entry always has its device (they commit together).
            let Some(record) = record else { continue };
            leases.held.insert(key.clone());
            out.push((key, record));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The earliest due time in the queue.
    pub fn next_due(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let queue = txn.open_table(QUEUE).map_err(err)?;
        let first = queue.first().map_err(err)?;
        Ok(first.map(|(k, _)| k.value().0))
    }

    pub fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let jobs = txn.open_table(JOBS).map_err(err)?;
        let value = jobs.get(id).map_err(err)?;
        value
            .map(|v| serde_json::from_slice(v.value()).map_err(err))
            .transpose()
    }

    pub fn device(&self, job_id: &str, index: u32) -> Result<Option<DeviceRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(DEVICES).map_err(err)?;
        let value = table.get((job_id, index)).map_err(err)?;
        value
            .map(|v| serde_json::from_slice(v.value()).map_err(err))
            .transpose()
    }

    /// Every device of a job, in request order.
    pub fn devices(&self, job_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(DEVICES).map_err(err)?;
        let mut out = Vec::new();
        for entry in table
            .range((job_id, 0u32)..=(job_id, u32::MAX))
            .map_err(err)?
        {
            let (_, value) = entry.map_err(err)?;
            out.push(serde_json::from_slice(value.value()).map_err(err)?);
        }
        Ok(out)
    }

    /// Commits results in one transaction: each removes its queue entry
    /// and sets its device's state; a retry queues the device again at its
    /// next attempt; an invalid token joins the feedback feed.
    pub fn commit(&self, results: &[DeviceResult]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut queue = txn.open_table(QUEUE).map_err(err)?;
            let mut devices = txn.open_table(DEVICES).map_err(err)?;
            let mut feedback = txn.open_table(FEEDBACK).map_err(err)?;
            let mut meta = txn.open_table(META).map_err(err)?;
            let mut depth = meta.get(QUEUED).map_err(err)?.map_or(0, |v| v.value());
            let mut seq = meta
                .get(FEEDBACK_SEQ)
                .map_err(err)?
                .map_or(0, |v| v.value());
            for r in results {
                let key = (r.key.due_ms, r.key.job_id.as_str(), r.key.device);
                if queue.remove(key).map_err(err)?.is_none() {
                    // Committed before (a duplicate lease): keep the first.
                    continue;
                }
                depth = depth.saturating_sub(1);
                let device_key = (r.key.job_id.as_str(), r.key.device);
                let current = devices
                    .get(device_key)
                    .map_err(err)?
                    .map(|v| serde_json::from_slice::<DeviceRecord>(v.value()))
                    .transpose()
                    .map_err(err)?;
                let Some(mut device) = current else { continue };
                device.state = r.state.clone();
                device.attempts = r.attempts;
                let bytes = serde_json::to_vec(&device).map_err(err)?;
                devices.insert(device_key, bytes.as_slice()).map_err(err)?;
                if let DeviceState::Retrying {
                    next_attempt_ms, ..
                } = r.state
                {
                    queue
                        .insert((next_attempt_ms, r.key.job_id.as_str(), r.key.device), ())
                        .map_err(err)?;
                    depth += 1;
                }
                if let Some(f) = &r.feedback {
                    seq += 1;
                    let bytes = serde_json::to_vec(f).map_err(err)?;
                    feedback.insert(seq, bytes.as_slice()).map_err(err)?;
                }
            }
            meta.insert(QUEUED, depth).map_err(err)?;
            meta.insert(FEEDBACK_SEQ, seq).map_err(err)?;
        }
        txn.commit().map_err(err)
    }

    /// Devices waiting in the queue.
    pub fn queued(&self) -> Result<u64, StoreError> {
        self.meta(QUEUED)
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
            form: JobForm::Json {
                common: String::new(),
            },
        }
    }

    fn device(state: DeviceState) -> DeviceRecord {
        DeviceRecord {
            recipient: "{}".into(),
            channel: "apns".into(),
            token: "ab".into(),
            path: "Recipients[0]".into(),
            state,
            attempts: 0,
        }
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
        assert_eq!(store.queued().unwrap(), 2);
        // The same key within 24 h names the first job and queues nothing.
        assert_eq!(
            store
                .accept(&job("j2", Some("k"), 2_000, 1), &devices[..1])
                .unwrap(),
            Accepted::Existing {
                job_id: "j1".into(),
                devices: 3
            }
        );
        assert_eq!(store.queued().unwrap(), 2);
        let none = std::sync::Mutex::new(Leases::default());
        let due: Vec<QueueKey> = store
            .take_due(1_000, 10, &none)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(due.len(), 2);
        assert!(store
            .take_due(999, 10, &std::sync::Mutex::new(Leases::default()))
            .unwrap()
            .is_empty());
        let leased = std::sync::Mutex::new(Leases {
            held: [due[0].clone()].into_iter().collect(),
            settled: HashSet::new(),
        });
        let second = store.take_due(1_000, 10, &leased).unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].0, due[1]);
        assert_eq!(leased.lock().unwrap().held(), 2, "taking leases");
        store
            .commit(&[
                DeviceResult {
                    key: due[0].clone(),
                    state: DeviceState::Delivered {
                        id: "x".into(),
                        at_ms: 9,
                    },
                    attempts: 1,
                    feedback: None,
                },
                DeviceResult {
                    key: due[1].clone(),
                    state: DeviceState::Retrying {
                        reason: "Shutdown".into(),
                        next_attempt_ms: 5_000,
                    },
                    attempts: 1,
                    feedback: None,
                },
            ])
            .unwrap();
        assert_eq!(store.queued().unwrap(), 1);
        assert_eq!(store.next_due().unwrap(), Some(5_000));
        drop(store);
        // A reopened store is as the last commit left it.
        let store = Store::open(dir.path()).unwrap();
        let states: Vec<&str> = store
            .devices("j1")
            .unwrap()
            .iter()
            .map(|d| d.state.name())
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        assert_eq!(states, ["delivered", "suppressed", "retrying"]);
        // A result committed twice counts once.
        let again = DeviceResult {
            key: due[0].clone(),
            state: DeviceState::Failed {
                reason: "late".into(),
            },
            attempts: 2,
            feedback: None,
        };
        store.commit(&[again]).unwrap();
        assert_eq!(
            store.devices("j1").unwrap()[0].state,
            DeviceState::Delivered {
                id: "x".into(),
                at_ms: 9
            }
        );
        assert_eq!(store.queued().unwrap(), 1);
    }

    #[test]
    fn feedback_is_a_cursor_feed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let devices: Vec<DeviceRecord> = (0..3).map(|_| device(DeviceState::Queued)).collect();
        store.accept(&job("j", None, 0, 3), &devices).unwrap();
        let due: Vec<QueueKey> = store
            .take_due(0, 10, &std::sync::Mutex::new(Leases::default()))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let results: Vec<DeviceResult> = due
            .iter()
            .map(|key| DeviceResult {
                key: key.clone(),
                state: DeviceState::TokenInvalid {
                    reason: "Unregistered".into(),
                },
                attempts: 1,
                feedback: Some(Feedback {
                    channel: "apns".into(),
                    token: format!("t{}", key.device),
                    reason: "Unregistered".into(),
                    invalid_since: None,
                    job_id: "j".into(),
                    at: 7,
                }),
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
}
