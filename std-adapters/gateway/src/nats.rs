//! The JetStream queue (`[queue] kind = "nats"`): every gateway on one NATS
//! server or cluster shares the work, the job states and the feedback, so
//! any gateway answers for any job and a gateway that dies loses nothing.
//!
//! What lives where (`S` = `queue.stream`, `P` = `queue.subject`):
//!
//! - stream `S` (work queue, file storage, `queue.replicas`), subjects
//!   `P.job` and `P.device`, one durable pull consumer `queue.consumer`
//!   every gateway pulls from, at most `queue.max_ack_pending` messages
//!   unacknowledged across all of them (default 100,000; the consumer is
//!   created or updated with it at start):
//!   - `P.job`: an accepted request, published by the API (202 only after
//!     JetStream's ack, `Nats-Msg-Id` = job id). The gateway that takes it
//!     fans it out into one `P.device` message per device to send
//!     (`Nats-Msg-Id` = job/device, so a fan-out repeated after a crash is
//!     stored once), then acks it (a job of one device is sent from its
//!     job message);
//!   - `P.device`: one device to send, with the real send attempts made so
//!     far. Acked once its final state is in `S_JOBS`; kept alive by
//!     in-progress acks while it is handled; redelivered by JetStream after
//!     `queue.ack_wait_secs` when its gateway dies. A device to be sent
//!     again (the provider's retry time plus jitter, or a paused channel's
//!     next probe) has its state written first, then waits: up to
//!     `PARK_AFTER` (5 s) as a delayed nak of its message; longer, parked;
//! - stream `S_RETRY` (work queue, file storage), subject `P.retry`, its
//!   own durable pull consumer `<consumer>_retry`: parked devices. Parking
//!   publishes the device (its due time, attempts, time held, job and
//!   index) with `Nats-Msg-Id` = job/device/`s`+the stream sequence of the
//!   message it came in, and acks that message only once JetStream acked
//!   the publish — so a device waiting minutes or hours holds none of the
//!   shared consumer's `max_ack_pending` slots, and 400 devices waiting on
//!   a provider's `Retry-After` cannot keep a new device from being sent.
//!   The retry consumer naks a parked message not yet due with the delay
//!   left (each one waits apart: one not due holds up none that is) and
//!   republishes a due one to `P.device` (`Nats-Msg-Id` =
//!   job/device/`p`+its sequence on `S_RETRY`, marked to be checked against
//!   `S_JOBS` before sending), acking it once that publish is acked. A
//!   crash between a publish and its ack repeats the publish with the same
//!   id: stored once (within `queue.duplicate_window_secs`, which the ack
//!   wait is well inside);
//! - KV bucket `S_JOBS` (`queue.job_ttl_secs`): key `<job>` holds the job
//!   as accepted, `<job>.<device>` a device's latest state, its real
//!   attempts and its time held on a paused channel;
//! - KV bucket `S_KEYS` (24 h): idempotency key (SHA-256) → job id, its
//!   accepted time and its request's SHA-256;
//! - KV bucket `S_MSGS` (`queue.job_ttl_secs`): a keyed message's key
//!   (hex SHA-256 of `MessageKey`'s `Display`: KV keys take few
//!   characters) → its jobs, and its recall or newest edit (the text, and
//!   the recall jobs, oldest first). Written on the revision read
//!   (compare-and-set), so gateways accepting jobs of one message, or
//!   recalling it, at once each add theirs;
//! - stream `S_FEEDBACK`, subject `P.feedback`: invalid tokens; a record's
//!   `Seq` is its stream sequence; the webhook shares the durable consumer
//!   `<consumer>_webhook`;
//! - stream `S_DEAD`, subject `P.dead`: devices sent `queue.max_deliver`
//!   times without a final outcome, with the last reason, JetStream's
//!   deliveries of the last message and the attempts (the device's state
//!   says `dead_lettered` too).
//!
//! Decisions where JetStream leaves a choice:
//!
//! - Parking is a stream of its own, not a third subject of `S`: a work
//!   queue's consumers may not overlap, and nats-server 2.9 (Debian 12's)
//!   gives a consumer one filter subject, so the shared consumer (no
//!   filter: both subjects, as deployed) would have to be replaced by two.
//!   Its own stream keeps the shared consumer as it is, and the retry
//!   consumer's pending messages apart from it. That consumer's
//!   `max_ack_pending` is unlimited: every parked device is pending on it
//!   while it waits, so any limit would be a cap on waiting devices past
//!   which due ones wait behind others not due (the server keeps one small
//!   entry per parked device and scans them on its redelivery timer). A
//!   due device is republished rather than sent from the retry stream, so
//!   it is sent within the shared consumer's limit, behind what was queued
//!   before it.
//! - Only real sends count toward `queue.max_deliver`: a device handed
//!   back without one (held past half the ack wait in a busy gateway, a
//!   handling error, a hold on a down or paused channel, a gateway
//!   stopping) is not dead-lettered for it. The attempts travel in the
//!   device message (set when parked) and in its state in `S_JOBS`
//!   (written before every nak, so a short retry, which keeps its message,
//!   is counted too); the larger of the two counts. A device is
//!   dead-lettered when a send leaves it at `max_deliver` attempts without
//!   a final outcome, or when it is delivered with as many already
//!   recorded. A send whose gateway died before recording it is not
//!   counted. One message delivered more than `max_deliver` +
//!   `MAX_HANDBACKS` (100) times is dead-lettered whatever its attempts
//!   (`HandedBack`): a message whose handling fails every time cannot loop
//!   forever. JetStream's own `max_deliver` is unlimited: it stops
//!   delivering at its limit and leaves the message in the stream with
//!   only an advisory, so a gateway killed during the last delivery would
//!   strand it.
//! - A device recorded in `S_JOBS` as waiting until later (its gateway
//!   died before parking it, or another gateway's clock is ahead) is not
//!   sent early when it is delivered again: it waits again.
//! - An invalid token's feedback is published (`Nats-Msg-Id` =
//!   job/device, so a repeat is stored once) before the device's final
//!   state is written and its message acked: a final device is never sent
//!   again, so feedback published after its state could be lost. A failed
//!   feedback publish leaves the device `retrying` (`FeedbackNotRecorded`,
//!   the attempt counted) and naks it: it is sent again.
//! - `IdempotencyKey` → the `S_KEYS` bucket (`create` is atomic across
//!   gateways; 24 h as the local queue) rather than JetStream's message-id
//!   window alone: a repeated request must be answered with the earlier job
//!   id, which a duplicate publish's ack does not give, and holding 24 h of
//!   ids in the server's memory is costly. The publish still carries
//!   `Nats-Msg-Id` (the job id). A key is released only when its job's
//!   publish was definitely not stored (it never left the client, or
//!   JetStream answered with a refusal, `publish_outcome`); when the
//!   outcome is unknown (no ack in time, the connection lost) the request
//!   gets a 503 and the key keeps naming the job. A repeat with the same
//!   body that finds no record of the job (its publish unknown, still in
//!   flight on another gateway, or its gateway died) publishes the same job
//!   again — same id, same accepted time, same request — and answers it:
//!   JetStream stores one copy within its duplicate window. The record is
//!   written only by a publish that stored a new, first copy (or by a
//!   fan-out), so a copy published again that was stored past the window
//!   (`republished`) is dropped by the fan-out when it finds the record: the
//!   first copy was stored and sends the devices. Another body with a key
//!   in use is a 409 naming its job.
//! - A job is checked against the server's `max_payload` (as published:
//!   the record and the request, a wire job's bytes as JSON numbers)
//!   before its key is taken: over it is a 413 naming the limit.
//! - A device already final in `S_JOBS` is acked without sending when it
//!   is delivered again (its gateway died between the state and the ack).
//! - So is one the server hands out again after it restarted: a crashed
//!   `nats-server` can come back without the acks (work-queue removals)
//!   it took just before, so those messages return, maybe counted as a
//!   first delivery. Every message published before the gateway's current
//!   connection (stream sequence at or below the stream's last one when
//!   the connection was made, [`RecheckMark`]) is checked against
//!   `S_JOBS` before a send; a job fanned out again marks its device
//!   messages to be checked too. Messages published later cost no read.
//!
//! Recall and edit (`POST /v1/recall`, Tencent's callbacks; the same
//! answers as the local queue's, from any gateway): a keyed job is named
//! in `S_MSGS` before it is published. A recall writes its record there
//! first (on the revision read: of two at once, one makes it and the
//! other is a repeat or a 409), makes its job in `S_JOBS`, then, per
//! device of the message's jobs, reads its state with its revision and
//! writes on it: pending (absent, queued, retrying, paused) → `recalled`,
//! or after an edit the edit's push beside its state; delivered → its
//! replacement rendered from the job's kept request
//! ([`crate::recall::RecallRenderer`], as the local queue) and published
//! as a device message of the recall's job (`Nats-Msg-Id` = recall
//! job/device); a write that lost to another is read again. The race
//! rule: the sender of a keyed device (a job whose message has a key, or
//! a recall's job) reads its state and revision before every send —
//! `recalled` is acked unsent, an edit's push is sent instead of the
//! original — and writes its result on that revision. If that write
//! fails because a recall or an edit marked the device meanwhile, the
//! send landed after the recall: delivered → the sender writes
//! `delivered` marked `replacing` (on the revision it read again), publishes
//! the one replacement itself (in the newest recall's job; the recall saw
//! the device pending, so made none), then writes `delivered` — a gateway
//! dying in between leaves `replacing` to the message's next delivery,
//! which publishes it (same `Nats-Msg-Id`: stored once); to be sent
//! again → left `recalled`, or sent again with the edit's push; any
//! other end is written as it is. Either the recall's write or the
//! sender's comes first, so a device gets nothing or exactly one
//! replacement. What the local queue answers `InFlight` is counted
//! `Recalled` here (a send in flight on another gateway cannot be seen).
//! An unkeyed device costs nothing more. A replacement outdated by a
//! newer edit before it was sent is marked `recalled` (the newer edit
//! replaces what was shown). A recall's record says `unfinished` until
//! every device is marked and every replacement published: the same
//! recall made again (a retry after a 503, or at once from another
//! gateway) makes it again under the same job and answers as a repeat —
//! marks already made are left, a replacement already handled is not
//! published again, one published and not yet handled is published again
//! with its `Nats-Msg-Id` (stored once within
//! `queue.duplicate_window_secs`). Not covered: a sender's gateway dying during the provider's send itself
//! (before any state is written) leaves the device pending, so the
//! recall marks it `recalled` though the provider may have shown it.
//!
//! Durability: "nothing acknowledged by JetStream is lost" — the promise
//! every publish-then-ack step above rests on — holds only when the server
//! syncs each write to disk before acknowledging it (nats-server's
//! `jetstream { sync_interval: always }`) or when streams and buckets have
//! 3 replicas (`queue.replicas = 3` on a cluster of 3 or more): by default
//! nats-server syncs to disk every 2 minutes, so a machine that loses
//! power (not a process killed: the page cache survives that) can lose up
//! to 2 minutes of acknowledged jobs, states and acks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream, AckKind, Message};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tidings_std::config::{ConfigError, QueueSection};
use tidings_std::ingest::AppDoc;
use tokio::sync::Semaphore;

use crate::job::{prepare, prepare_wire};
use crate::store::{
    count, Accepted, DeviceRecord, DeviceState, Feedback, JobForm, JobRecord, Kept, RecallError,
    RecallOutcome, Renderer, StoredPush, IDEMPOTENCY_WINDOW_MS,
};
use crate::time::{millis, now_ms};
use crate::worker::{attempt, Attempt, Context};

