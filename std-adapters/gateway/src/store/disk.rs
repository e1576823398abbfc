//! How the local store lays a device out (record format 4): what its send
//! needs, written once at acceptance, [`CHUNK`] devices of a job to a row
//! ([`DEVICES`]: a 10,000-device fan-out is 157 rows, not 10,000 B-tree
//! inserts); its state apart ([`STATES`]), the only row a result writes
//! (~40 bytes, where rewriting the whole record was ~350); and a body that
//! several devices of one job share, once per job ([`BODIES`]) — a fan-out
//! to 10,000 APNs devices stores its payload once, not 10,000 times.
//!
//! [`DeviceOut`] borrows what a new job writes (no copy of its devices);
//! [`Row`] owns what is read (and rewritten, for the rare edit of one
//! device); both have one shape (postcard is positional), pinned by the
//! round-trip test below.

use std::collections::HashMap;

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::record::{
    decode, encode, err, DeviceRecord, DeviceState, StoreError, StoredHeaders, StoredPush,
};

/// (job id, chunk number) → devices `CHUNK × n …` of the job as accepted
/// (a sequence of [`Row`]s).
pub(super) const DEVICES: TableDefinition<'_, (&str, u32), &[u8]> =
    TableDefinition::new("device_chunks");
/// Devices per [`DEVICES`] row.
pub(super) const CHUNK: u32 = 64;
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

/// A device as stored, owned.
#[derive(Serialize, Deserialize)]
struct Row {
    channel: String,
    token: String,
    path: String,
    state: DeviceState,
    push: Option<RowPush>,
}

#[derive(Serialize)]
struct PushOut<'a> {
    body: BodyOut<'a>,
    headers: &'a StoredHeaders,
    expires_at: Option<i64>,
    life_time: Option<u32>,
}

#[derive(Serialize, Deserialize)]
struct RowPush {
    body: RowBody,
    headers: StoredHeaders,
    expires_at: Option<i64>,
    life_time: Option<u32>,
}

impl RowPush {
    /// A push with its body in its own row.
    fn own(p: &StoredPush) -> Self {
        RowPush {
            body: RowBody::Own(p.body.clone()),
            headers: p.headers.clone(),
            expires_at: p.expires_at,
            life_time: p.life_time,
        }
    }
}

#[derive(Serialize)]
enum BodyOut<'a> {
    Own(&'a str),
    /// A row of [`BODIES`] of the same job.
    Shared(u32),
}

