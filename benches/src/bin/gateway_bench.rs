//! The gateway benchmark's driver (run by `benches/gateway.sh`): an IM
//! backend posting to a running `tidings serve` over HTTP, then reading
//! the jobs back to time every device from acceptance to delivery.
//!
//! ```text
//! gateway-bench single URL PID CLK_TCK CASE PAYLOAD COUNT CONCURRENCY
//! gateway-bench group  URL PID CLK_TCK CASE PAYLOAD DEVICES
//! gateway-bench batch  URL PID CLK_TCK CASE PAYLOAD COUNT SIZE CONCURRENCY
//! ```
//!
//! - `single`: COUNT `POST /v1/push` requests of one device each
//!   (distinct tokens), CONCURRENCY in flight;
//! - `group`: one request with one recipient whose `Devices` lists
//!   DEVICES distinct tokens;
//! - `batch`: COUNT one-device push requests (distinct tokens) posted
//!   SIZE at a time to `POST /v1/push/batch`, CONCURRENCY batches in
//!   flight.
//!
//! URL is the gateway's base (`http://127.0.0.1:PORT`), or several
//! comma-separated (gateways sharing one NATS queue: requests go to each in
//! turn); PID the `tidings serve` process, or several comma-separated
//! (every gateway and the NATS server): their CPU is read from
//! `/proc/PID/stat`, in CLK_TCK ticks per second, and summed; CASE the case whose `Message`, `Sender`, `App` and
//! `Recipient` make the request, PAYLOAD the bytes `tidings render --raw
//! CASE` prints (a dry run first checks that the gateway renders the same
//! payload).
//!
//! Before the clock starts, one push is sent and waited for (the gateway's
//! APNs client, its connection and provider token). The clock runs from
//! just before the first request to the latest `DeliveredAt` of the run's
//! devices; each device's latency is `DeliveredAt − AcceptedAt` of its
//! job, read with `GET /v1/jobs/{id}` once the queue is empty (not timed).
//! Prints one JSON line: `{"scenario", "requests", "pushes", "delivered",
//! "seconds", "p50_ms", "p99_ms", "cpu_seconds", "post_p50_ms",
//! "post_p99_ms", "driver_cpu_seconds", "cpu_by_process", "cpu_by_thread"}`
//! — `cpu_seconds` is the PIDs' sum during the timed part,
//! `cpu_by_process` each one's, `cpu_by_thread` the first one's by thread
//! name (the store's writer apart from the runtime's threads).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// How long the gateway may take to empty its queue after the last request.
const DRAIN_DEADLINE: Duration = Duration::from_secs(600);
/// How often the queue depth is read while waiting (`GET /metrics`).
const POLL: Duration = Duration::from_millis(10);
/// Job reads in flight after a run.
const READERS: usize = 32;
/// The most of an answer to a POST the driver reads (a batch of 100
/// job ids is a few KiB): more is a broken gateway, not an answer.
const MAX_ANSWER_BYTES: usize = 1 << 20;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: gateway-bench single URL PID CLK_TCK CASE PAYLOAD COUNT CONCURRENCY\n       \
                 gateway-bench group URL PID CLK_TCK CASE PAYLOAD DEVICES\n       \
                 gateway-bench batch URL PID CLK_TCK CASE PAYLOAD COUNT SIZE CONCURRENCY";
    let (scenario, rest) = args.split_first().ok_or(usage)?;
    let (url, pid, tick, case, payload, numbers) = match rest {
        [url, pid, tick, case, payload, numbers @ ..] => (url, pid, tick, case, payload, numbers),
        _ => return Err(usage.into()),
    };
    let number =
        |s: &String, what: &str| s.parse::<usize>().map_err(|_| format!("{what}: a number"));
    let mode = match (scenario.as_str(), numbers) {
        ("single", [count, concurrency]) => Mode::Single {
            count: number(count, "COUNT")?,
            concurrency: number(concurrency, "CONCURRENCY")?.max(1),
        },
        ("group", [devices]) => Mode::Group {
            devices: number(devices, "DEVICES")?,
        },
        ("batch", [count, size, concurrency]) => Mode::Batch {
            count: number(count, "COUNT")?,
            size: number(size, "SIZE")?.max(1),
            concurrency: number(concurrency, "CONCURRENCY")?.max(1),
        },
        _ => return Err(usage.into()),
    };
    let gateway = Gateway {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .map_err(|e| e.to_string())?,
        bases: url
            .split(',')
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect(),
        turn: AtomicUsize::new(0),
        pids: pid
            .split(',')
            .map(|p| p.parse().map_err(|_| "PID: a number or a list of numbers"))
            .collect::<Result<_, _>>()?,
        ticks_per_second: tick.parse().map_err(|_| "CLK_TCK: a number")?,
    };
    let case: Value =
        serde_json::from_slice(&std::fs::read(case).map_err(|e| format!("{case}: {e}"))?)
            .map_err(|e| format!("{case}: {e}"))?;
    let payload: Value =
        serde_json::from_slice(&std::fs::read(payload).map_err(|e| format!("{payload}: {e}"))?)
            .map_err(|e| format!("{payload}: {e}"))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(run(Arc::new(gateway), case, payload, mode))?;
    println!("{report}");
    Ok(())
}