/// Defaults of `[queue]` for `kind = "nats"`.
pub mod defaults {
    pub const URL: &str = "nats://127.0.0.1:4222";
    pub const STREAM: &str = "TIDINGS";
    pub const SUBJECT: &str = "tidings";
    pub const CONSUMER: &str = "tidings";
    pub const REPLICAS: u64 = 1;
    /// Longer than any provider's answer (their deadlines are ≤ 20 s);
    /// a dead gateway's work moves on after this.
    pub const ACK_WAIT_SECS: u64 = 30;
    pub const MAX_DELIVER: u64 = 10;
    /// Unacknowledged messages the shared consumer allows, all gateways
    /// together: sized for a fleet (each gateway holds at most four times
    /// its `concurrency` of them at once).
    pub const MAX_ACK_PENDING: u64 = 100_000;
    /// NATS's own default.
    pub const DUPLICATE_WINDOW_SECS: u64 = 120;
    pub const JOB_TTL_SECS: u64 = 7 * 24 * 3600;
}

/// Messages a gateway pulls per request at most.
const PULL_BATCH: usize = 256;
/// The longest wait before a device's next send that stays a delayed nak
/// of its message (holding a slot of the shared consumer's
/// `max_ack_pending` meanwhile). A longer one — a provider's
/// `Retry-After`, a backoff, a paused channel's next probe — parks the
/// device on the retry stream, so waiting devices never starve new ones
/// of slots, however many there are.
const PARK_AFTER: Duration = Duration::from_secs(5);
/// Deliveries of one message without a send beyond `max_deliver` that are
/// borne (handed back while held too long in a busy gateway, a handling
/// error, a short hold on a paused channel, a gateway stopping): past
/// `max_deliver` + this, the device is dead-lettered (`HandedBack`)
/// whatever its attempts, so a message whose handling fails every time
/// cannot loop forever. Holds longer than `PARK_AFTER` make a new
/// message, so a device held for hours on a paused channel never nears it.
const MAX_HANDBACKS: u64 = 100;
/// Parked messages a gateway handles at once (each a nak, or a publish
/// and an ack).
const PARKED_IN_FLIGHT: usize = 64;
/// Device messages published before their acks are awaited.
const FAN_OUT_CHUNK: usize = 1024;
/// How long a request without an answer from JetStream waits.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Room for a job message's `Nats-Msg-Id` header within `max_payload`.
const MSG_ID_HEADER_ROOM: usize = 128;
/// Job records kept per gateway at most (then the cache starts again).
const JOB_CACHE: usize = 1024;
/// Device states read at once for `GET /v1/jobs/{id}`, or marked at once
/// by a recall.
const STATE_READS: usize = 64;
/// How often the queue depth (for `/metrics` and `server.high_water`) is read.
const DEPTH_REFRESH: Duration = Duration::from_secs(1);
/// Pause before pulling again after the consumer failed (NATS gone).
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// How long the webhook's pull waits for records.
const WEBHOOK_WAIT: Duration = Duration::from_millis(500);
/// Feedback records in flight to the webhook are delivered again after this.
const WEBHOOK_ACK_WAIT: Duration = Duration::from_secs(60);

/// `[queue]` for NATS, checked.
#[derive(Clone)]
pub struct NatsSettings {
    /// May hold `user:password@`: never logged.
    url: String,
    credentials_file: Option<std::path::PathBuf>,
    ca_file: Option<std::path::PathBuf>,
    pub stream: String,
    pub subject: String,
    pub consumer: String,
    pub replicas: usize,
    pub ack_wait: Duration,
    pub max_deliver: u64,
    pub max_ack_pending: u64,
    pub duplicate_window: Duration,
    pub job_ttl: Duration,
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &redact(&self.url))
            .field("stream", &self.stream)
            .field("subject", &self.subject)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// The servers as they may be shown: without any `user:password@`.
fn redact(url: &str) -> String {
    split_credentials(url).0.join(",")
}

enum Login {
    UserPassword(String, String),
    Token(String),
}

/// The servers of `queue.url` without their `user:password@` or `token@`,
/// and the first such login (NATS takes one per connection).
fn split_credentials(url: &str) -> (Vec<String>, Option<Login>) {
    let mut login = None;
    let addresses = url
        .split(',')
        .map(str::trim)
        .map(|one| {
            let (scheme, rest) = one.split_once("://").unwrap_or(("nats", one));
            let Some((userinfo, host)) = rest.rsplit_once('@') else {
                return format!("{scheme}://{rest}");
            };
            if login.is_none() {
                login = Some(match userinfo.split_once(':') {
                    Some((user, password)) => Login::UserPassword(user.into(), password.into()),
                    None => Login::Token(userinfo.into()),
                });
            }
            format!("{scheme}://{host}")
        })
        .collect();
    (addresses, login)
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn subject_ok(subject: &str) -> bool {
    subject.split('.').all(|token| {
        !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'*' && b != b'>')
    })
}