#[derive(Serialize, Deserialize)]
enum RowBody {
    Own(String),
    Shared(u32),
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

fn device_out<'a>(device: &'a DeviceRecord, shared: &SharedBodies<'_>) -> DeviceOut<'a> {
    let push = device.push.as_ref().map(|p| PushOut {
        body: match shared.number(p.body.as_str()) {
            Some(n) => BodyOut::Shared(n),
            None => BodyOut::Own(&p.body),
        },
        headers: &p.headers,
        expires_at: p.expires_at,
        life_time: p.life_time,
    });
    DeviceOut {
        channel: &device.channel,
        token: &device.token,
        path: &device.path,
        state: &device.state,
        push,
    }
}

/// The [`DEVICES`] rows a job of `devices` devices has.
pub(super) fn chunks(devices: u32) -> u32 {
    devices.div_ceil(CHUNK)
}

type DeviceTable<'t> = redb::Table<'t, (&'static str, u32), &'static [u8]>;

/// Writes a new job's devices, [`CHUNK`] to a row, each body by number
/// if `shared` has it.
pub(super) fn put_new(
    table: &mut DeviceTable<'_>,
    job_id: &str,
    devices: &[DeviceRecord],
    shared: &SharedBodies<'_>,
) -> Result<(), StoreError> {
    let per_row = usize::try_from(CHUNK).unwrap_or(usize::MAX);
    for (n, chunk) in (0u32..).zip(devices.chunks(per_row)) {
        let rows: Vec<DeviceOut<'_>> = chunk.iter().map(|d| device_out(d, shared)).collect();
        table
            .insert((job_id, n), encode(&rows)?.as_slice())
            .map_err(err)?;
    }
    Ok(())
}

/// Writes device `index` of `job_id` whole (an edit's push, or a device
/// appended to the job: `index` is then its device count): its chunk is
/// read, changed and written back.
pub(super) fn put_one(
    table: &mut DeviceTable<'_>,
    job_id: &str,
    index: u32,
    device: &DeviceRecord,
) -> Result<(), StoreError> {
    let key = (job_id, index / CHUNK);
    let mut rows: Vec<Row> = match table.get(key).map_err(err)? {
        Some(v) => decode(v.value())?,
        None => Vec::new(),
    };
    let row = Row {
        channel: device.channel.clone(),
        token: device.token.clone(),
        path: device.path.clone(),
        state: device.state.clone(),
        push: device.push.as_ref().map(RowPush::own),
    };
    let at = usize::try_from(index % CHUNK).map_err(err)?;
    match at.cmp(&rows.len()) {
        std::cmp::Ordering::Less => {
            if let Some(slot) = rows.get_mut(at) {
                *slot = row;
            }
        }
        std::cmp::Ordering::Equal => rows.push(row),
        std::cmp::Ordering::Greater => {
            return Err(err(format!(
                "job {job_id}: device {index} written past the job's end"
            )))
        }
    }
    table.insert(key, encode(&rows)?.as_slice()).map_err(err)?;
    Ok(())
}

/// Swaps the pushes of devices of `job_id` (an edit of queued devices),
/// each chunk read and written once however many of its devices change:
/// how many were swapped. `pushes` in device order.
pub(super) fn put_pushes(
    table: &mut DeviceTable<'_>,
    job_id: &str,
    pushes: &[(u32, Option<StoredPush>)],
) -> Result<u32, StoreError> {
    let mut swapped = 0u32;
    let mut rest = pushes;
    while let Some(&(first, _)) = rest.first() {
        let n = first / CHUNK;
        let end = rest
            .iter()
            .position(|(i, _)| i / CHUNK != n)
            .unwrap_or(rest.len());
        let (these, after) = rest.split_at(end);
        rest = after;
        let Some(value) = table.get((job_id, n)).map_err(err)? else {
            continue;
        };
        let mut rows: Vec<Row> = decode(value.value())?;
        drop(value);
        for (index, push) in these {
            let at = usize::try_from(index % CHUNK).map_err(err)?;
            if let Some(row) = rows.get_mut(at) {
                row.push = push.as_ref().map(RowPush::own);
                swapped += 1;
            }
        }
        table
            .insert((job_id, n), encode(&rows)?.as_slice())
            .map_err(err)?;
    }
    Ok(swapped)
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

/// What a run of reads has read: the last chunk (its devices taken as
/// they are read) and the last shared body, so the devices of one job read
/// each row once.
#[derive(Default)]
pub(super) struct ReadCache {
    chunk: Option<(String, u32, Vec<Option<Row>>)>,
    body: Option<(String, u32, String)>,
}

type ReadTable<V> = redb::ReadOnlyTable<(&'static str, u32), V>;

/// The three tables a device is read from, open in a read transaction.
pub(super) struct ReadTables {
    devices: ReadTable<&'static [u8]>,
    states: ReadTable<&'static [u8]>,
    bodies: ReadTable<&'static str>,
}

impl ReadTables {
    pub fn open(txn: &redb::ReadTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            devices: txn.open_table(DEVICES).map_err(err)?,
            states: txn.open_table(STATES).map_err(err)?,
            bodies: txn.open_table(BODIES).map_err(err)?,
        })
    }

    pub fn rows(
        &self,
    ) -> Rows<'_, ReadTable<&'static [u8]>, ReadTable<&'static [u8]>, ReadTable<&'static str>> {
        Rows {
            devices: &self.devices,
            states: &self.states,
            bodies: &self.bodies,
        }
    }
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
        cache: &mut ReadCache,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let Some(row) = self.row(job_id, index, cache)? else {
            return Ok(None);
        };
        self.record(job_id, index, row, cache).map(Some)
    }

    /// Every device of a job, in order (its rows hold devices 0…n, no
    /// gap).
    pub fn all(&self, job_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        let mut cache = ReadCache::default();
        let mut out = Vec::new();
        for index in 0u32.. {
            match self.read(job_id, index, &mut cache)? {
                Some(device) => out.push(device),
                None => break,
            }
        }
        Ok(out)
    }

    /// The stored row of a device, from the cached chunk when it is there.
    fn row(
        &self,
        job_id: &str,
        index: u32,
        cache: &mut ReadCache,
    ) -> Result<Option<Row>, StoreError> {
        let (n, at) = (index / CHUNK, usize::try_from(index % CHUNK).map_err(err)?);
        if let Some((job, m, rows)) = &mut cache.chunk {
            if job == job_id && *m == n {
                if let Some(row) = rows.get_mut(at).and_then(Option::take) {
                    return Ok(Some(row));
                }
            }
        }
        let Some(value) = self.devices.get((job_id, n)).map_err(err)? else {
            return Ok(None);
        };
        let rows: Vec<Row> = decode(value.value())?;
        drop(value);
        let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        let row = rows.get_mut(at).and_then(Option::take);
        cache.chunk = Some((job_id.to_owned(), n, rows));
        Ok(row)
    }

    fn record(
        &self,
        job_id: &str,
        index: u32,
        row: Row,
        cache: &mut ReadCache,
    ) -> Result<DeviceRecord, StoreError> {
        let (state, attempts, held_ms) = match self.states.get((job_id, index)).map_err(err)? {
            Some(s) => {
                let s: StatusIn = decode(s.value())?;
                (s.state, s.attempts, s.held_ms)
            }
            None => (row.state, 0, 0),
        };
        let push = match row.push {
            None => None,
            Some(p) => Some(StoredPush {
                body: match p.body {
                    RowBody::Own(body) => body,
                    RowBody::Shared(n) => self.shared(job_id, n, cache)?,
                },
                headers: p.headers,
                expires_at: p.expires_at,
                life_time: p.life_time,
            }),
        };
        Ok(DeviceRecord {
            channel: row.channel,
            token: row.token,
            path: row.path,
            state,
            attempts,
            held_ms,
            push,
        })
    }

    fn shared(&self, job_id: &str, n: u32, cache: &mut ReadCache) -> Result<String, StoreError> {
        if let Some((job, m, body)) = &cache.body {
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
        cache.body = Some((job_id.to_owned(), n, body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, ReadableTableMetadata};

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
    fn devices_read_back_as_written_with_shared_bodies_and_their_states_apart() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("t.redb")).unwrap();
        let suppressed = DeviceRecord {
            state: DeviceState::Suppressed {
                reason: "Dnd".into(),
            },
            push: None,
            ..apns("cc", "")
        };
        let mut devices = vec![
            apns("aa", "{\"same\":1}"),
            apns("bb", "{\"own\":1}"),
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
        // Past two chunk boundaries.
        devices.extend((0..150).map(|i| apns(&format!("t{i}"), "{\"same\":1}")));
        let shared = SharedBodies::of(&devices);
        assert_eq!(shared.len(), 1, "only the body most devices share");
        let delivered = DeviceState::Delivered {
            id: "x".into(),
            at_ms: 5,
        };
        let edited = apns("t65", "{\"edited\":1}");
        let appended = apns("new", "{\"same\":1}");
        let txn = db.begin_write().unwrap();
        {
            let mut rows = txn.open_table(DEVICES).unwrap();
            let mut bodies = txn.open_table(BODIES).unwrap();
            let mut states = txn.open_table(STATES).unwrap();
            shared.put(&mut bodies, "j").unwrap();
            put_new(&mut rows, "j", &devices, &shared).unwrap();
            assert_eq!(rows.len().unwrap(), u64::from(chunks(155)));
            states
                .insert(("j", 2), status_row(&delivered, 1, 7).unwrap().as_slice())
                .unwrap();
            put_one(&mut rows, "j", 70, &edited).unwrap();
            put_one(&mut rows, "j", 155, &appended).unwrap();
            assert!(put_one(&mut rows, "j", 157, &appended).is_err(), "a gap");
        }
        txn.commit().unwrap();
        devices[2].state = delivered;
        devices[2].attempts = 1;
        devices[2].held_ms = 7;
        devices[70] = edited;
        devices.push(appended);
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
        assert_eq!(rows.all("j").unwrap(), devices);
        // Out of order and twice: each read is the device's.
        let mut cache = ReadCache::default();
        for i in [100u32, 3, 100, 64, 63, 155] {
            let got = rows.read("j", i, &mut cache).unwrap().unwrap();
            let want = &devices[usize::try_from(i).unwrap()];
            assert_eq!(got, *want, "device {i}");
        }
        assert!(rows.read("j", 156, &mut cache).unwrap().is_none());
        assert!(rows.read("other", 0, &mut cache).unwrap().is_none());
    }

    #[test]
    fn an_edit_swaps_the_pushes_of_its_devices_chunk_by_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("t.redb")).unwrap();
        let mut devices: Vec<_> = (0..150)
            .map(|i| apns(&format!("t{i}"), "{\"v\":1}"))
            .collect();
        let edited = |i: u32| apns("x", &format!("{{\"edit\":{i}}}")).push;
        let swaps: Vec<_> = [1u32, 2, 63, 64, 149]
            .into_iter()
            .map(|i| (i, edited(i)))
            .collect();
        let txn = db.begin_write().unwrap();
        {
            let mut rows = txn.open_table(DEVICES).unwrap();
            let mut bodies = txn.open_table(BODIES).unwrap();
            let shared = SharedBodies::of(&devices);
            shared.put(&mut bodies, "j").unwrap();
            put_new(&mut rows, "j", &devices, &shared).unwrap();
            assert_eq!(put_pushes(&mut rows, "j", &swaps).unwrap(), 5);
            assert_eq!(put_pushes(&mut rows, "gone", &swaps).unwrap(), 0);
            txn.open_table(STATES).unwrap();
        }
        txn.commit().unwrap();
        for (i, push) in swaps {
            devices[usize::try_from(i).unwrap()].push = push;
        }
        let txn = db.begin_read().unwrap();
        let tables = ReadTables::open(&txn).unwrap();
        assert_eq!(tables.rows().all("j").unwrap(), devices);
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
