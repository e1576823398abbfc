//! How the local store lays a device out (record format 4): what its send
//! needs, written once at acceptance ([`DEVICES`]); its state apart
//! ([`STATES`]), the only row a result writes (~40 bytes, where rewriting
//! the whole record was ~350); and a body that several devices of one job
//! share, once per job ([`BODIES`]) — a fan-out to 10,000 APNs devices
//! stores its payload once, not 10,000 times. An APNs device's
//! `device_token` header, the device's own token, is not stored twice.
//!
//! The `…Out` types borrow what they write and the `…In` types own what
//! they read; each pair has one shape (postcard is positional), pinned by
//! the round-trip test below.

use std::collections::HashMap;

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{
    decode, encode, err, DeviceRecord, DeviceState, StoreError, StoredHeaders, StoredPush,
};

/// (job id, device index) → the device as accepted ([`DeviceOut`]).
pub(super) const DEVICES: TableDefinition<'_, (&str, u32), &[u8]> = TableDefinition::new("devices");
/// (job id, device index) → its state since acceptance ([`StatusOut`]);
/// absent: the state it was accepted in.
pub(super) const STATES: TableDefinition<'_, (&str, u32), &[u8]> =
    TableDefinition::new("device_states");
/// (job id, body number) → a body two or more of the job's devices share.
pub(super) const BODIES: TableDefinition<'_, (&str, u32), &str> =
    TableDefinition::new("job_bodies");

#[derive(Serialize)]
struct DeviceOut<'a> {
    channel: &'a str,
    token: &'a str,
    path: &'a str,
    /// As accepted (queued or suppressed).
    state: &'a DeviceState,
    push: Option<PushOut<'a>>,
}

#[derive(Deserialize)]
struct DeviceIn {
    channel: String,
    token: String,
    path: String,
    state: DeviceState,
    push: Option<PushIn>,
}

#[derive(Serialize)]
struct PushOut<'a> {
    body: BodyOut<'a>,
    headers: HeadersOut<'a>,
    expires_at: Option<i64>,
    life_time: Option<u32>,
}

#[derive(Deserialize)]
struct PushIn {
    body: BodyIn,
    headers: StoredHeaders,
    expires_at: Option<i64>,
    life_time: Option<u32>,
}

#[derive(Serialize)]
enum BodyOut<'a> {
    Own(&'a str),
    /// A row of [`BODIES`] of the same job.
    Shared(u32),
}

#[derive(Deserialize)]
enum BodyIn {
    Own(String),
    Shared(u32),
}

/// [`StoredHeaders`] borrowed, variant for variant; an APNs
/// `device_token` equal to the device's token is written empty.
#[derive(Serialize)]
enum HeadersOut<'a> {
    None,
    Apns {
        push_type: &'a str,
        priority: &'a str,
        topic: &'a str,
        topic_suffix: &'a str,
        expiration: Option<i64>,
        collapse_id: Option<&'a str>,
        device_token: &'a str,
    },
    Revoke,
}

impl<'a> HeadersOut<'a> {
    fn of(headers: &'a StoredHeaders, token: &str) -> Self {
        match headers {
            StoredHeaders::None => HeadersOut::None,
            StoredHeaders::Revoke => HeadersOut::Revoke,
            StoredHeaders::Apns {
                push_type,
                priority,
                topic,
                topic_suffix,
                expiration,
                collapse_id,
                device_token,
            } => HeadersOut::Apns {
                push_type,
                priority,
                topic,
                topic_suffix,
                expiration: *expiration,
                collapse_id: collapse_id.as_deref(),
                device_token: if device_token == token {
                    ""
                } else {
                    device_token
                },
            },
        }
    }
}

#[derive(Serialize)]
struct StatusOut<'a> {
    state: &'a DeviceState,
    attempts: u32,
    held_ms: u64,
}

#[derive(Deserialize)]
struct StatusIn {
    state: DeviceState,
    attempts: u32,
    held_ms: u64,
}

/// The bodies two or more of a job's devices share, numbered in order of
/// first use: each gets a [`BODIES`] row and its devices refer to it. (A
/// body only one device has stays in that device's row: a single push, or
/// an FCM fan-out whose bodies carry their tokens, writes nothing more.)
#[derive(Default)]
pub(super) struct SharedBodies<'a> {
    numbers: HashMap<&'a str, u32>,
    /// The one shared body, when there is one (a fan-out of one payload):
    /// compared, not hashed, per device.
    only: Option<&'a str>,
}