impl NatsSettings {
    pub fn from_config(queue: &QueueSection) -> Result<Self, ConfigError> {
        let positive = |value: Option<u64>, default: u64, key: &str| match value {
            Some(0) => Err(ConfigError::new(key, "must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let named = |value: &Option<String>, default: &str, key: &str, subject: bool| {
            let name = value.clone().unwrap_or_else(|| default.into());
            match (subject, subject_ok(&name), name_ok(&name)) {
                (false, _, true) | (true, true, _) => Ok(name),
                (false, _, false) => Err(ConfigError::new(
                    key,
                    format!("{name:?}: letters, digits, _ and - only"),
                )),
                (true, false, _) => Err(ConfigError::new(
                    key,
                    format!("{name:?}: dot-separated tokens without spaces or wildcards"),
                )),
            }
        };
        let stream = named(&queue.stream, defaults::STREAM, "queue.stream", false)?;
        let consumer = named(&queue.consumer, defaults::CONSUMER, "queue.consumer", false)?;
        let subject = named(&queue.subject, defaults::SUBJECT, "queue.subject", true)?;
        let replicas = positive(queue.replicas, defaults::REPLICAS, "queue.replicas")?;
        if replicas > 5 {
            return Err(ConfigError::new(
                "queue.replicas",
                "JetStream allows 1 to 5",
            ));
        }
        Ok(Self {
            url: queue.url.clone().unwrap_or_else(|| defaults::URL.into()),
            credentials_file: queue.credentials_file.clone(),
            ca_file: queue.ca_file.clone(),
            stream,
            subject,
            consumer,
            replicas: usize::try_from(replicas).unwrap_or(1),
            ack_wait: Duration::from_secs(positive(
                queue.ack_wait_secs,
                defaults::ACK_WAIT_SECS,
                "queue.ack_wait_secs",
            )?),
            max_deliver: positive(
                queue.max_deliver,
                defaults::MAX_DELIVER,
                "queue.max_deliver",
            )?,
            max_ack_pending: positive(
                queue.max_ack_pending,
                defaults::MAX_ACK_PENDING,
                "queue.max_ack_pending",
            )?,
            duplicate_window: Duration::from_secs(positive(
                queue.duplicate_window_secs,
                defaults::DUPLICATE_WINDOW_SECS,
                "queue.duplicate_window_secs",
            )?),
            job_ttl: Duration::from_secs(positive(
                queue.job_ttl_secs,
                defaults::JOB_TTL_SECS,
                "queue.job_ttl_secs",
            )?),
        })
    }

    fn job_subject(&self) -> String {
        format!("{}.job", self.subject)
    }
    fn device_subject(&self) -> String {
        format!("{}.device", self.subject)
    }
    fn feedback_subject(&self) -> String {
        format!("{}.feedback", self.subject)
    }
    fn dead_subject(&self) -> String {
        format!("{}.dead", self.subject)
    }
    fn retry_subject(&self) -> String {
        format!("{}.retry", self.subject)
    }
    fn retry_stream(&self) -> String {
        format!("{}_RETRY", self.stream)
    }
    fn retry_consumer(&self) -> String {
        format!("{}_retry", self.consumer)
    }
}

/// Why the NATS queue could not be used: JetStream's own words, never the
/// URL's credentials.
#[derive(Debug, thiserror::Error)]
#[error("queue (NATS {servers}): {reason}")]
pub struct NatsError {
    servers: String,
    reason: String,
}

/// A job as published and as kept in `S_JOBS`: the record, for a JSON job
/// the request it came from, and the devices as the API decided and
/// rendered them when the job fits the server's `max_payload` with them.
#[derive(Debug, Serialize, Deserialize)]
struct JobEnvelope {
    record: JobRecord,
    request: Option<Box<serde_json::value::RawValue>>,
    /// Work once: what the fan-out sends and `GET /v1/jobs` shows, no second
    /// decide or render. Left out of a job too large to carry them (a big
    /// fan-out: rendered devices are several times the request), whose
    /// devices are prepared again from the request at its accepted time —
    /// the same devices. The request stays beside them, so a gateway of an
    /// earlier version (which ignores this field) still reads the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    devices: Option<Vec<DeviceRecord>>,
    /// Published again by a repeat of its idempotency key after its first
    /// publish's outcome was unknown: dropped by the fan-out when it finds
    /// the job's record already (the first copy was stored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    republished: bool,
    /// The message's key (`MessageKey`'s `Display`) when it has one: its
    /// devices follow the recall rule (module doc) and `S_MSGS` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_key: Option<String>,
    /// A recall's or an edit's job: its devices are replacements, each
    /// skipped when a newer edit outdated it before it was sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    replacements: bool,
}

/// One device to send.
#[derive(Debug, Serialize, Deserialize)]
struct DeviceEnvelope {
    job: String,
    index: u32,
    device: DeviceRecord,
    /// Real send attempts made before this message was published (by the
    /// message it was parked from).
    #[serde(default, skip_serializing_if = "is_zero")]
    attempts: u32,
    /// Published by a job's repeated fan-out or from the retry stream: its
    /// device may have been sent already under another device message.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    recheck: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A device waiting on the retry stream for its next send.
#[derive(Debug, Serialize, Deserialize)]
struct ParkedEnvelope {
    /// When it is to be sent again (Unix ms).
    due_ms: u64,
    device: DeviceEnvelope,
}

/// A device's latest state in `S_JOBS`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeviceStatus {
    state: DeviceState,
    /// Real send attempts.
    attempts: u32,
    /// Time held on a paused channel (ms), as [`DeviceRecord::held_ms`].
    #[serde(default)]
    held_ms: u64,
    /// An edit's push, swapped in by the edit while the device was
    /// pending: sent instead of the one its message carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    push: Option<StoredPush>,
    /// Delivered after its message's recall or edit, its replacement not
    /// yet known to be published: the next delivery of its message
    /// publishes it (stored once) if its gateway died first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    replacing: bool,
}

/// A keyed message in `S_MSGS`: its jobs, and its recall or newest edit.
#[derive(Debug, Default, Serialize, Deserialize)]
struct MessageEntry {
    jobs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recall: Option<MessageRecall>,
}

/// A message's recall (final) or newest edit.
#[derive(Debug, Serialize, Deserialize)]
struct MessageRecall {
    /// `None`: recalled; else the newest edit's text.
    edit: Option<String>,
    at_ms: u64,
    /// The recall's and edits' jobs, oldest first: the last takes the
    /// replacement of a device whose send lands after it.
    jobs: Vec<String>,
    /// Written, not yet made whole (in progress, or its gateway lost
    /// NATS or died halfway): the same recall again finishes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unfinished: bool,
}

/// The `S_MSGS` key of a message key: its SHA-256 (hex), as KV keys take
/// few characters.
fn message_slot(message_key: &str) -> String {
    hex::encode(sha2::Sha256::digest(message_key.as_bytes()))
}

/// A device in the dead letters.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetter {
    job_id: String,
    device: u32,
    path: String,
    channel: String,
    reason: String,
    /// JetStream's deliveries of the last message that carried it.
    deliveries: u64,
    /// Real send attempts.
    attempts: u32,
}

/// What accepting a job could not do.
#[derive(Debug)]
pub enum AcceptError {
    /// NATS is not reachable now, or did not say whether it took the job:
    /// answer 503 with `Retry-After`.
    Unavailable(String),
    /// The job as queued (`size` bytes) is over the NATS server's
    /// `max_payload` (`limit` bytes): answer 413.
    TooLarge {
        size: usize,
        limit: usize,
    },
    Internal(String),
}

/// Which messages of the work stream may be back from before a server
/// restart: those at or below `through`, the stream's last sequence read on
/// `connection`. On any other connection (the client reconnected: the
/// server may have restarted) every message is, until the mark is read
/// again on the new one.
#[derive(Debug)]
struct RecheckMark {
    connection: ConnectionId,
    through: u64,
}

/// A connection: the server's id (new at every server start) and the
/// client id it gave this connection.
type ConnectionId = (String, u64);

/// The connection and everything opened on it.
pub struct Nats {
    settings: NatsSettings,
    client: async_nats::Client,
    js: jetstream::Context,
    jobs: kv::Store,
    keys: kv::Store,
    /// `S_MSGS`: message key → its jobs and recall.
    msgs: kv::Store,
    /// Renders recalls and edits ([`crate::recall::RecallRenderer`]).
    renderer: Arc<dyn Renderer>,
    depth: AtomicU64,
    /// Connections lost so far: messages pulled before a loss are not
    /// handled after it (the server delivers them again).
    disconnects: Arc<AtomicU64>,
    /// `None` until the work stream's last sequence is read.
    recheck: Mutex<Option<RecheckMark>>,
    app: AppDoc,
    max_devices: usize,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Nats {
    /// Connects (failing at once if no server answers), then creates the
    /// streams, buckets and consumer where absent.
    pub async fn connect(
        settings: NatsSettings,
        app: AppDoc,
        max_devices: usize,
        renderer: Arc<dyn Renderer>,
    ) -> Result<Arc<Self>, NatsError> {
        let servers = redact(&settings.url);
        let fail = |reason: String| NatsError {
            servers: servers.clone(),
            reason,
        };
        let disconnects = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&disconnects);
        let mut options = async_nats::ConnectOptions::new()
            .name("tidings-gateway")
            .connection_timeout(REQUEST_TIMEOUT)
            .max_reconnects(None)
            .event_callback(move |event| {
                let disconnects = Arc::clone(&counter);
                async move {
                    match event {
                        async_nats::Event::Disconnected => {
                            disconnects.fetch_add(1, Ordering::SeqCst);
                            tracing::warn!("NATS connection lost");
                        }
                        async_nats::Event::Connected => tracing::info!("NATS connected"),
                        other => tracing::debug!(event = %other, "NATS"),
                    }
                }
            });
        if let Some(path) = &settings.credentials_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| fail(format!("queue.credentials_file: {e}")))?;
        }
        if let Some(path) = &settings.ca_file {
            options = options.add_root_certificates(path.clone());
        }
        // Credentials leave the URLs: the client logs its server addresses
        // (at debug level, on every reconnect attempt).
        let (addresses, login) = split_credentials(&settings.url);
        match login {
            Some(Login::UserPassword(user, password)) => {
                options = options.user_and_password(user, password);
            }
            Some(Login::Token(token)) => options = options.token(token),
            None => {}
        }
        let servers_list: Vec<async_nats::ServerAddr> = addresses
            .iter()
            .map(|s| s.parse::<async_nats::ServerAddr>())
            .collect::<Result<_, _>>()
            .map_err(|_| fail("queue.url: not a list of nats:// addresses".into()))?;
        let client = options
            .connect(servers_list)
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        let replicas = settings.replicas;
        let connected_as = connection_id(&client);
        let stream = |name: String, subjects: Vec<String>, retention, max_age| stream::Config {
            name,
            subjects,
            retention,
            max_age,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            duplicate_window: settings.duplicate_window,
            ..Default::default()
        };
        let work = js
            .get_or_create_stream(stream(
                settings.stream.clone(),
                vec![settings.job_subject(), settings.device_subject()],
                stream::RetentionPolicy::WorkQueue,
                Duration::ZERO,
            ))
            .await
            .map_err(|e| fail(format!("stream {}: {e}", settings.stream)))?;
        let recheck = (connection_id(&client) == connected_as).then(|| RecheckMark {
            connection: connected_as,
            through: work.cached_info().state.last_sequence,
        });
        for (suffix, subject) in [
            ("FEEDBACK", settings.feedback_subject()),
            ("DEAD", settings.dead_subject()),
        ] {
            let name = format!("{}_{suffix}", settings.stream);
            js.get_or_create_stream(stream(
                name.clone(),
                vec![subject],
                stream::RetentionPolicy::Limits,
                settings.job_ttl,
            ))
            .await
            .map_err(|e| fail(format!("stream {name}: {e}")))?;
        }
        let retry = js
            .get_or_create_stream(stream(
                settings.retry_stream(),
                vec![settings.retry_subject()],
                stream::RetentionPolicy::WorkQueue,
                Duration::ZERO,
            ))
            .await
            .map_err(|e| fail(format!("stream {}: {e}", settings.retry_stream())))?;
        // Every parked device is pending on it while it waits (a nak
        // delayed to its due time): no limit, so one not yet due never
        // keeps a due one from being handed out.
        retry
            .create_consumer(consumer::pull::Config {
                durable_name: Some(settings.retry_consumer()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: -1,
                max_ack_pending: -1,
                ..Default::default()
            })
            .await
            .map_err(|e| fail(format!("consumer {}: {e}", settings.retry_consumer())))?;
        // Created, or updated to this config (a changed `max_ack_pending`
        // takes effect at the next start; gateways started with different
        // values leave the last one's).
        work.create_consumer(consumer::pull::Config {
            durable_name: Some(settings.consumer.clone()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            max_deliver: -1,
            max_ack_pending: i64::try_from(settings.max_ack_pending).unwrap_or(i64::MAX),
            ..Default::default()
        })
        .await
        .map_err(|e| fail(format!("consumer {}: {e}", settings.consumer)))?;
        let jobs_bucket = format!("{}_JOBS", settings.stream);
        let jobs = open_bucket(&js, &jobs_bucket, settings.job_ttl, replicas)
            .await
            .map_err(|e| fail(format!("bucket {jobs_bucket}: {e}")))?;
        let keys_bucket = format!("{}_KEYS", settings.stream);
        let keys = open_bucket(
            &js,
            &keys_bucket,
            Duration::from_millis(IDEMPOTENCY_WINDOW_MS),
            replicas,
        )
        .await
        .map_err(|e| fail(format!("bucket {keys_bucket}: {e}")))?;
        let msgs_bucket = format!("{}_MSGS", settings.stream);
        let msgs = open_bucket(&js, &msgs_bucket, settings.job_ttl, replicas)
            .await
            .map_err(|e| fail(format!("bucket {msgs_bucket}: {e}")))?;
        tracing::info!(servers = %servers, stream = %settings.stream, "NATS JetStream queue ready");
        Ok(Arc::new(Self {
            settings,
            client,
            js,
            jobs,
            keys,
            msgs,
            renderer,
            depth: AtomicU64::new(0),
            disconnects,
            recheck: Mutex::new(recheck),
            app,
            max_devices,
        }))
    }

    /// Whether the connection is up now (`/readyz`, and 503 otherwise).
    pub fn connected(&self) -> bool {
        matches!(
            self.client.connection_state(),
            async_nats::connection::State::Connected
        )
    }

    /// The largest message the server takes: requests above it cannot be
    /// published.
    pub fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }

    /// Whether the message at `stream_sequence` of the work stream may have
    /// been handled already, its ack lost by a server restart: published
    /// before this connection, or the mark not yet read on it.
    fn may_be_back(&self, stream_sequence: u64) -> bool {
        let connection = connection_id(&self.client);
        match &*self.recheck.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(mark) => mark.connection != connection || stream_sequence <= mark.through,
            None => true,
        }
    }

    /// Reads the work stream's last sequence again once the connection
    /// changed (kept only if no reconnect happened during the read).
    async fn refresh_recheck_mark(&self) -> Result<(), String> {
        let connection = connection_id(&self.client);
        let current =
            |mark: &Option<RecheckMark>| mark.as_ref().is_some_and(|m| m.connection == connection);
        if current(&self.recheck.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(());
        }
        let stream = self
            .js
            .get_stream(&self.settings.stream)
            .await
            .map_err(|e| e.to_string())?;
        if connection_id(&self.client) == connection {
            *self.recheck.lock().unwrap_or_else(PoisonError::into_inner) = Some(RecheckMark {
                connection,
                through: stream.cached_info().state.last_sequence,
            });
        }
        Ok(())
    }

    /// Messages waiting or in flight on the shared consumer and parked on
    /// the retry stream, as last read.
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Reads the depth now (a scrape of `/metrics` sees it exact: jobs
    /// and devices not yet acked, on every gateway).
    pub async fn refresh_depth(&self) -> Result<u64, String> {
        let depth = self.read_depth().await?;
        self.depth.store(depth, Ordering::Relaxed);
        Ok(depth)
    }

    async fn read_depth(&self) -> Result<u64, String> {
        let mut depth = 0;
        for (name, stream) in [
            (self.settings.consumer.clone(), self.settings.stream.clone()),
            (self.settings.retry_consumer(), self.settings.retry_stream()),
        ] {
            let consumer: consumer::PullConsumer = self
                .js
                .get_consumer_from_stream(&name, &stream)
                .await
                .map_err(|e| e.to_string())?;
            let info = consumer.get_info().await.map_err(|e| e.to_string())?;
            depth += info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(0);
        }
        Ok(depth)
    }

    /// Publishes a job and keeps its record; `Ok` only once JetStream has
    /// both. An idempotency key seen within 24 h answers the earlier job
    /// (409 for another body), or publishes it again when its first
    /// publish's outcome is unknown.
    pub async fn accept(
        &self,
        record: JobRecord,
        request: Option<&[u8]>,
        devices: &[DeviceRecord],
    ) -> Result<Accepted, AcceptError> {
        if !self.connected() {
            return Err(AcceptError::Unavailable("NATS is not connected".into()));
        }
        let internal = |e: &dyn std::fmt::Display| AcceptError::Internal(e.to_string());
        let request = request
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|e| internal(&e))?;
        let record_key = record.kept.as_ref().map(|k| k.message_key.clone());
        let mut envelope = JobEnvelope {
            record,
            request,
            devices: Some(devices.to_vec()),
            republished: false,
            message_key: record_key.clone(),
            replacements: false,
        };
        // Checked before anything is reserved: it could never be published.
        let mut payload = match self.job_payload(&envelope) {
            Err(AcceptError::TooLarge { .. }) if envelope.request.is_some() => {
                envelope.devices = None;
                self.job_payload(&envelope)?
            }
            other => other?,
        };
        // Indexed before it is published: a recall finds every job of its
        // message that may be sent (one whose publish fails is skipped).
        if let Some(message_key) = &envelope.message_key {
            self.index_job(message_key, &envelope.record.id)
                .await
                .map_err(AcceptError::Unavailable)?;
        }
        let Some(key) = envelope.record.idempotency_key.clone() else {
            let keep = async {
                self.jobs
                    .put(&envelope.record.id, payload.clone())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            let publish = async {
                self.publish_job(&envelope.record.id, payload.clone())
                    .await
                    .map_err(|(_, why)| why)
            };
            tokio::try_join!(publish, keep)
                .map_err(|why| AcceptError::Unavailable(why.to_string()))?;
            return Ok(Accepted::New);
        };
        // With an idempotency key the record is what answers a repeat, so it
        // is only written once this publish stored the job.
        match self.reserve(&key, &envelope.record).await? {
            Reservation::Earlier(accepted) => Ok(accepted),
            Reservation::Ours(slot) => match self
                .publish_job(&envelope.record.id, payload.clone())
                .await
            {
                // A duplicate: another gateway published it again first
                // (it found the key without a record); that copy's
                // fan-out keeps the record.
                Ok(ack) if ack.duplicate => Ok(Accepted::New),
                Ok(_) => {
                    self.jobs
                        .put(&envelope.record.id, payload)
                        .await
                        .map_err(|e| AcceptError::Unavailable(e.to_string()))?;
                    Ok(Accepted::New)
                }
                Err((Published::Refused, why)) => {
                    // Not stored: the key is free for the caller's retry.
                    let _ = self.keys.delete(slot).await;
                    Err(AcceptError::Unavailable(why))
                }
                // Maybe stored: the key keeps naming this job, so a retry
                // publishes this job again (stored once) instead of making
                // a second one.
                Err((Published::Unknown, why)) => Err(AcceptError::Unavailable(format!(
                    "{why} (whether the job was queued is unknown: retry with the same IdempotencyKey)"
                ))),
            },
            Reservation::Held { job, at_ms } => {
                // The job the key names, exactly as first published (same
                // id, same accepted time, same request): JetStream stores
                // one of the two within its duplicate window, and a copy
                // stored past it is dropped by the fan-out if the first
                // was (`republished`). Its record is left to the fan-out.
                envelope.record.id = job;
                envelope.record.accepted_ms = at_ms;
                envelope.republished = true;
                // Rendered at this request's time, not the first's: the
                // fan-out prepares them again at the first's.
                if envelope.request.is_some() {
                    envelope.devices = None;
                }
                payload = self.job_payload(&envelope)?;
                self.publish_job(&envelope.record.id, payload)
                    .await
                    .map_err(|(_, why)| AcceptError::Unavailable(why))?;
                Ok(Accepted::Existing {
                    job_id: envelope.record.id,
                    devices: envelope.record.devices,
                })
            }
        }
    }

    /// A job as it is published, if the server's `max_payload` takes it.
    fn job_payload(&self, envelope: &JobEnvelope) -> Result<bytes::Bytes, AcceptError> {
        let payload =
            serde_json::to_vec(envelope).map_err(|e| AcceptError::Internal(e.to_string()))?;
        let limit = self.max_payload();
        if payload.len() + MSG_ID_HEADER_ROOM > limit {
            return Err(AcceptError::TooLarge {
                size: payload.len(),
                limit,
            });
        }
        Ok(payload.into())
    }

    /// Publishes a job message (`Nats-Msg-Id` = the job id); a failure
    /// says whether JetStream may have stored it.
    async fn publish_job(
        &self,
        id: &str,
        payload: bytes::Bytes,
    ) -> Result<jetstream::publish::PublishAck, (Published, String)> {
        let ack = self
            .js
            .send_publish(
                self.settings.job_subject(),
                jetstream::message::PublishMessage::build()
                    .payload(payload)
                    .message_id(id),
            )
            .await
            .map_err(|e| (failed_publish(false, &e), e.to_string()))?;
        ack.await
            .map_err(|e| (failed_publish(true, &e), e.to_string()))
    }

    /// Takes an idempotency key for `record`, or finds what it names.
    async fn reserve(&self, key: &str, record: &JobRecord) -> Result<Reservation, AcceptError> {
        let slot = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let unavailable = |e: &dyn std::fmt::Display| AcceptError::Unavailable(e.to_string());
        let mine = bytes::Bytes::from(
            serde_json::to_vec(&KeyHolder {
                job: record.id.clone(),
                at_ms: record.accepted_ms,
                body_sha256: record.body_sha256.clone(),
            })
            .map_err(|e| AcceptError::Internal(e.to_string()))?,
        );
        match self.keys.create(&slot, mine).await {
            Ok(_) => return Ok(Reservation::Ours(slot)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(unavailable(&e)),
        }
        let entry = self
            .keys
            .entry(&slot)
            .await
            .map_err(|e| unavailable(&e))?
            .ok_or_else(|| AcceptError::Unavailable("idempotency key changed; retry".into()))?;
        let holder: KeyHolder = serde_json::from_slice(&entry.value)
            .map_err(|e| AcceptError::Internal(e.to_string()))?;
        let other_body = |earlier: &str| {
            !earlier.is_empty() && !record.body_sha256.is_empty() && earlier != record.body_sha256
        };
        if let Some(earlier) = self
            .job_envelope(&holder.job)
            .await
            .map_err(|e| unavailable(&e))?
        {
            return Ok(Reservation::Earlier(
                if other_body(&earlier.record.body_sha256) {
                    Accepted::Conflict {
                        job_id: earlier.record.id,
                    }
                } else {
                    Accepted::Existing {
                        job_id: earlier.record.id,
                        devices: earlier.record.devices,
                    }
                },
            ));
        }
        if other_body(&holder.body_sha256) {
            return Ok(Reservation::Earlier(Accepted::Conflict {
                job_id: holder.job,
            }));
        }
        // No record: its publish is in flight on another gateway, its
        // outcome was unknown, or its gateway died before publishing.
        Ok(Reservation::Held {
            job: holder.job,
            at_ms: holder.at_ms,
        })
    }

    async fn job_envelope(&self, id: &str) -> Result<Option<JobEnvelope>, String> {
        // Only a job id may become a key (`<job>.<n>` is a device's state).
        if uuid::Uuid::try_parse(id).is_err() {
            return Ok(None);
        }
        let Some(bytes) = self.jobs.get(id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// A job and every device's latest state, as `GET /v1/jobs/{id}` shows
    /// them, from whichever gateway accepted or sent them.
    pub async fn job_view(
        &self,
        id: &str,
    ) -> Result<Option<(JobRecord, Vec<DeviceRecord>)>, String> {
        let Some(mut envelope) = self.job_envelope(id).await? else {
            return Ok(None);
        };
        let mut devices = devices_of(&mut envelope, &self.app, self.max_devices)?;
        // One direct get per device that was to be sent (the bucket's
        // subject index answers each at once; a consumer over the bucket
        // would scan it whole on this server version), a few dozen at a time.
        let sent: Vec<usize> = (0..devices.len())
            .filter(|&i| devices[i].state.is_pending())
            .collect();
        let jobs = &self.jobs;
        let lookups = sent.into_iter().map(|i| {
            let key = format!("{id}.{i}");
            async move {
                let value = jobs.get(key).await.map_err(|e| e.to_string())?;
                Ok::<_, String>((i, value))
            }
        });
        let found: Vec<(usize, Option<bytes::Bytes>)> = futures_util::stream::iter(lookups)
            .buffer_unordered(STATE_READS)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for (i, value) in found {
            let status = value.and_then(|v| serde_json::from_slice::<DeviceStatus>(&v).ok());
            if let (Some(status), Some(device)) = (status, devices.get_mut(i)) {
                device.state = status.state;
                device.attempts = status.attempts;
            }
        }
        Ok(Some((envelope.record, devices)))
    }

    /// Feedback records after stream sequence `cursor`, at most `limit`.
    pub async fn feedback_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Feedback)>, String> {
        let stream = self
            .js
            .get_stream(format!("{}_FEEDBACK", self.settings.stream))
            .await
            .map_err(|e| e.to_string())?;
        let reader = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: cursor.saturating_add(1),
                },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                memory_storage: true,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let pending = usize::try_from(reader.cached_info().num_pending).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for message in take(&reader, pending.min(limit)).await? {
            let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
            if let Ok(feedback) = serde_json::from_slice(&message.payload) {
                out.push((seq, feedback));
            }
        }
        let _ = stream.delete_consumer(&reader.cached_info().name).await;
        Ok(out)
    }

    /// The webhook's share of the feedback: the next records no gateway's
    /// webhook holds, each to ack once posted (or nak to post again).
    /// The webhook's next records (at most `limit`), and how many records
    /// it has not taken yet (pending on its consumer, or handed out and not
    /// acknowledged): its lag, as `tidings_webhook_lag` shows it.
    pub async fn webhook_batch(
        &self,
        limit: usize,
    ) -> Result<(Vec<(u64, Feedback, Message)>, u64), String> {
        let stream = self
            .js
            .get_stream(format!("{}_FEEDBACK", self.settings.stream))
            .await
            .map_err(|e| e.to_string())?;
        let name = format!("{}_webhook", self.settings.consumer);
        let mut consumer: consumer::PullConsumer = stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: WEBHOOK_ACK_WAIT,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        // A batch that waits a moment (not `fetch`'s no-wait): records
        // naked after a refused POST are due again, not pending.
        let mut batch = consumer
            .batch()
            .max_messages(limit)
            .expires(WEBHOOK_WAIT)
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let mut held = Vec::new();
        while held.len() < limit {
            match tokio::time::timeout(WEBHOOK_WAIT + REQUEST_TIMEOUT, batch.next()).await {
                Ok(Some(message)) => held.push(message.map_err(|e| e.to_string())?),
                Ok(None) => break,
                Err(_) => return Err("JetStream did not answer a fetch in time".into()),
            }
        }
        let mut out = Vec::new();
        for message in held {
            let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
            match serde_json::from_slice(&message.payload) {
                Ok(feedback) => out.push((seq, feedback, message)),
                Err(_) => {
                    let _ = message.ack_with(AckKind::Term).await;
                }
            }
        }
        let info = consumer.info().await.map_err(|e| e.to_string())?;
        let lag = info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(0);
        Ok((out, lag))
    }
}

/// Recall and edit (module doc: the recall rule).
impl Nats {
    /// Names `job` among its message's jobs in `S_MSGS` (again: nothing).
    async fn index_job(&self, message_key: &str, job: &str) -> Result<(), String> {
        let slot = message_slot(message_key);
        let mut tries = Contention::new("the message's index");
        loop {
            tries.next()?;
            let (entry, revision) = read_rev::<MessageEntry>(&self.msgs, &slot).await?;
            let mut entry = entry.unwrap_or_default();
            if entry.jobs.iter().any(|j| j == job) {
                return Ok(());
            }
            entry.jobs.push(job.to_owned());
            if write_rev(&self.msgs, &slot, &entry, revision).await? {
                return Ok(());
            }
        }
    }

    /// Recalls or edits a message across every gateway, as the local
    /// queue's [`crate::store::Store::recall`] does. `Err`: NATS could not
    /// be read or written (the recall may be partly made: made again, it is
    /// a repeat).
    pub async fn recall(
        &self,
        message_key: &str,
        edit: Option<&str>,
        now_ms: u64,
    ) -> Result<Result<RecallOutcome, RecallError>, String> {
        let slot = message_slot(message_key);
        // The recall record first, on the revision read: of two recalls
        // at once one writes it, the other finds it (a repeat, or a 409).
        // A repeat of one unfinished makes it again, whole, under its job
        // (each step is made once however often it is made).
        let mut tries = Contention::new("the message's recall record");
        let (jobs, mut outdated, recall_id, at_ms, repeat) = loop {
            tries.next()?;
            let (entry, revision) = read_rev::<MessageEntry>(&self.msgs, &slot).await?;
            let Some(mut entry) = entry else {
                return Ok(Err(RecallError::Unknown(message_key.to_owned())));
            };
            // Its jobs past `queue.job_ttl_secs` (the index outlives them
            // by its last write): as the local queue, unknown.
            let mut held = false;
            for id in &entry.jobs {
                if self
                    .jobs
                    .get(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some()
                {
                    held = true;
                    break;
                }
            }
            if !held {
                return Ok(Err(RecallError::Unknown(message_key.to_owned())));
            }
            let mut outdated = Vec::new();
            if let Some(previous) = &entry.recall {
                if previous.edit.as_deref() == edit {
                    let mut untouched = 0;
                    for id in &entry.jobs {
                        untouched += self.job_envelope(id).await?.map_or(0, |e| e.record.devices);
                    }
                    let job_id = previous.jobs.last().cloned().unwrap_or_default();
                    let repeat = RecallOutcome {
                        job_id: job_id.clone(),
                        untouched,
                        repeated: true,
                        ..RecallOutcome::default()
                    };
                    if !previous.unfinished {
                        return Ok(Ok(repeat));
                    }
                    outdated.clone_from(&previous.jobs);
                    break (entry.jobs, outdated, job_id, previous.at_ms, Some(repeat));
                }
                if previous.edit.is_none() {
                    return Ok(Err(RecallError::AfterRecall(message_key.to_owned())));
                }
                outdated.clone_from(&previous.jobs);
            }
            let recall_id = uuid::Uuid::now_v7().to_string();
            let mut recall_jobs = entry.recall.take().map(|r| r.jobs).unwrap_or_default();
            recall_jobs.push(recall_id.clone());
            entry.recall = Some(MessageRecall {
                edit: edit.map(str::to_owned),
                at_ms: now_ms,
                jobs: recall_jobs,
                unfinished: true,
            });
            if write_rev(&self.msgs, &slot, &entry, revision).await? {
                break (entry.jobs, outdated, recall_id, now_ms, None);
            }
        };
        outdated.retain(|id| *id != recall_id);
        // The job exists even with no device: the answer names it, and a
        // send landing after the recall adds its replacement to it.
        self.append_replacements(&recall_id, at_ms, message_key, Vec::new())
            .await?;
        // An older edit's replacements not sent yet are outdated: this
        // one's replace them.
        for id in &outdated {
            let Some(mut envelope) = self.job_envelope(id).await? else {
                continue;
            };
            let count = envelope.devices.take().map_or(0, |d| d.len());
            for index in 0..count {
                let key = format!("{id}.{index}");
                self.mark(&key, |_| DeviceState::Recalled, None).await?;
            }
        }
        let mut outcome = RecallOutcome {
            job_id: recall_id.clone(),
            ..RecallOutcome::default()
        };
        let mut made = Vec::new();
        for id in &jobs {
            let Some(mut envelope) = self.job_envelope(id).await? else {
                continue;
            };
            let kept = Kept {
                message_key: message_key.to_owned(),
                request: envelope.request.as_ref().map(|r| r.get().to_owned()),
            };
            let devices = devices_of(&mut envelope, &self.app, self.max_devices)?;
            let pending: Vec<u32> = (0..devices.len())
                .filter(|&i| devices[i].state.is_pending())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            outcome.untouched += count(devices.len() - pending.len());
            // An edit's pushes for the devices that may still be pending,
            // rendered at once (the request is walked once).
            let swaps: std::collections::HashMap<u32, StoredPush> = match edit {
                Some(_) => self
                    .renderer
                    .render(&envelope.record, &kept, edit, &pending)
                    .into_iter()
                    .filter_map(|(i, _, d)| d.push.map(|p| (i, p)))
                    .collect(),
                None => std::collections::HashMap::new(),
            };
            // A few dozen devices at a time, each on its own revision.
            let marks = pending.into_iter().map(|index| {
                let key = format!("{id}.{index}");
                let swap = swaps.get(&index).cloned();
                async move {
                    if edit.is_some() && swap.is_none() {
                        // Its edit cannot be rendered: it keeps its first push.
                        return Ok::<_, String>((index, Marked::Other));
                    }
                    let to = |state: &DeviceState| match edit {
                        None => DeviceState::Recalled,
                        Some(_) => state.clone(),
                    };
                    Ok((index, self.mark(&key, to, swap).await?))
                }
            });
            let marked: Vec<(u32, Marked)> = futures_util::stream::iter(marks)
                .buffer_unordered(STATE_READS)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
            let mut sent = Vec::new();
            for (index, marked) in marked {
                match marked {
                    Marked::Pending if edit.is_some() => outcome.edited += 1,
                    Marked::Pending => outcome.recalled += 1,
                    Marked::Delivered => sent.push(index),
                    Marked::Other => outcome.untouched += 1,
                }
            }
            let rendered = self.renderer.render(&envelope.record, &kept, edit, &sent);
            made.extend(outcome.follow_ups(id, sent.len(), rendered));
        }
        self.publish_replacements(&recall_id, at_ms, message_key, made, repeat.is_some())
            .await?;
        // Whole: a repeat from now on does nothing.
        let mut tries = Contention::new("the message's recall record");
        loop {
            tries.next()?;
            let (entry, revision) = read_rev::<MessageEntry>(&self.msgs, &slot).await?;
            let Some(mut entry) = entry else { break };
            match &mut entry.recall {
                Some(r) if r.unfinished && r.jobs.last() == Some(&recall_id) => {
                    r.unfinished = false
                }
                // A newer recall or edit, or this one finished by a repeat.
                _ => break,
            }
            if write_rev(&self.msgs, &slot, &entry, revision).await? {
                break;
            }
        }
        Ok(Ok(repeat.unwrap_or(outcome)))
    }

    /// Marks a device still pending (its state absent: queued) with
    /// `state(its state)` and `push`, on the revision read; says what it
    /// found.
    async fn mark(
        &self,
        key: &str,
        state: impl Fn(&DeviceState) -> DeviceState,
        push: Option<StoredPush>,
    ) -> Result<Marked, String> {
        let mut tries = Contention::new("a device's state");
        loop {
            tries.next()?;
            let (status, revision) = read_rev::<DeviceStatus>(&self.jobs, key).await?;
            let status = status.unwrap_or(DeviceStatus {
                state: DeviceState::Queued,
                attempts: 0,
                held_ms: 0,
                push: None,
                replacing: false,
            });
            if let DeviceState::Delivered { .. } = status.state {
                return Ok(Marked::Delivered);
            }
            if !status.state.is_pending() {
                return Ok(Marked::Other);
            }
            let next = DeviceStatus {
                state: state(&status.state),
                push: push.clone(),
                ..status.clone()
            };
            // Made already (the same edit made again): no write, so a
            // sender's revision stays good.
            if next.state == status.state && next.push == status.push {
                return Ok(Marked::Pending);
            }
            if write_rev(&self.jobs, key, &next, revision).await? {
                return Ok(Marked::Pending);
            }
        }
    }

    /// The one replacement of a device of `job` whose send landed after
    /// its message's recall or edit (module doc), in that recall's job.
    async fn replace_sent(&self, job: &SendJob, index: u32) -> Result<(), String> {
        let Some(message_key) = &job.message_key else {
            return Ok(());
        };
        let (entry, _) = read_rev::<MessageEntry>(&self.msgs, &message_slot(message_key)).await?;
        let Some(recall) = entry.and_then(|e| e.recall) else {
            return Ok(());
        };
        let (Some(recall_id), Some(envelope)) =
            (recall.jobs.last(), self.job_envelope(&job.record.id).await?)
        else {
            return Ok(());
        };
        let kept = Kept {
            message_key: message_key.clone(),
            request: envelope.request.as_ref().map(|r| r.get().to_owned()),
        };
        let made = self
            .renderer
            .render(&envelope.record, &kept, recall.edit.as_deref(), &[index])
            .into_iter()
            .map(|(_, _, mut device)| {
                device.path = format!("{}:{}", job.record.id, device.path);
                device
            })
            .collect();
        self.publish_replacements(recall_id, recall.at_ms, message_key, made, false)
            .await
    }

    /// Adds `made` to the recall job `recall_id` and publishes each as a
    /// device message (`Nats-Msg-Id` = recall job/device: a repeat is
    /// stored once). `again` (an unfinished recall made again): one
    /// already handled (a state recorded) is not published again.
    async fn publish_replacements(
        &self,
        recall_id: &str,
        at_ms: u64,
        message_key: &str,
        made: Vec<DeviceRecord>,
        again: bool,
    ) -> Result<(), String> {
        if made.is_empty() {
            return Ok(());
        }
        let placed = self
            .append_replacements(recall_id, at_ms, message_key, made)
            .await?;
        let mut acks = Vec::with_capacity(placed.len());
        for (index, device) in placed {
            let handled = again
                && self
                    .jobs
                    .get(format!("{recall_id}.{index}"))
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some();
            if handled {
                continue;
            }
            let payload = serde_json::to_vec(&DeviceEnvelope {
                job: recall_id.to_owned(),
                index,
                device,
                attempts: 0,
                recheck: false,
            })
            .map_err(|e| e.to_string())?;
            let ack = self
                .js
                .send_publish(
                    self.settings.device_subject(),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(format!("{recall_id}/{index}")),
                )
                .await
                .map_err(|e| e.to_string())?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Adds devices to a recall job's record in `S_JOBS` (made where
    /// absent), on the revision read; a device already there (same path:
    /// `<job>:<path>`) keeps its place. Answers each device's index, and
    /// the device with its push (the record keeps none).
    async fn append_replacements(
        &self,
        recall_id: &str,
        at_ms: u64,
        message_key: &str,
        made: Vec<DeviceRecord>,
    ) -> Result<Vec<(u32, DeviceRecord)>, String> {
        let mut tries = Contention::new("the recall job's record");
        loop {
            tries.next()?;
            let (envelope, revision) = read_rev::<JobEnvelope>(&self.jobs, recall_id).await?;
            let mut envelope = envelope.unwrap_or_else(|| JobEnvelope {
                record: JobRecord {
                    id: recall_id.to_owned(),
                    accepted_ms: at_ms,
                    devices: 0,
                    idempotency_key: None,
                    body_sha256: String::new(),
                    form: JobForm::Json,
                    kept: None,
                },
                request: None,
                devices: Some(Vec::new()),
                republished: false,
                message_key: Some(message_key.to_owned()),
                replacements: true,
            });
            let list = envelope.devices.get_or_insert_with(Vec::new);
            let mut changed = revision == 0;
            let mut placed = Vec::with_capacity(made.len());
            for device in &made {
                let at = match list.iter().position(|d| d.path == device.path) {
                    Some(at) => at,
                    None => {
                        // Without its push: its device message carries it,
                        // and the record stays small (one KV value within
                        // the server's max_payload for all of them).
                        list.push(DeviceRecord {
                            push: None,
                            ..device.clone()
                        });
                        changed = true;
                        list.len() - 1
                    }
                };
                placed.push((count(at), device.clone()));
            }
            envelope.record.devices = count(list.len());
            if !changed || write_rev(&self.jobs, recall_id, &envelope, revision).await? {
                return Ok(placed);
            }
        }
    }
}

/// What [`Nats::mark`] found of a device.
enum Marked {
    /// Pending: marked.
    Pending,
    Delivered,
    /// Neither (never sent, recalled already): left as it is.
    Other,
}

/// A JSON value of a bucket and its revision (0: absent or deleted).
async fn read_rev<T: serde::de::DeserializeOwned>(
    bucket: &kv::Store,
    key: &str,
) -> Result<(Option<T>, u64), String> {
    match bucket.entry(key).await.map_err(|e| e.to_string())? {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let value = serde_json::from_slice(&entry.value).map_err(|e| e.to_string())?;
            Ok((Some(value), entry.revision))
        }
        _ => Ok((None, 0)),
    }
}

/// Writes `value` at `key` if it is still at `revision` (0: absent);
/// `Ok(false)` when another write came first.
async fn write_rev<T: Serialize>(
    bucket: &kv::Store,
    key: &str,
    value: &T,
    revision: u64,
) -> Result<bool, String> {
    let bytes: bytes::Bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?.into();
    let written = if revision == 0 {
        match bucket.create(key, bytes).await {
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => return Ok(false),
            other => other.map(drop).map_err(|e| e.to_string()),
        }
    } else {
        match bucket.update(key, bytes, revision).await {
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => return Ok(false),
            other => other.map(drop).map_err(|e| e.to_string()),
        }
    };
    written.map(|()| true)
}

/// Up to `want` messages from a pull consumer, in pages. Stops at `want`
/// (the caller read the consumer's pending count) rather than waiting for
/// the server's end-of-batch status, and at an empty page; a page that
/// stalls is an error after [`REQUEST_TIMEOUT`], never a hang.
async fn take(consumer: &consumer::PullConsumer, want: usize) -> Result<Vec<Message>, String> {
    let mut out = Vec::new();
    while out.len() < want {
        let page = (want - out.len()).min(1000);
        let mut batch = consumer
            .fetch()
            .max_messages(page)
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let before = out.len();
        while out.len() - before < page {
            match tokio::time::timeout(REQUEST_TIMEOUT, batch.next()).await {
                Ok(Some(message)) => out.push(message.map_err(|e| e.to_string())?),
                Ok(None) => break,
                Err(_) => return Err("JetStream did not answer a fetch in time".into()),
            }
        }
        if out.len() == before {
            break;
        }
    }
    Ok(out)
}

/// Opens a KV bucket, creating its stream where absent in JetStream's KV
/// layout (`KV_<bucket>`, subjects `$KV.<bucket>.>`, one value per key,
/// rollups allowed, deletes denied, direct gets, new values discarded when
/// full). Created as a stream rather than through `create_key_value`,
/// which first reads the account's info in a shape nats-server 2.9
/// (Debian 12's) does not answer.
async fn open_bucket(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store, String> {
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    js.get_key_value(bucket).await.map_err(|e| e.to_string())
}

/// What an idempotency key names in `S_KEYS`: the job, when it was
/// accepted, and its request's SHA-256 — all a repeat needs to publish the
/// same job again.
#[derive(Serialize, Deserialize)]
struct KeyHolder {
    job: String,
    at_ms: u64,
    /// Empty in a key reserved before it was kept.
    #[serde(default)]
    body_sha256: String,
}

enum Reservation {
    /// Taken for this request: the slot.
    Ours(String),
    /// Answered by what the key names already.
    Earlier(Accepted),
    /// Names a job of the same body with no record yet: publish it again.
    Held { job: String, at_ms: u64 },
}

/// Whether a job publish that failed may have been stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Published {
    /// Definitely not: never sent, or JetStream answered with a refusal.
    Refused,
    /// Maybe: sent, and no answer read (timed out, connection lost).
    Unknown,
}

/// What a publish failure says (`sent`: the request left the client).
fn failed_publish(sent: bool, error: &jetstream::context::PublishError) -> Published {
    // A refusal JetStream answered, as opposed to an answer not read.
    let answered = std::error::Error::source(error)
        .is_some_and(|source| source.downcast_ref::<jetstream::Error>().is_some());
    publish_outcome(sent, error.kind(), answered)
}

fn publish_outcome(
    sent: bool,
    kind: jetstream::context::PublishErrorKind,
    answered: bool,
) -> Published {
    use jetstream::context::PublishErrorKind as Kind;
    if !sent {
        return Published::Refused;
    }
    match kind {
        // No stream listens on the subject (no responders), or JetStream
        // refused it.
        Kind::StreamNotFound
        | Kind::WrongLastMessageId
        | Kind::WrongLastSequence
        | Kind::MaxPayloadExceeded
        | Kind::MaxAckPending => Published::Refused,
        Kind::Other if answered => Published::Refused,
        _ => Published::Unknown,
    }
}

/// The connection the client is on now.
fn connection_id(client: &async_nats::Client) -> ConnectionId {
    let info = client.server_info();
    (info.server_id, info.client_id)
}

/// A job's devices as accepted: those it carries, or read from the request
/// again (the same input at the same time, so the same devices in the same
/// order).
fn devices_of(
    envelope: &mut JobEnvelope,
    app: &AppDoc,
    max_devices: usize,
) -> Result<Vec<DeviceRecord>, String> {
    if let Some(devices) = envelope.devices.take() {
        return Ok(devices);
    }
    let now = i64::try_from(envelope.record.accepted_ms / 1000).unwrap_or(i64::MAX);
    let prepared = match (&envelope.record.form, &envelope.request) {
        (JobForm::Wire { bytes }, _) => prepare_wire(bytes, now, false),
        (JobForm::Json, Some(request)) => {
            prepare(request.get().as_bytes(), now, app, max_devices, false)
        }
        (JobForm::Json, None) => return Err("a JSON job without its request".into()),
    };
    prepared.map(|p| p.devices).map_err(|e| e.to_string())
}

/// This gateway's share of the work: it pulls from the shared consumer
/// and sends (the webhook pulls apart, through [`Nats::webhook_batch`]).
pub struct NatsWorkers {
    stop: tokio::sync::watch::Sender<bool>,
    work: tokio::task::JoinHandle<()>,
    parked: tokio::task::JoinHandle<()>,
}

/// What a pull loop takes: the work stream (jobs and devices) through the
/// shared consumer, or the retry stream through its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Work,
    Parked,
}

struct Worker {
    nats: Arc<Nats>,
    context: Context,
    /// Job records by id, each read from NATS once per gateway however
    /// many of its devices arrive at once (a fan-out's request can be
    /// megabytes: hundreds of concurrent reads of it overflow the
    /// connection's pending limit).
    jobs: Mutex<std::collections::HashMap<String, JobCell>>,
}

impl NatsWorkers {
    pub(crate) fn start(nats: Arc<Nats>, context: Context) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = Arc::new(Worker {
            nats,
            context,
            jobs: Mutex::new(std::collections::HashMap::new()),
        });
        let parked = tokio::spawn(consume(Arc::clone(&worker), Lane::Parked, stopped.clone()));
        let work = tokio::spawn(consume(worker, Lane::Work, stopped));
        Self { stop, work, parked }
    }

    /// Stops pulling, lets sends in flight finish within `drain`; what is
    /// not acked by then is delivered again (to this or another gateway).
    pub async fn stop(self, drain: Duration) {
        let _ = self.stop.send(true);
        let both = async {
            let _ = tokio::join!(self.work, self.parked);
        };
        if tokio::time::timeout(drain, both).await.is_err() {
            tracing::warn!("drain deadline passed; unfinished sends go back to the queue");
        }
    }
}

async fn consume(worker: Arc<Worker>, lane: Lane, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let settings = &worker.nats.settings;
    let (stream, consumer, permits) = match lane {
        Lane::Work => (
            settings.stream.clone(),
            settings.consumer.clone(),
            worker.context.settings.concurrency.max(1) * 4,
        ),
        Lane::Parked => (
            settings.retry_stream(),
            settings.retry_consumer(),
            PARKED_IN_FLIGHT,
        ),
    };
    let in_flight = Arc::new(Semaphore::new(permits));
    // No more pulled than can be started at once: a message waiting in
    // this gateway's buffer runs down its ack wait.
    let pull_batch = PULL_BATCH.min(permits);
    let mut handling = tokio::task::JoinSet::new();
    let depth = (lane == Lane::Work).then(|| tokio::spawn(refresh_depth(Arc::clone(&worker))));
    'pulling: while !*stopped.borrow() {
        let epoch = worker.nats.disconnects.load(Ordering::SeqCst);
        let messages = async {
            let consumer: consumer::PullConsumer = worker
                .nats
                .js
                .get_consumer_from_stream(&consumer, &stream)
                .await
                .map_err(|e| e.to_string())?;
            consumer
                .stream()
                .max_messages_per_batch(pull_batch)
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(why) => {
                tracing::warn!(%why, "cannot pull from NATS; trying again");
                tokio::select! {
                    () = tokio::time::sleep(RECONNECT_PAUSE) => continue 'pulling,
                    _ = stopped.changed() => break 'pulling,
                }
            }
        };
        loop {
            while handling.try_join_next().is_some() {}
            let next = tokio::select! {
                next = messages.next() => next,
                _ = stopped.changed() => break 'pulling,
            };
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "pulling from NATS failed; pulling again");
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue 'pulling;
                }
                None => continue 'pulling,
            };
            let pulled = tokio::time::Instant::now();
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                break 'pulling;
            };
            // Pulled before the connection was lost: JetStream will deliver
            // it again (maybe to another gateway), so this copy is dropped
            // with the rest of the old pull.
            if worker.nats.disconnects.load(Ordering::SeqCst) != epoch {
                continue 'pulling;
            }
            // Held past half the ack wait while the gateway was busy: it may
            // be redelivered elsewhere any moment, so it goes back now
            // rather than being sent from here late.
            if pulled.elapsed() > worker.nats.settings.ack_wait / 2 {
                let _ = message.ack_with(AckKind::Nak(None)).await;
                continue;
            }
            let worker = Arc::clone(&worker);
            handling.spawn(async move {
                handle(&worker, message).await;
                drop(permit);
            });
        }
    }
    // Drain: what is in hand finishes; messages pulled but not started are
    // dropped unacked and delivered again after the ack wait.
    while handling.join_next().await.is_some() {}
    if let Some(depth) = depth {
        depth.abort();
    }
}