#[derive(Clone, Copy)]
enum Mode {
    Single {
        count: usize,
        concurrency: usize,
    },
    Group {
        devices: usize,
    },
    Batch {
        count: usize,
        size: usize,
        concurrency: usize,
    },
}

/// A keep-alive HTTP/1.1 connection for the timed requests: each request
/// written whole, its answer read by its `content-length`. The driver
/// shares the machine's cores with the gateway it measures, so it spends
/// as little as a lean client would (reqwest's pool, URL handling and
/// extra task cost ~0.024 ms of CPU a request here; this ~0.01).
struct Conn {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    host: String,
    request: Vec<u8>,
}

impl Conn {
    async fn open(base: &str) -> Result<Self, String> {
        let host = base
            .strip_prefix("http://")
            .ok_or_else(|| format!("{base}: an http:// URL"))?
            .to_owned();
        let stream = tokio::net::TcpStream::connect(&host)
            .await
            .map_err(|e| format!("connecting to {host}: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream: tokio::io::BufReader::new(stream),
            host,
            request: Vec::new(),
        })
    }

    /// POSTs a JSON body: the status and the JSON answer.
    async fn post(&mut self, path: &str, body: &[u8]) -> Result<(u16, Value), String> {
        use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
        let failed = |e: std::io::Error| format!("POST {path}: {e}");
        self.request.clear();
        self.request.extend_from_slice(
            format!(
                "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                self.host,
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .map_err(failed)?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await.map_err(failed)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("POST {path}: no status line ({line:?})"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await.map_err(failed)? == 0 {
                return Err(format!("POST {path}: the connection closed mid-answer"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("POST {path}: {header}"))?;
                }
            }
        }
        if length > MAX_ANSWER_BYTES {
            return Err(format!("POST {path}: a {length}-byte answer"));
        }
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await.map_err(failed)?;
        let value = serde_json::from_slice(&answer).map_err(|e| format!("POST {path}: {e}"))?;
        Ok((status, value))
    }
}

/// A client's connections, one per gateway, opened when first used.
struct Conns(Vec<Option<Conn>>);

impl Conns {
    /// POSTs to the gateway whose turn it is.
    async fn post(
        &mut self,
        gateway: &Gateway,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Value), String> {
        let i = gateway.turn.fetch_add(1, Ordering::Relaxed) % gateway.bases.len();
        if self.0.len() < gateway.bases.len() {
            self.0.resize_with(gateway.bases.len(), || None);
        }
        let conn = match &mut self.0[i] {
            Some(conn) => conn,
            empty => empty.insert(Conn::open(&gateway.bases[i]).await?),
        };
        conn.post(path, body).await
    }
}

/// One gateway, or several sharing a queue (any of them answers for any job).
struct Gateway {
    http: reqwest::Client,
    bases: Vec<String>,
    /// Which base takes the next request.
    turn: AtomicUsize,
    pids: Vec<u32>,
    ticks_per_second: f64,
}

impl Gateway {
    fn base(&self) -> &str {
        let i = self.turn.fetch_add(1, Ordering::Relaxed) % self.bases.len();
        &self.bases[i]
    }

    /// Posts a push request body; answers the status and the JSON answer.
    async fn post(&self, query: &str, body: Vec<u8>) -> Result<(u16, Value), String> {
        self.post_to(&format!("/v1/push{query}"), body).await
    }

    async fn post_to(&self, path: &str, body: Vec<u8>) -> Result<(u16, Value), String> {
        let answer = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = answer.status().as_u16();
        let value = answer
            .json()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        Ok((status, value))
    }

    /// Posts a batch that must be accepted whole; answers its job ids.
    async fn accept_batch(&self, conns: &mut Conns, body: &[u8]) -> Result<Vec<String>, String> {
        let (status, answer) = conns.post(self, "/v1/push/batch", body).await?;
        if status != 202 {
            return Err(format!("POST /v1/push/batch answered {status}: {answer}"));
        }
        answer["Results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                r["JobId"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("a batch element was refused: {r}"))
            })
            .collect()
    }

    /// Posts a request that must be accepted; answers its job id.
    async fn accept(&self, conns: &mut Conns, body: &[u8]) -> Result<String, String> {
        let (status, answer) = conns.post(self, "/v1/push", body).await?;
        match (status, answer["JobId"].as_str()) {
            (202, Some(id)) => Ok(id.to_owned()),
            _ => Err(format!("POST /v1/push answered {status}: {answer}")),
        }
    }

    async fn job(&self, id: &str) -> Result<Value, String> {
        let answer = self
            .http
            .get(format!("{}/v1/jobs/{id}", self.base()))
            .send()
            .await
            .map_err(|e| format!("GET /v1/jobs/{id}: {e}"))?;
        let status = answer.status().as_u16();
        let value: Value = answer
            .json()
            .await
            .map_err(|e| format!("GET /v1/jobs/{id}: {e}"))?;
        if status == 200 {
            Ok(value)
        } else {
            Err(format!("GET /v1/jobs/{id} answered {status}: {value}"))
        }
    }

    /// Devices waiting in the queue (`tidings_queue_depth`, read from the
    /// store when `/metrics` is asked).
    async fn queue_depth(&self) -> Result<u64, String> {
        let text = self
            .http
            .get(format!("{}/metrics", self.bases[0]))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("GET /metrics: {e}"))?
            .text()
            .await
            .map_err(|e| format!("GET /metrics: {e}"))?;
        text.lines()
            .find_map(|line| line.strip_prefix("tidings_queue_depth "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| "GET /metrics: no tidings_queue_depth".into())
    }

    /// Waits until every queued device has its result committed.
    async fn drained(&self) -> Result<(), String> {
        let deadline = Instant::now() + DRAIN_DEADLINE;
        loop {
            let depth = self.queue_depth().await?;
            if depth == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{depth} devices still queued after {DRAIN_DEADLINE:?}"
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Each process's CPU seconds (user + system, every thread including
    /// ended ones): `/proc/PID/stat` fields 14 and 15.
    fn cpu_seconds(&self) -> Result<Vec<f64>, String> {
        self.pids
            .iter()
            .map(|pid| {
                let path = format!("/proc/{pid}/stat");
                let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                // The command name (field 2) is in parentheses and may hold spaces.
                let after = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest)
                    .ok_or_else(|| format!("{path}: unexpected format"))?;
                let fields: Vec<&str> = after.split_whitespace().collect();
                let ticks = |i: usize| -> Result<f64, String> {
                    fields
                        .get(i)
                        .and_then(|f| f.parse::<u64>().ok())
                        .map(|t| t as f64)
                        .ok_or_else(|| format!("{path}: unexpected format"))
                };
                // `after` starts at field 3 (state): utime is field 14, stime 15.
                Ok((ticks(11)? + ticks(12)?) / self.ticks_per_second)
            })
            .collect()
    }

    /// The first process's threads' CPU nanoseconds by thread name
    /// (`/proc/PID/task/*/comm` and `schedstat`), keyed by thread id, so a
    /// run's share of each kind of thread can be told apart: the store's
    /// writer (`tidings-writer`) and the runtime's threads (workers and
    /// blocking pool share `tokio-rt-worker`).
    fn thread_nanos(&self) -> std::collections::HashMap<u32, (String, u64)> {
        let Some(pid) = self.pids.first() else {
            return Default::default();
        };
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Default::default();
        };
        tasks
            .filter_map(Result::ok)
            .filter_map(|task| {
                let tid = task.file_name().to_str()?.parse().ok()?;
                let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
                let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
                let nanos = stat.split_whitespace().next()?.parse().ok()?;
                Some((tid, (name.trim().to_owned(), nanos)))
            })
            .collect()
    }
}

/// CPU seconds by thread name between two [`Gateway::thread_nanos`]
/// readings; a thread that ended in between is not counted.
fn cpu_by_thread(
    start: &std::collections::HashMap<u32, (String, u64)>,
    end: &std::collections::HashMap<u32, (String, u64)>,
) -> std::collections::BTreeMap<String, f64> {
    let mut by_name = std::collections::BTreeMap::new();
    for (tid, (name, nanos)) in end {
        let before = start.get(tid).map_or(0, |(_, n)| *n);
        *by_name.entry(name.clone()).or_insert(0.0) += nanos.saturating_sub(before) as f64 / 1e9;
    }
    by_name
}

/// The request pieces taken from the case.
struct Request {
    /// `Message`, `Sender`, `App` of the case.
    shared: serde_json::Map<String, Value>,
    /// The case's `Recipient`.
    recipient: Value,
}

impl Request {
    fn from_case(case: &Value) -> Result<Self, String> {
        let mut shared = serde_json::Map::new();
        for key in ["Message", "Sender", "Group", "App"] {
            if let Some(value) = case.get(key) {
                shared.insert(key.into(), value.clone());
            }
        }
        let recipient = case
            .get("Recipient")
            .cloned()
            .ok_or("the case has no Recipient")?;
        Ok(Self { shared, recipient })
    }