impl<'a> SharedBodies<'a> {
    pub fn of(devices: &'a [DeviceRecord]) -> Self {
        let mut shared = Self::default();
        if devices.len() < 2 {
            return shared;
        }
        let mut seen: HashMap<&str, bool> = HashMap::new();
        // A run of one body (the usual fan-out) is recognised by
        // comparing with the last body found shared.
        let mut last_shared: Option<&str> = None;
        for body in devices.iter().filter_map(|d| d.push.as_ref()) {
            let body = body.body.as_str();
            if last_shared == Some(body) {
                continue;
            }
            let again = seen.entry(body).or_insert(false);
            if *again {
                let next = u32::try_from(shared.numbers.len()).unwrap_or(u32::MAX);
                shared.numbers.entry(body).or_insert(next);
                last_shared = Some(body);
            }
            *again = true;
        }
        if shared.numbers.len() == 1 {
            shared.only = shared.numbers.keys().next().copied();
        }
        shared
    }

    fn number(&self, body: &str) -> Option<u32> {
        match self.only {
            Some(only) => (only == body).then_some(0),
            None if self.numbers.is_empty() => None,
            None => self.numbers.get(body).copied(),
        }
    }

    /// Writes the rows of `job_id`.
    pub fn put(
        &self,
        bodies: &mut redb::Table<'_, (&'static str, u32), &'static str>,
        job_id: &str,
    ) -> Result<(), StoreError> {
        for (body, n) in &self.numbers {
            bodies.insert((job_id, *n), *body).map_err(err)?;
        }
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.numbers.len()
    }
}

/// A device's [`DEVICES`] row; its body by number if `shared` has it.
pub(super) fn device_row(
    device: &DeviceRecord,
    shared: &SharedBodies<'_>,
) -> Result<Vec<u8>, StoreError> {
    let push = device.push.as_ref().map(|p| PushOut {
        body: match shared.number(p.body.as_str()) {
            Some(n) => BodyOut::Shared(n),
            None => BodyOut::Own(&p.body),
        },
        headers: HeadersOut::of(&p.headers, &device.token),
        expires_at: p.expires_at,
        life_time: p.life_time,
    });
    encode(&DeviceOut {
        channel: &device.channel,
        token: &device.token,
        path: &device.path,
        state: &device.state,
        push,
    })
}

/// A device's [`STATES`] row.
pub(super) fn status_row(
    state: &DeviceState,
    attempts: u32,
    held_ms: u64,
) -> Result<Vec<u8>, StoreError> {
    encode(&StatusOut {
        state,
        attempts,
        held_ms,
    })
}

/// The last shared body read, so the devices of one fan-out read its row
/// once in a run of reads.
#[derive(Default)]
pub(super) struct BodyCache {
    last: Option<(String, u32, String)>,
}

/// The three tables a device is read from.
pub(super) struct Rows<'t, D, S, B> {
    pub devices: &'t D,
    pub states: &'t S,
    pub bodies: &'t B,
}