async fn refresh_depth(worker: Arc<Worker>) {
    loop {
        if let Err(why) = worker.nats.refresh_recheck_mark().await {
            tracing::debug!(%why, "the work stream's last sequence is not read yet");
        }
        if let Ok(depth) = worker.nats.refresh_depth().await {
            worker
                .context
                .metrics
                .queue_depth
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
        tokio::time::sleep(DEPTH_REFRESH).await;
    }
}

async fn handle(worker: &Worker, message: Message) {
    let subject = message.subject.as_str();
    let handling = async {
        if subject == worker.nats.settings.job_subject() {
            fan_out(worker, &message).await
        } else if subject == worker.nats.settings.device_subject() {
            send_device(worker, &message).await
        } else if subject == worker.nats.settings.retry_subject() {
            unpark(worker, &message).await
        } else {
            Err(format!("unexpected subject {subject}"))
        }
    };
    // In-progress acks while it is handled (a slow provider, JetStream
    // slow to acknowledge a state or a record), so it is not handed to
    // another gateway meanwhile.
    tokio::pin!(handling);
    let mut keep_alive = tokio::time::interval(worker.nats.settings.ack_wait / 3);
    keep_alive.tick().await;
    let handled = loop {
        tokio::select! {
            handled = &mut handling => break handled,
            _ = keep_alive.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    if let Err(why) = handled {
        tracing::warn!(%why, "a queue message goes back to be delivered again");
        let _ = message.ack_with(AckKind::Nak(Some(RECONNECT_PAUSE))).await;
    }
}

/// The message's envelope; `None` for one that cannot be read, which is
/// terminated (delivering it again would not make it readable).
async fn readable<T: serde::de::DeserializeOwned>(message: &Message, what: &str) -> Option<T> {
    match serde_json::from_slice(&message.payload) {
        Ok(envelope) => Some(envelope),
        Err(e) => {
            tracing::error!(error = %e, "an unreadable {what} message is dropped");
            let _ = message.ack_with(AckKind::Term).await;
            None
        }
    }
}

/// A job message → one device message per device to send, then the ack.
async fn fan_out(worker: &Worker, message: &Message) -> Result<(), String> {
    let nats = &worker.nats;
    let Some(mut envelope) = readable::<JobEnvelope>(message, "job").await else {
        return Ok(());
    };
    // The API keeps the record after the publish; a gateway that died in
    // between left it to us.
    let info = message.info().map_err(|e| e.to_string())?;
    match nats
        .jobs
        .create(&envelope.record.id, message.payload.clone())
        .await
    {
        Ok(_) => {}
        // A job published again for its idempotency key, whose first copy
        // was stored after all (a record is only written once a copy is:
        // by the API after a publish that stored it, or by that copy's
        // fan-out, which is redelivered until it is done): that copy sends
        // the devices. Not on a redelivery: the record may be this copy's.
        Err(e)
            if e.kind() == kv::CreateErrorKind::AlreadyExists
                && envelope.republished
                && info.delivered == 1
                && !nats.may_be_back(info.stream_sequence) =>
        {
            tracing::info!(job = %envelope.record.id, "a job published twice is fanned out once");
            return message.ack().await.map_err(|e| e.to_string());
        }
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.to_string()),
    }
    // Fanned out before (its gateway died, or the server lost the ack):
    // some devices may be sent already.
    let repeat =
        info.delivered > 1 || envelope.republished || nats.may_be_back(info.stream_sequence);
    let devices = devices_of(&mut envelope, &nats.app, usize::MAX)?;
    // Its devices, sent here, need the record: no read of it back.
    let send_job = Arc::new(SendJob::of(&envelope));
    let _ = job_cell(worker, &envelope.record.id).set(Arc::clone(&send_job));
    let subject = nats.settings.device_subject();
    let mut pending: Vec<(u32, DeviceRecord)> = devices
        .into_iter()
        .enumerate()
        .filter(|(_, d)| d.state.is_pending())
        .map(|(i, d)| (u32::try_from(i).unwrap_or(u32::MAX), d))
        .collect();
    // One device (most pushes): the job message is its message — no
    // device message to publish, pull and ack.
    if pending.len() == 1 {
        if let Some((index, device)) = pending.pop() {
            let device = DeviceEnvelope {
                job: envelope.record.id.clone(),
                index,
                device,
                attempts: 0,
                recheck: repeat,
            };
            return send_one(worker, message, &device, Some(send_job)).await;
        }
    }
    for chunk in pending.chunks(FAN_OUT_CHUNK) {
        let mut acks = Vec::with_capacity(chunk.len());
        for (index, device) in chunk {
            let payload = serde_json::to_vec(&DeviceEnvelope {
                job: envelope.record.id.clone(),
                index: *index,
                device: device.clone(),
                attempts: 0,
                recheck: repeat,
            })
            .map_err(|e| e.to_string())?;
            let ack = nats
                .js
                .send_publish(
                    subject.clone(),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(format!("{}/{index}", envelope.record.id)),
                )
                .await
                .map_err(|e| e.to_string())?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(|e| e.to_string())?;
        }
        // A long fan-out keeps its job message.
        let _ = message.ack_with(AckKind::Progress).await;
    }
    message.ack().await.map_err(|e| e.to_string())
}

/// A device message: its device sent.
async fn send_device(worker: &Worker, message: &Message) -> Result<(), String> {
    let Some(envelope) = readable::<DeviceEnvelope>(message, "device").await else {
        return Ok(());
    };
    send_one(worker, message, &envelope, None).await
}

/// One device, carried by `message`: send it (unless already final, not
/// yet due, or out of attempts), record its state, then ack, wait (a short
/// wait is a delayed nak, a longer one parks it), or dead-letter. A final
/// state is recorded before the ack, so a lost ack costs a lookup on
/// redelivery, not a second send.
async fn send_one(
    worker: &Worker,
    message: &Message,
    envelope: &DeviceEnvelope,
    known_job: Option<Arc<SendJob>>,
) -> Result<(), String> {
    let nats = &worker.nats;
    let info = message.info().map_err(|e| e.to_string())?;
    let deliveries = u64::try_from(info.delivered).unwrap_or(1).max(1);
    let status_key = format!("{}.{}", envelope.job, envelope.index);
    let job = match known_job {
        Some(job) => Some(job),
        None => job(worker, &envelope.job).await?,
    };
    let Some(job) = job else {
        tracing::error!(job = %envelope.job, "a device of an unknown job is dropped");
        let _ = message.ack_with(AckKind::Term).await;
        return Ok(());
    };
    // Real attempts so far: the envelope's (carried through parking), or
    // the device's recorded state's when it is further on (a short retry
    // keeps its message, so only the state has counted it).
    let mut before = envelope.attempts;
    let mut held_ms = envelope.device.held_ms;
    let mut last_reason = None;
    let mut due_ms = None;
    // A keyed device's state is read before every send, and its result
    // written on that revision: a recall or an edit may have marked it
    // (the recall rule, module doc). An unkeyed device costs no read.
    let mut written = Written {
        revision: None,
        push: None,
    };
    if job.keyed() || deliveries > 1 || envelope.recheck || nats.may_be_back(info.stream_sequence) {
        let (status, revision) = read_rev::<DeviceStatus>(&nats.jobs, &status_key).await?;
        if job.keyed() {
            written.revision = Some(revision);
        }
        if let Some(status) = status {
            if let Some((reason, next_attempt_ms)) = status.state.waiting() {
                last_reason = Some(reason.to_owned());
                due_ms = Some(next_attempt_ms);
            } else if status.replacing {
                // Its gateway died before the replacement was published.
                nats.replace_sent(&job, envelope.index).await?;
                let done = DeviceStatus {
                    replacing: false,
                    ..status
                };
                put_status(nats, &status_key, &done).await?;
                return message.ack().await.map_err(|e| e.to_string());
            } else if status.state != DeviceState::Queued {
                // Final, or recalled.
                return message.ack().await.map_err(|e| e.to_string());
            }
            before = before.max(status.attempts);
            held_ms = held_ms.max(status.held_ms);
            written.push = status.push;
        }
    }
    let limit = nats.settings.max_deliver;
    if u64::from(before) >= limit {
        let reason = last_reason.unwrap_or_else(|| "NoOutcome".into());
        return dead_letter(worker, message, envelope, deliveries, before, reason).await;
    }
    if deliveries > limit.saturating_add(MAX_HANDBACKS) {
        tracing::error!(
            job = %envelope.job,
            device = envelope.index,
            deliveries,
            attempts = before,
            "a device handed back this often without a send is dead-lettered"
        );
        return dead_letter(
            worker,
            message,
            envelope,
            deliveries,
            before,
            "HandedBack".into(),
        )
        .await;
    }
    // Recorded as waiting by a gateway that died before it parked or naked
    // the message (or by one whose clock is ahead): not sent early.
    if let Some(due_ms) = due_ms.filter(|&t| t > now_ms(&worker.context.clock)) {
        return wait(worker, message, envelope, before, held_ms, due_ms).await;
    }
    // A send whose state could not be recorded would be sent again: while
    // NATS is away, the messages already pulled wait for their redelivery.
    if !nats.connected() {
        return Err("NATS is not connected".into());
    }
    let device = if held_ms == envelope.device.held_ms && written.push.is_none() {
        std::borrow::Cow::Borrowed(&envelope.device)
    } else {
        std::borrow::Cow::Owned(DeviceRecord {
            held_ms,
            // An edit swapped in while it was pending.
            push: written
                .push
                .clone()
                .or_else(|| envelope.device.push.clone()),
            ..envelope.device.clone()
        })
    };
    let outcome = attempt(
        &worker.context,
        &job.record,
        envelope.index,
        &device,
        before,
    )
    .await;
    // Abandoned (the gateway is stopping): back without an attempt.
    let Some(Attempt {
        state,
        feedback,
        tried,
        held_ms,
    }) = outcome
    else {
        return message
            .ack_with(AckKind::Nak(None))
            .await
            .map_err(|e| e.to_string());
    };
    let attempts = before + u32::from(tried);
    // Its result written (the recall rule); `false`: recalled meanwhile,
    // never sent again.
    let keep = |state: &DeviceState| {
        let status = DeviceStatus {
            state: state.clone(),
            attempts,
            held_ms,
            push: written.push.clone(),
            replacing: false,
        };
        record(nats, &job, envelope.index, &status_key, status, &written)
    };
    if let Some((reason, next_attempt_ms)) = state.waiting() {
        if tried && u64::from(attempts) >= limit {
            return dead_letter(
                worker,
                message,
                envelope,
                deliveries,
                attempts,
                reason.to_owned(),
            )
            .await;
        }
        if !keep(&state).await? {
            return message.ack().await.map_err(|e| e.to_string());
        }
        return wait(
            worker,
            message,
            envelope,
            attempts,
            held_ms,
            next_attempt_ms,
        )
        .await;
    }
    // An invalid token's feedback is kept before its final state: a final
    // state is never sent again, so feedback recorded after it could be
    // lost with a gateway or a failed publish.
    if let Some(feedback) = feedback {
        if let Err(why) = publish_feedback(nats, envelope, &feedback).await {
            tracing::warn!(%why, job = %envelope.job, device = envelope.index, "feedback not recorded: the device is sent again");
            // Not final yet; its attempt counts.
            let again = DeviceState::Retrying {
                reason: "FeedbackNotRecorded".into(),
                next_attempt_ms: now_ms(&worker.context.clock) + millis(RECONNECT_PAUSE),
            };
            if !keep(&again).await? {
                return message.ack().await.map_err(|e| e.to_string());
            }
            return message
                .ack_with(AckKind::Nak(Some(RECONNECT_PAUSE)))
                .await
                .map_err(|e| e.to_string());
        }
    }
    keep(&state).await?;
    message.ack().await.map_err(|e| e.to_string())
}

/// What a keyed device's state read before its send was: the revision its
/// result is written on, and the edit's push swapped in.
struct Written {
    /// `None`: an unkeyed device (its result is put).
    revision: Option<u64>,
    push: Option<StoredPush>,
}

/// Writes a device's state after a send (the recall rule, module doc): an
/// unkeyed device's is put; a keyed one's is written on the revision read
/// before the send. When a recall or an edit wrote first: delivered → its
/// one replacement is published (in the recall's job), then the state;
/// to be sent again → left recalled (`false`: not sent again), or after an
/// edit sent again with the edit's push; any other end is written as it
/// is. A replacement outdated by a newer edit is not replaced again (the
/// newer edit replaces the original).
async fn record(
    nats: &Nats,
    job: &SendJob,
    index: u32,
    key: &str,
    status: DeviceStatus,
    written: &Written,
) -> Result<bool, String> {
    let Some(revision) = written.revision else {
        put_status(nats, key, &status).await?;
        return Ok(true);
    };
    if write_rev(&nats.jobs, key, &status, revision).await? {
        return Ok(true);
    }
    let mut tries = Contention::new("a device's state");
    loop {
        tries.next()?;
        let (now, now_revision) = read_rev::<DeviceStatus>(&nats.jobs, key).await?;
        let recalled = now
            .as_ref()
            .is_some_and(|s| s.state == DeviceState::Recalled);
        let edited = now
            .and_then(|s| s.push)
            .filter(|p| Some(p) != written.push.as_ref());
        if !recalled && edited.is_none() {
            // Another copy of the message wrote (a redelivery): this result
            // is as current.
            put_status(nats, key, &status).await?;
            return Ok(true);
        }
        if status.state.is_pending() {
            if recalled {
                return Ok(false);
            }
            let again = DeviceStatus {
                push: edited,
                ..status
            };
            put_status(nats, key, &again).await?;
            return Ok(true);
        }
        if job.replacements || !matches!(status.state, DeviceState::Delivered { .. }) {
            put_status(nats, key, &status).await?;
            return Ok(true);
        }
        // Delivered after the recall: said so first (`replacing`), so a
        // gateway dying before the replacement is published leaves it to
        // the message's next delivery. Another recall or edit written
        // meanwhile: read again.
        let replacing = DeviceStatus {
            replacing: true,
            ..status.clone()
        };
        if write_rev(&nats.jobs, key, &replacing, now_revision).await? {
            nats.replace_sent(job, index).await?;
            put_status(nats, key, &status).await?;
            return Ok(true);
        }
    }
}

/// Writes lost to other gateways a compare-and-set loop takes before it
/// gives up: each loss means another writer made progress, so this many
/// in a row is a storm to report (the caller answers 503 or naks the
/// message for a later try), not a reason to spin on.
const CAS_ATTEMPTS: u32 = 64;

/// Counts a compare-and-set loop's rounds against [`CAS_ATTEMPTS`].
struct Contention {
    what: &'static str,
    rounds: u32,
}

impl Contention {
    fn new(what: &'static str) -> Self {
        Contention { what, rounds: 0 }
    }

    /// `Err` once the loop has read and lost [`CAS_ATTEMPTS`] times.
    fn next(&mut self) -> Result<(), String> {
        self.rounds += 1;
        if self.rounds > CAS_ATTEMPTS {
            return Err(format!(
                "{} changed under {CAS_ATTEMPTS} writes in a row: given up for now",
                self.what
            ));
        }
        Ok(())
    }
}

/// Publishes an invalid token's record (`Nats-Msg-Id` = job/device: one
/// published again for a device sent again is stored once), returning
/// once JetStream has it.
async fn publish_feedback(
    nats: &Nats,
    envelope: &DeviceEnvelope,
    feedback: &Feedback,
) -> Result<(), String> {
    publish_acked(
        nats,
        nats.settings.feedback_subject(),
        feedback,
        format!("{}/{}", envelope.job, envelope.index),
    )
    .await
}

/// Publishes `value` as JSON to `subject` with the message id `id` (a
/// repeat within the duplicate window is stored once) and waits for
/// JetStream's ack.
async fn publish_acked(
    nats: &Nats,
    subject: String,
    value: &impl Serialize,
    id: String,
) -> Result<(), String> {
    let payload = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    nats.js
        .send_publish(
            subject,
            jetstream::message::PublishMessage::build()
                .payload(payload.into())
                .message_id(id),
        )
        .await
        .map_err(|e| e.to_string())?
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A device that is to be sent again at `due_ms` (its state recorded
/// already): a wait up to `PARK_AFTER` is a delayed nak of its message;
/// a longer one parks it on the retry stream (the publish acknowledged by
/// JetStream before the message is acked), so it holds no slot of the
/// shared consumer's `max_ack_pending` while it waits.
async fn wait(
    worker: &Worker,
    message: &Message,
    envelope: &DeviceEnvelope,
    attempts: u32,
    held_ms: u64,
    due_ms: u64,
) -> Result<(), String> {
    let nats = &worker.nats;
    let delay = Duration::from_millis(due_ms.saturating_sub(now_ms(&worker.context.clock)));
    if delay <= PARK_AFTER {
        return message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| e.to_string());
    }
    let source = message.info().map_err(|e| e.to_string())?.stream_sequence;
    let parked = ParkedEnvelope {
        due_ms,
        device: DeviceEnvelope {
            job: envelope.job.clone(),
            index: envelope.index,
            device: DeviceRecord {
                held_ms,
                ..envelope.device.clone()
            },
            attempts,
            recheck: false,
        },
    };
    // The message it parks: parked again after a lost ack, it is stored
    // once.
    let id = format!("{}/{}/s{source}", envelope.job, envelope.index);
    publish_acked(nats, nats.settings.retry_subject(), &parked, id).await?;
    message.ack().await.map_err(|e| e.to_string())
}

async fn put_status(nats: &Nats, key: &str, status: &DeviceStatus) -> Result<(), String> {
    let bytes = serde_json::to_vec(status).map_err(|e| e.to_string())?;
    nats.jobs
        .put(key, bytes.into())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn dead_letter(
    worker: &Worker,
    message: &Message,
    envelope: &DeviceEnvelope,
    deliveries: u64,
    attempts: u32,
    reason: String,
) -> Result<(), String> {
    let nats = &worker.nats;
    let letter = DeadLetter {
        job_id: envelope.job.clone(),
        device: envelope.index,
        path: envelope.device.path.clone(),
        channel: envelope.device.channel.clone(),
        reason: reason.clone(),
        deliveries,
        attempts,
    };
    let id = format!("{}/{}", envelope.job, envelope.index);
    publish_acked(nats, nats.settings.dead_subject(), &letter, id).await?;
    worker
        .context
        .metrics
        .push(&envelope.device.channel, "dead_lettered");
    put_status(
        nats,
        &format!("{}.{}", envelope.job, envelope.index),
        &DeviceStatus {
            state: DeviceState::DeadLettered { reason },
            attempts,
            held_ms: envelope.device.held_ms,
            push: None,
            replacing: false,
        },
    )
    .await?;
    message.ack().await.map_err(|e| e.to_string())
}

/// A parked message (retry stream): republished to the device subject
/// once due, then acked; one not yet due is naked until it is, holding a
/// slot of the retry consumer only.
async fn unpark(worker: &Worker, message: &Message) -> Result<(), String> {
    let nats = &worker.nats;
    let Some(parked) = readable::<ParkedEnvelope>(message, "parked").await else {
        return Ok(());
    };
    let now = now_ms(&worker.context.clock);
    if parked.due_ms > now {
        return message
            .ack_with(AckKind::Nak(Some(Duration::from_millis(
                parked.due_ms - now,
            ))))
            .await
            .map_err(|e| e.to_string());
    }
    let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
    let device = DeviceEnvelope {
        // Its state is read before the send: a copy of it that ran ahead
        // (a lost ack, a server restart) may have finished it.
        recheck: true,
        ..parked.device
    };
    // The parked message: republished again after a lost ack, it is
    // stored once.
    let id = format!("{}/{}/p{seq}", device.job, device.index);
    publish_acked(nats, nats.settings.device_subject(), &device, id).await?;
    message.ack().await.map_err(|e| e.to_string())
}

/// A job as its devices are sent: the record, and whether they follow
/// the recall rule (module doc).
struct SendJob {
    record: JobRecord,
    /// A keyed message's key, or a recall job's.
    message_key: Option<String>,
    /// A recall's or an edit's job.
    replacements: bool,
}

impl SendJob {
    fn of(envelope: &JobEnvelope) -> Self {
        Self {
            record: envelope.record.clone(),
            message_key: envelope.message_key.clone(),
            replacements: envelope.replacements,
        }
    }

    /// Whether its devices' states are read before each send and written
    /// on the revision read.
    fn keyed(&self) -> bool {
        self.message_key.is_some()
    }
}

type JobCell = Arc<tokio::sync::OnceCell<Arc<SendJob>>>;

/// The cell of a job's record, made if absent.
fn job_cell(worker: &Worker, id: &str) -> JobCell {
    let mut jobs = worker.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cell) = jobs.get(id) {
        return Arc::clone(cell);
    }
    if jobs.len() >= JOB_CACHE {
        jobs.clear();
    }
    let cell = JobCell::default();
    jobs.insert(id.to_owned(), Arc::clone(&cell));
    cell
}

/// A job's record: from the cache, or read once (concurrent callers wait
/// for the one read).
async fn job(worker: &Worker, id: &str) -> Result<Option<Arc<SendJob>>, String> {
    let cell = job_cell(worker, id);
    let read = cell
        .get_or_try_init(|| async {
            match worker.nats.job_envelope(id).await {
                Ok(Some(envelope)) => Ok(Arc::new(SendJob::of(&envelope))),
                Ok(None) => Err(None),
                Err(e) => Err(Some(e)),
            }
        })
        .await;
    match read {
        Ok(job) => Ok(Some(Arc::clone(job))),
        Err(None) => Ok(None),
        Err(Some(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compare_and_set_loop_gives_up_after_its_bound() {
        let mut tries = Contention::new("a device's state");
        for _ in 0..CAS_ATTEMPTS {
            tries.next().unwrap();
        }
        let e = tries.next().unwrap_err();
        assert!(
            e.starts_with("a device's state changed under 64 writes"),
            "{e}"
        );
    }

    #[test]
    fn credentials_in_the_url_are_never_shown() {
        assert_eq!(
            redact("nats://alice:s3cret@10.0.0.1:4222,nats://10.0.0.2:4222"),
            "nats://10.0.0.1:4222,nats://10.0.0.2:4222"
        );
        assert_eq!(redact("tok3n@host:4222"), "nats://host:4222");
        let settings = NatsSettings::from_config(&QueueSection {
            url: Some("nats://bob:hunter2@127.0.0.1:4222".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn credentials_leave_the_addresses_the_client_logs() {
        let (addresses, login) =
            split_credentials("nats://alice:s3cret@10.0.0.1:4222, tls://10.0.0.2:4222");
        assert_eq!(addresses, ["nats://10.0.0.1:4222", "tls://10.0.0.2:4222"]);
        assert!(matches!(login, Some(Login::UserPassword(u, p)) if u == "alice" && p == "s3cret"));
        let (addresses, login) = split_credentials("t0ken@127.0.0.1:4222");
        assert_eq!(addresses, ["nats://127.0.0.1:4222"]);
        assert!(matches!(login, Some(Login::Token(t)) if t == "t0ken"));
    }

    #[test]
    fn a_publish_is_refused_only_when_it_never_left_or_jetstream_said_no() {
        use jetstream::context::PublishErrorKind as Kind;
        // Not sent (a client-side refusal, no room to send): not stored.
        for kind in [
            Kind::MaxPayloadExceeded,
            Kind::MaxAckPending,
            Kind::TimedOut,
            Kind::Other,
        ] {
            assert_eq!(
                publish_outcome(false, kind, false),
                Published::Refused,
                "{kind:?}"
            );
        }
        // Sent, and JetStream said no (no stream on the subject, an error
        // answer): not stored, the key is released.
        assert_eq!(
            publish_outcome(true, Kind::StreamNotFound, false),
            Published::Refused
        );
        assert_eq!(
            publish_outcome(true, Kind::WrongLastSequence, false),
            Published::Refused
        );
        assert_eq!(publish_outcome(true, Kind::Other, true), Published::Refused);
        // Sent, no answer read: maybe stored, the key keeps naming the job.
        assert_eq!(
            publish_outcome(true, Kind::TimedOut, false),
            Published::Unknown
        );
        assert_eq!(
            publish_outcome(true, Kind::BrokenPipe, false),
            Published::Unknown
        );
        assert_eq!(
            publish_outcome(true, Kind::Other, false),
            Published::Unknown
        );
        // The classification reads JetStream's answer from the error.
        let refused = jetstream::context::PublishError::with_source(
            Kind::Other,
            serde_json::from_str::<jetstream::Error>(
                r#"{"code":503,"err_code":10077,"description":"maximum messages exceeded"}"#,
            )
            .unwrap(),
        );
        assert_eq!(failed_publish(true, &refused), Published::Refused);
        let unreadable = jetstream::context::PublishError::with_source(
            Kind::Other,
            serde_json::from_str::<u8>("x").unwrap_err(),
        );
        assert_eq!(failed_publish(true, &unreadable), Published::Unknown);
        let timed_out = jetstream::context::PublishError::new(Kind::TimedOut);
        assert_eq!(failed_publish(true, &timed_out), Published::Unknown);
        assert_eq!(failed_publish(false, &timed_out), Published::Refused);
    }

    #[test]
    fn settings_errors_name_the_key() {
        let bad = |section: QueueSection| NatsSettings::from_config(&section).unwrap_err().key;
        assert_eq!(
            bad(QueueSection {
                stream: Some("A.B".into()),
                ..Default::default()
            }),
            "queue.stream"
        );
        assert_eq!(
            bad(QueueSection {
                subject: Some("a.*".into()),
                ..Default::default()
            }),
            "queue.subject"
        );
        assert_eq!(
            bad(QueueSection {
                replicas: Some(7),
                ..Default::default()
            }),
            "queue.replicas"
        );
        assert_eq!(
            bad(QueueSection {
                max_deliver: Some(0),
                ..Default::default()
            }),
            "queue.max_deliver"
        );
        let zero = NatsSettings::from_config(&QueueSection {
            max_ack_pending: Some(0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(zero.key, "queue.max_ack_pending");
        assert_eq!(
            zero.to_string(),
            "queue.max_ack_pending: must be at least 1"
        );
        let default = NatsSettings::from_config(&QueueSection::default()).unwrap();
        assert_eq!(default.max_ack_pending, 100_000);
    }
}