    fn body(&self, recipients: Vec<Value>) -> Value {
        let mut body = self.shared.clone();
        body.insert("Recipients".into(), Value::Array(recipients));
        Value::Object(body)
    }

    /// The case's device with another token.
    fn device(&self, token: &str) -> Value {
        let mut device = self.recipient["Device"].clone();
        device["Token"] = token.into();
        device
    }

    /// The case's recipient with one device of this token.
    fn single(&self, token: &str) -> Value {
        let mut recipient = self.recipient.clone();
        recipient["Device"] = self.device(token);
        recipient
    }

    /// `prefix + token + suffix` is the one-device request for `token`:
    /// built once, so the clients' cost per request is a copy.
    fn single_template(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        const MARK: &str = "@@TOKEN@@";
        let text = self.body(vec![self.single(MARK)]).to_string();
        let (prefix, suffix) = text
            .split_once(MARK)
            .ok_or("the request template lost its token mark")?;
        Ok((prefix.as_bytes().to_vec(), suffix.as_bytes().to_vec()))
    }
}

/// A distinct device token per index, of the case token's length.
/// The `(prefix, suffix, base token)` a single push's body is cut into.
type Template = Arc<(Vec<u8>, Vec<u8>, String)>;

/// `count` pushes, device `i` with `token(base, i + 1)`, posted by up to
/// `concurrency` clients `size` at a time: `batched`, each request a
/// `POST /v1/push/batch` array; else (`size` 1) one `POST /v1/push` each.
/// Per client, each job id with its request's round trip in ms.
async fn post_all(
    gateway: &Arc<Gateway>,
    template: Template,
    count: usize,
    size: usize,
    concurrency: usize,
    batched: bool,
) -> Result<Vec<Vec<(String, f64)>>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(count.div_ceil(size)) {
        let (gateway, template, next) = (
            Arc::clone(gateway),
            Arc::clone(&template),
            Arc::clone(&next),
        );
        clients.push(tokio::spawn(async move {
            let mut conns = Conns(Vec::new());
            let mut done = Vec::new();
            loop {
                let first = next.fetch_add(size, Ordering::Relaxed);
                if first >= count {
                    break;
                }
                let (prefix, suffix, base) = &*template;
                let mut body = Vec::with_capacity(size * (prefix.len() + suffix.len() + 64));
                for i in first..(first + size).min(count) {
                    body.push(if i > first { b',' } else { b'[' });
                    body.extend_from_slice(prefix);
                    body.extend_from_slice(token(base, i + 1).as_bytes());
                    body.extend_from_slice(suffix);
                }
                let sent = Instant::now();
                let ids = if batched {
                    body.push(b']');
                    gateway.accept_batch(&mut conns, &body).await?
                } else {
                    // One push: the body without the array's `[`.
                    vec![gateway.accept(&mut conns, &body[1..]).await?]
                };
                let ms = sent.elapsed().as_secs_f64() * 1e3;
                done.extend(ids.into_iter().map(|id| (id, ms)));
            }
            Ok::<_, String>(done)
        }));
    }
    let mut all = Vec::with_capacity(clients.len());
    for client in clients {
        all.push(client.await.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

fn token(base: &str, i: usize) -> String {
    let head = format!("{i:08x}");
    format!("{head}{}", base.get(head.len()..).unwrap_or(""))
}

/// The case's `Dnd` window moved 12 hours away from now (local time of
/// its `UtcOffset`), for when the example's own window covers the time
/// the benchmark runs (its recipient mutes pushes inside it). The rendered
/// payload does not depend on the window.
fn move_dnd(recipient: &mut Value) -> bool {
    let Some(dnd) = recipient.get_mut("Dnd").and_then(Value::as_object_mut) else {
        return false;
    };
    let offset = dnd.get("UtcOffset").and_then(Value::as_i64).unwrap_or(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let start = (now + offset + 12 * 3600).rem_euclid(86_400);
    let text = format!(
        "{:02}:{:02}:{:02}",
        start / 3600,
        start / 60 % 60,
        start % 60
    );
    dnd.insert("Start".into(), text.into());
    true
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(0.0)
}

async fn run(
    gateway: Arc<Gateway>,
    case: Value,
    payload: Value,
    mode: Mode,
) -> Result<Value, String> {
    let mut request = Request::from_case(&case)?;
    let base_token = request.recipient["Device"]["Token"]
        .as_str()
        .ok_or("the case has no Recipient.Device.Token")?
        .to_owned();

    // The gateway must render what `tidings render --raw` did.
    let mut moved = false;
    loop {
        let body = request.body(vec![request.single(&base_token)]).to_string();
        let (status, answer) = gateway.post("?dry_run=true", body.into_bytes()).await?;
        let result = &answer["Results"][0];
        if status != 200 {
            return Err(format!("dry run answered {status}: {answer}"));
        }
        if result["Decision"] == "push" {
            if result["Payload"] != payload {
                return Err(format!(
                    "the gateway renders another payload: {} (render --raw: {payload})",
                    result["Payload"]
                ));
            }
            break;
        }
        if result["Reason"] == "MutedGlobal" && !moved && move_dnd(&mut request.recipient) {
            eprintln!("note: the case's Dnd window covers now; moved 12 hours away for this run");
            moved = true;
            continue;
        }
        return Err(format!("the case is not pushed now: {result}"));
    }

    // Warm-up: the provider client, its connection and token.
    let warm = request.body(vec![request.single(&base_token)]).to_string();
    gateway
        .accept(&mut Conns(Vec::new()), warm.as_bytes())
        .await?;
    gateway.drained().await?;

    let cpu_start = gateway.cpu_seconds()?;
    let threads_start = gateway.thread_nanos();
    let own_start = tidings_benches::own_cpu_seconds();
    let started_ms = unix_ms();
    let (jobs, mut post_ms) = match mode {
        Mode::Single { count, concurrency } => {
            let template = request.single_template()?;
            let template = Arc::new((template.0, template.1, base_token.clone()));
            let mut jobs = Vec::with_capacity(count);
            let mut post_ms = Vec::with_capacity(count);
            for client in post_all(&gateway, template, count, 1, concurrency, false).await? {
                for (id, ms) in client {
                    jobs.push(id);
                    post_ms.push(ms);
                }
            }
            (jobs, post_ms)
        }
        Mode::Batch {
            count,
            size,
            concurrency,
        } => {
            let template = request.single_template()?;
            let template = Arc::new((template.0, template.1, base_token.clone()));
            let mut jobs = Vec::with_capacity(count);
            let mut post_ms = Vec::with_capacity(count.div_ceil(size));
            for client in post_all(&gateway, template, count, size, concurrency, true).await? {
                let mut last_ms = None;
                for (id, ms) in client {
                    jobs.push(id);
                    // One figure per batch request, not per element.
                    if last_ms != Some(ms) {
                        post_ms.push(ms);
                        last_ms = Some(ms);
                    }
                }
            }
            (jobs, post_ms)
        }
        Mode::Group { devices } => {
            let list = (0..devices)
                .map(|i| request.device(&token(&base_token, i + 1)))
                .collect();
            let mut recipient = request.recipient.clone();
            if let Some(r) = recipient.as_object_mut() {
                r.remove("Device");
                r.insert("Devices".into(), Value::Array(list));
            }
            let body = request.body(vec![recipient]).to_string().into_bytes();
            let mut conns = Conns(Vec::new());
            let sent = Instant::now();
            let id = gateway.accept(&mut conns, &body).await?;
            (vec![id], vec![sent.elapsed().as_secs_f64() * 1e3])
        }
    };
    gateway.drained().await?;
    let cpu: Vec<f64> = gateway
        .cpu_seconds()?
        .iter()
        .zip(&cpu_start)
        .map(|(end, start)| end - start)
        .collect();
    let threads = cpu_by_thread(&threads_start, &gateway.thread_nanos());
    let own_cpu = tidings_benches::own_cpu_seconds() - own_start;
    // For benches/profile.sh: what follows is not timed (and not profiled).
    eprintln!("gateway-bench: timed part done");

    // Every job read back (not timed): accept-to-delivered per device.
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..READERS.min(jobs.len()) {
        let (gateway, jobs, next) = (Arc::clone(&gateway), Arc::clone(&jobs), Arc::clone(&next));
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut last = 0u64;
            let mut pushes = 0usize;
            let mut states = std::collections::BTreeMap::<String, usize>::new();
            while let Some(id) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                let job = gateway.job(id).await?;
                let accepted = job["AcceptedAt"]
                    .as_u64()
                    .ok_or("a job without AcceptedAt")?;
                for device in job["Devices"].as_array().into_iter().flatten() {
                    pushes += 1;
                    let state = device["State"].as_str().unwrap_or("?");
                    *states.entry(state.to_owned()).or_default() += 1;
                    if let Some(at) = device["DeliveredAt"].as_u64() {
                        last = last.max(at);
                        latencies.push(at.saturating_sub(accepted) as f64);
                    }
                }
            }
            Ok::<_, String>((latencies, last, pushes, states))
        }));
    }
    let mut latencies = Vec::new();
    let mut last = 0u64;
    let mut pushes = 0usize;
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for reader in readers {
        let (l, at, n, s) = reader.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        last = last.max(at);
        pushes += n;
        for (state, n) in s {
            *states.entry(state).or_default() += n;
        }
    }
    let delivered = latencies.len();
    if delivered != pushes {
        return Err(format!(
            "only {delivered} of {pushes} devices delivered: {states:?}"
        ));
    }
    latencies.sort_by(f64::total_cmp);
    post_ms.sort_by(f64::total_cmp);
    let seconds = last.saturating_sub(started_ms) as f64 / 1e3;
    let requests = jobs.len();
    Ok(json!({
        "scenario": match mode {
            Mode::Single { .. } => "single",
            Mode::Group { .. } => "group",
            Mode::Batch { .. } => "batch",
        },
        "requests": requests,
        "pushes": pushes,
        "delivered": delivered,
        "seconds": seconds,
        "p50_ms": percentile(&latencies, 0.5),
        "p99_ms": percentile(&latencies, 0.99),
        "cpu_seconds": cpu.iter().sum::<f64>(),
        "cpu_by_process": cpu,
        "cpu_by_thread": threads,
        "post_p50_ms": percentile(&post_ms, 0.5),
        "post_p99_ms": percentile(&post_ms, 0.99),
        "driver_cpu_seconds": own_cpu,
    }))
}