impl<D, S, B> Rows<'_, D, S, B>
where
    D: ReadableTable<(&'static str, u32), &'static [u8]>,
    S: ReadableTable<(&'static str, u32), &'static [u8]>,
    B: ReadableTable<(&'static str, u32), &'static str>,
{
    /// Device `index` of `job_id` as it stands: its accepted row with its
    /// state, and its body, put back together.
    pub fn read(
        &self,
        job_id: &str,
        index: u32,
        cache: &mut BodyCache,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let Some(row) = self.devices.get((job_id, index)).map_err(err)? else {
            return Ok(None);
        };
        let accepted: DeviceIn = decode(row.value())?;
        drop(row);
        let (state, attempts, held_ms) = match self.states.get((job_id, index)).map_err(err)? {
            Some(s) => {
                let s: StatusIn = decode(s.value())?;
                (s.state, s.attempts, s.held_ms)
            }
            None => (accepted.state, 0, 0),
        };
        let push = match accepted.push {
            None => None,
            Some(p) => Some(StoredPush {
                body: match p.body {
                    BodyIn::Own(body) => body,
                    BodyIn::Shared(n) => self.shared(job_id, n, cache)?,
                },
                headers: match p.headers {
                    StoredHeaders::Apns {
                        push_type,
                        priority,
                        topic,
                        topic_suffix,
                        expiration,
                        collapse_id,
                        device_token,
                    } => StoredHeaders::Apns {
                        push_type,
                        priority,
                        topic,
                        topic_suffix,
                        expiration,
                        collapse_id,
                        device_token: if device_token.is_empty() {
                            accepted.token.clone()
                        } else {
                            device_token
                        },
                    },
                    other => other,
                },
                expires_at: p.expires_at,
                life_time: p.life_time,
            }),
        };
        Ok(Some(DeviceRecord {
            channel: accepted.channel,
            token: accepted.token,
            path: accepted.path,
            state,
            attempts,
            held_ms,
            push,
        }))
    }

    fn shared(&self, job_id: &str, n: u32, cache: &mut BodyCache) -> Result<String, StoreError> {
        if let Some((job, m, body)) = &cache.last {
            if job == job_id && *m == n {
                return Ok(body.clone());
            }
        }
        let body = self
            .bodies
            .get((job_id, n))
            .map_err(err)?
            .map(|v| v.value().to_owned())
            .ok_or_else(|| err(format!("job {job_id}: shared body {n} is missing")))?;
        cache.last = Some((job_id.to_owned(), n, body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;

    fn apns(token: &str, body: &str) -> DeviceRecord {
        DeviceRecord {
            channel: "apns".into(),
            token: token.into(),
            path: "Recipients[0]".into(),
            state: DeviceState::Queued,
            attempts: 0,
            held_ms: 0,
            push: Some(StoredPush {
                body: body.into(),
                headers: StoredHeaders::Apns {
                    push_type: "alert".into(),
                    priority: "10".into(),
                    topic: "com.example.chat".into(),
                    topic_suffix: String::new(),
                    expiration: Some(1_700_000_000),
                    collapse_id: Some("c2c:1".into()),
                    device_token: token.into(),
                },
                expires_at: Some(1_700_000_000),
                life_time: Some(60),
            }),
        }
    }

    #[test]
    fn a_device_reads_back_as_written_with_shared_bodies_and_its_state_apart() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("t.redb")).unwrap();
        let mut other_token = apns("bb", "{\"own\":1}");
        if let Some(StoredPush {
            headers: StoredHeaders::Apns { device_token, .. },
            ..
        }) = &mut other_token.push
        {
            *device_token = "not-the-token".into();
        }
        let suppressed = DeviceRecord {
            state: DeviceState::Suppressed {
                reason: "Dnd".into(),
            },
            push: None,
            ..apns("cc", "")
        };
        let devices = vec![
            apns("aa", "{\"same\":1}"),
            other_token,
            apns("dd", "{\"same\":1}"),
            suppressed,
            DeviceRecord {
                push: Some(StoredPush {
                    headers: StoredHeaders::Revoke,
                    ..apns("ee", "{\"same\":1}").push.unwrap()
                }),
                ..apns("ee", "")
            },
        ];
        let shared = SharedBodies::of(&devices);
        assert_eq!(shared.len(), 1, "only the body three devices share");
        let txn = db.begin_write().unwrap();
        {
            let mut rows = txn.open_table(DEVICES).unwrap();
            let mut bodies = txn.open_table(BODIES).unwrap();
            let mut states = txn.open_table(STATES).unwrap();
            shared.put(&mut bodies, "j").unwrap();
            for (i, d) in (0u32..).zip(&devices) {
                rows.insert(("j", i), device_row(d, &shared).unwrap().as_slice())
                    .unwrap();
            }
            let delivered = DeviceState::Delivered {
                id: "x".into(),
                at_ms: 5,
            };
            states
                .insert(("j", 2), status_row(&delivered, 1, 7).unwrap().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        let txn = db.begin_read().unwrap();
        let (d, s, b) = (
            txn.open_table(DEVICES).unwrap(),
            txn.open_table(STATES).unwrap(),
            txn.open_table(BODIES).unwrap(),
        );
        let rows = Rows {
            devices: &d,
            states: &s,
            bodies: &b,
        };
        let mut cache = BodyCache::default();
        for (i, want) in (0u32..).zip(&devices) {
            let got = rows.read("j", i, &mut cache).unwrap().unwrap();
            let mut want = want.clone();
            if i == 2 {
                want.state = DeviceState::Delivered {
                    id: "x".into(),
                    at_ms: 5,
                };
                want.attempts = 1;
                want.held_ms = 7;
            }
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "device {i}");
        }
        assert!(rows.read("j", 9, &mut cache).unwrap().is_none());
    }

    #[test]
    fn bodies_are_shared_by_two_devices_or_more() {
        let numbers = |bodies: &[&str]| {
            let devices: Vec<_> = bodies.iter().map(|b| apns("aa", b)).collect();
            let shared = SharedBodies::of(&devices);
            bodies.iter().map(|b| shared.number(b)).collect::<Vec<_>>()
        };
        assert_eq!(numbers(&["x"]), [None]);
        assert_eq!(numbers(&["x", "y"]), [None, None]);
        assert_eq!(numbers(&["x", "x", "x"]), [Some(0); 3]);
        assert_eq!(
            numbers(&["x", "y", "x", "z", "y", "y"]),
            [Some(0), Some(1), Some(0), None, Some(1), Some(1)]
        );
    }
}
