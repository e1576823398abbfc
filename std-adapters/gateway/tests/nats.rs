//! The gateway on the NATS JetStream queue, against a real `nats-server
//! -js` (started here with a temporary store) and the APNs stand-in: three
//! gateways sharing one queue, job state and feedback from any of them,
//! idempotency across gateways, retries and the dead letters, and NATS
//! lost and back while running.

#[path = "support/apns.rs"]
mod apns;
#[path = "support/bodies.rs"]
mod bodies;
#[path = "support/nats_server.rs"]
mod nats_server;
#[path = "support/openapi.rs"]
mod openapi;
#[path = "support/webhook.rs"]
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use nats_server::NatsServer;
use openapi::send;
use serde_json::{json, Value};
use tidings_gateway::Gateway;
use tidings_standin::apns::{ApnsStandin, ApnsStandinBuilder, Reply};
use tidings_std::clock::SystemClock;
use tidings_std::config::Config;

const TOPIC: &str = "com.example.chat";

struct Bed {
    nats: NatsServer,
    standin: ApnsStandin,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

async fn bed(standin: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let standin = apns::standin(standin, TOPIC, dir.path()).await;
    Bed {
        nats: NatsServer::start(),
        standin,
        dir,
        http: reqwest::Client::new(),
    }
}

impl Bed {
    fn config(&self, name: &str, queue: &str) -> Config {
        self.config_to(name, queue, &self.standin.url())
    }

    /// The config with APNs at `endpoint` rather than the stand-in.
    fn config_to(&self, name: &str, queue: &str, endpoint: &str) -> Config {
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data:?}\ndrain_secs = 2\n\
             [queue]\nkind = \"nats\"\nurl = {nats:?}\nack_wait_secs = 2\n{queue}\n\
             {apns}",
            data = self.dir.path().join(name),
            nats = self.nats.url(),
            apns = apns::table(endpoint, self.dir.path()),
        );
        Config::parse(&toml).unwrap()
    }

    async fn gateway(&self, name: &str, queue: &str) -> Gateway {
        Gateway::start(self.config(name, queue), Arc::new(SystemClock))
            .await
            .unwrap()
    }

    async fn post(&self, gateway: &Gateway, body: &Value) -> (u16, Value, Option<String>) {
        let answer = send(
            self.http
                .post(format!("http://{}/v1/push", gateway.addr()))
                .json(body),
        )
        .await;
        let retry_after = answer.header("retry-after").map(str::to_owned);
        (answer.status, answer.json(), retry_after)
    }

    async fn get(&self, gateway: &Gateway, path: &str) -> (u16, Value) {
        let answer = send(self.http.get(format!("http://{}{path}", gateway.addr()))).await;
        (answer.status, answer.json())
    }

    async fn metrics(&self, gateway: &Gateway) -> String {
        send(self.http.get(format!("http://{}/metrics", gateway.addr())))
            .await
            .text()
    }

    /// A counter or gauge of `/metrics` (0 when absent), by its line's
    /// name and labels, e.g. `tidings_sends_held_total{channel="apns"}`.
    async fn metric(&self, gateway: &Gateway, series: &str) -> f64 {
        self.metrics(gateway)
            .await
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// A client of the test's own on the server, to look at its streams.
    async fn client(&self) -> async_nats::Client {
        async_nats::ConnectOptions::with_user_and_password(
            "tidings".into(),
            nats_server::PASSWORD.into(),
        )
        .connect(self.nats.address())
        .await
        .unwrap()
    }

    /// Waits (bounded, real time: JetStream's redeliveries are) until no
    /// device of the job is in one of `pending`, asking `gateway`.
    async fn settled(&self, gateway: &Gateway, job: &str, pending: &[&str]) -> Value {
        for _ in 0..1500 {
            let (status, state) = self.get(gateway, &format!("/v1/jobs/{job}")).await;
            if status == 200
                && !state["Devices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| pending.contains(&d["State"].as_str().unwrap()))
            {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {job} did not settle");
    }

    /// Whether `/readyz` answers `status` within 10 s (real time: the
    /// client's reconnects are).
    async fn readyz_becomes(&self, gateway: &Gateway, status: u16) -> bool {
        for _ in 0..1000 {
            let now = send(self.http.get(format!("http://{}/readyz", gateway.addr())))
                .await
                .status;
            if now == status {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

fn body(tokens: &[String], extra: Value) -> Value {
    let devices: Vec<Value> = tokens
        .iter()
        .map(|t| json!({ "Channel": "apns", "Token": t, "State": "background" }))
        .collect();
    let recipients = json!([{ "Account": "team", "Devices": devices }]);
    let to = ("GroupId", "dev-team");
    let mut body = bodies::text_push(to, "Standup in 5", TOPIC, recipients, extra);
    body["Group"] = json!({ "Name": "Dev team", "Type": "Work" });
    body
}

fn states(job: &Value) -> Vec<&str> {
    job["Devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["State"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_share_the_work_the_states_and_the_feedback() {
    let bed = bed(|b| {
        b.reply_always(
            "dead0001",
            Reply::Unregistered {
                timestamp_ms: Some(1_700_000_000_000),
            },
        )
    })
    .await;
    let gateways = [
        bed.gateway("a", "").await,
        bed.gateway("b", "").await,
        bed.gateway("c", "").await,
    ];
    // 12 jobs of 25 devices, each posted to the next gateway.
    let mut jobs = Vec::new();
    for job in 0..12 {
        let tokens: Vec<String> = (0..25).map(|i| format!("{job:02x}{i:06x}")).collect();
        let (status, answer, _) = bed
            .post(&gateways[job % 3], &body(&tokens, json!({})))
            .await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["Devices"], 25);
        jobs.push(answer["JobId"].as_str().unwrap().to_owned());
    }
    // Each job's state, asked of a gateway that did not accept it.
    for (i, job) in jobs.iter().enumerate() {
        let state = bed
            .settled(&gateways[(i + 1) % 3], job, &["queued", "retrying"])
            .await;
        assert!(states(&state).iter().all(|s| *s == "delivered"), "{state}");
        assert_eq!(state["Devices"][3]["Path"], "Recipients[0].Devices[3]");
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 300, "each device once (no gateway died)");
    // Whichever gateway sent a device, it carried the device's own apns-id.
    assert!(accepted.iter().all(|p| p.apns_id_from_request));

    // An idempotency key: the same request through another gateway names
    // the first job and queues nothing.
    let tokens = vec!["1d000001".to_owned(), "1d000002".to_owned()];
    let keyed = body(&tokens, json!({ "IdempotencyKey": "order-42" }));
    let (status, first, _) = bed.post(&gateways[0], &keyed).await;
    assert_eq!(status, 202);
    let (status, again, _) = bed.post(&gateways[2], &keyed).await;
    assert_eq!(status, 202);
    assert_eq!(again["JobId"], first["JobId"]);
    let job = first["JobId"].as_str().unwrap();
    bed.settled(&gateways[1], job, &["queued", "retrying"])
        .await;
    assert_eq!(bed.standin.accepted().len(), 302);

    // A dead token: its feedback is read from any gateway.
    let (status, answer, _) = bed
        .post(&gateways[1], &body(&["dead0001".to_owned()], json!({})))
        .await;
    assert_eq!(status, 202);
    let job = answer["JobId"].as_str().unwrap();
    let state = bed
        .settled(&gateways[2], job, &["queued", "retrying"])
        .await;
    assert_eq!(states(&state), ["token_invalid"]);
    let (status, feed) = bed.get(&gateways[0], "/v1/feedback?after=0").await;
    assert_eq!(status, 200);
    let records = feed["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{feed}");
    assert_eq!(records[0]["Token"], "dead0001");
    assert_eq!(records[0]["Reason"], "Unregistered");
    assert_eq!(records[0]["InvalidSince"], 1_700_000_000_000u64);
    let next = feed["Next"].as_u64().unwrap();
    let (_, rest) = bed
        .get(&gateways[2], &format!("/v1/feedback?after={next}"))
        .await;
    assert!(rest["Records"].as_array().unwrap().is_empty());

    // An unknown job is a 404 from every gateway.
    let (status, _) = bed
        .get(
            &gateways[0],
            "/v1/jobs/00000000-0000-0000-0000-000000000000",
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = bed.get(&gateways[0], "/v1/jobs/not.a-job").await;
    assert_eq!(status, 404);
    // Recall works on NATS too: a message no gateway pushed is a 404, and
    // Tencent's callback for it is answered OK.
    let unknown = send(
        bed.http
            .post(format!("http://{}/v1/recall", gateways[0].addr()))
            .json(&json!({ "MessageKey": "k1" })),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["Error"].as_str().unwrap().contains("c2c:k1"));
    let callback = send(
        bed.http
            .post(format!(
                "http://{}/v1/tencent/callback?CallbackCommand=C2C.CallbackAfterMsgWithDraw",
                gateways[1].addr()
            ))
            .json(&json!({ "MsgKey": "k1" })),
    )
    .await;
    assert_eq!(callback.status, 200);
    assert_eq!(callback.json()["ActionStatus"], "OK");
    for gateway in gateways {
        gateway.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_never_succeeds_goes_to_the_dead_letters() {
    // 429 with Retry-After: 0 — a retry at once, every time.
    let bed = bed(|b| {
        b.reply_always(
            "5107a001",
            Reply::TooManyRequests {
                retry_after: Some(0),
            },
        )
    })
    .await;
    let gateway = bed.gateway("a", "max_deliver = 3").await;
    let (status, answer, _) = bed
        .post(
            &gateway,
            &body(&["5107a001".to_owned(), "600d0001".to_owned()], json!({})),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap();
    let state = bed.settled(&gateway, job, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["dead_lettered", "delivered"]);
    assert_eq!(state["Devices"][0]["Reason"], "TooManyRequests");
    assert_eq!(state["Devices"][0]["Attempts"], 3);
    let sent = bed
        .standin
        .accepted()
        .iter()
        .filter(|p| p.token == "5107a001")
        .count();
    // The stand-in records what it accepted; the 429s are counted apart.
    assert_eq!(sent, 0);
    assert_eq!(
        bed.standin.stats().answered(429),
        3,
        "three deliveries, then none"
    );

    // The dead letter is on its stream, with the last reason.
    let client = bed.client().await;
    let js = async_nats::jetstream::new(client);
    let mut dead = js.get_stream("TIDINGS_DEAD").await.unwrap();
    assert_eq!(dead.info().await.unwrap().state.messages, 1);
    let letter = dead.get_raw_message(1).await.unwrap();
    let letter: Value = serde_json::from_slice(&letter.payload).unwrap();
    assert_eq!(letter["JobId"], job);
    assert_eq!(letter["Reason"], "TooManyRequests");
    assert_eq!(letter["Deliveries"], 3);
    assert_eq!(letter["Attempts"], 3);
    // A job of that one device: its job message is its only message.
    let (status, answer, _) = bed
        .post(&gateway, &body(&["5107a001".to_owned()], json!({})))
        .await;
    assert_eq!(status, 202, "{answer}");
    let single = answer["JobId"].as_str().unwrap();
    let state = bed.settled(&gateway, single, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["dead_lettered"]);
    assert_eq!(bed.standin.stats().answered(429), 6);
    assert_eq!(dead.get_info().await.unwrap().state.messages, 2);
    let metrics = bed.metrics(&gateway).await;
    assert!(
        metrics.contains("outcome=\"dead_lettered\""),
        "dead letters are counted: {metrics}"
    );
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_lost_while_running_answers_503_then_recovers_losing_nothing() {
    // Every send takes a while, so some are in flight when NATS dies.
    let mut bed = bed(|b| b.delay(Duration::from_millis(300))).await;
    let gateway = bed.gateway("a", "").await;
    let tokens: Vec<String> = (0..40).map(|i| format!("ab{i:06x}")).collect();
    let (status, answer, _) = bed.post(&gateway, &body(&tokens, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap().to_owned();

    bed.nats.kill();
    assert!(
        bed.readyz_becomes(&gateway, 503).await,
        "/readyz fails while NATS is down"
    );
    let (status, answer, retry_after) = bed
        .post(&gateway, &body(&["ab999999".to_owned()], json!({})))
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(
        answer["Error"].as_str().unwrap().contains("NATS"),
        "{answer}"
    );

    // Back on the same store: the gateway reconnects by itself, and the job
    // accepted before is delivered whole.
    bed.nats.restart();
    assert!(
        bed.readyz_becomes(&gateway, 200).await,
        "/readyz recovers once NATS is back"
    );
    let state = bed.settled(&gateway, &job, &["queued", "retrying"]).await;
    assert!(states(&state).iter().all(|s| *s == "delivered"), "{state}");
    let delivered: std::collections::HashSet<String> = bed
        .standin
        .accepted()
        .into_iter()
        .map(|p| p.token)
        .collect();
    for token in &tokens {
        assert!(
            delivered.contains(token),
            "{token} accepted but not delivered"
        );
    }
    let (status, _, _) = bed
        .post(&gateway, &body(&["ab999999".to_owned()], json!({})))
        .await;
    assert_eq!(status, 202);
    gateway.shutdown().await;
}

/// A crashed `nats-server` can come back without the acks it took just
/// before it died, so messages already handled return, counted as first
/// deliveries. Here the restarted server holds exact copies of a fan-out's
/// job and device messages and of a one-device job, as it would after
/// losing their acks: a gateway sends none of those devices again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_back_after_a_server_restart_are_not_sent_twice() {
    let mut bed = bed(|b| b).await;
    let client = bed.client().await;
    // What the gateway publishes on the work stream, seen as it goes by.
    let mut published = client.subscribe("tidings.*").await.unwrap();
    let gateway = bed.gateway("a", "").await;
    let group: Vec<String> = (0..3).map(|i| format!("cd{i:06x}")).collect();
    let single = vec!["cd100000".to_owned()];
    for tokens in [&group, &single] {
        let (status, answer, _) = bed.post(&gateway, &body(tokens, json!({}))).await;
        assert_eq!(status, 202, "{answer}");
        let job = answer["JobId"].as_str().unwrap();
        let state = bed.settled(&gateway, job, &["queued", "retrying"]).await;
        assert!(states(&state).iter().all(|s| *s == "delivered"), "{state}");
    }
    gateway.shutdown().await;
    // Two job messages and the fan-out's three device messages.
    let mut copies = Vec::new();
    while copies.len() < 5 {
        let message = tokio::time::timeout(Duration::from_secs(5), published.next())
            .await
            .expect("the work messages were seen")
            .unwrap();
        copies.push((message.subject, message.payload));
    }
    assert_eq!(
        copies
            .iter()
            .filter(|(s, _)| s.as_str() == "tidings.device")
            .count(),
        3
    );

    // Restarted (its duplicate window empty, as after a crash), holding the
    // messages again.
    bed.nats.restart();
    let js = async_nats::jetstream::new(client);
    for (subject, payload) in copies {
        js.publish(subject, payload).await.unwrap().await.unwrap();
    }
    let gateway = bed.gateway("b", "").await;
    let mut drained = false;
    for _ in 0..500 {
        let stream = js.get_stream("TIDINGS").await.unwrap();
        if stream.cached_info().state.messages == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(drained, "the returned messages were handled");
    gateway.shutdown().await;
    let mut sends = std::collections::HashMap::<String, usize>::new();
    for push in bed.standin.accepted() {
        *sends.entry(push.token).or_default() += 1;
    }
    for token in group.iter().chain(&single) {
        assert_eq!(sends.get(token), Some(&1), "{token} sent once");
    }
}

#[tokio::test]
async fn nats_unreachable_at_start_is_a_clear_error_without_the_password() {
    let bed = bed(|b| b).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = {:?}\n[queue]\nkind = \"nats\"\nurl = \"nats://alice:pa55word@127.0.0.1:{port}\"\n",
        bed.dir.path().join("x")
    );
    let error = Gateway::start(Config::parse(&toml).unwrap(), Arc::new(SystemClock))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("127.0.0.1"), "names the server: {error}");
    assert!(!error.contains("pa55word"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_is_shared_each_record_posted_once_despite_a_refusal() {
    // A webhook that refuses its first POST, then takes the rest.
    let webhook = webhook::Webhook::start().await;
    let hook_url = webhook.url.clone();

    let dead: Vec<String> = (1..=3).map(|i| format!("dead000{i}")).collect();
    let bed = bed(|mut b| {
        for token in &dead {
            b = b.reply_always(token, Reply::BadDeviceToken);
        }
        b
    })
    .await;
    let feedback = format!("[feedback]\nwebhook_url = {hook_url:?}\nbatch = 1\n");
    // Two gateways post the same feed: each record by one of them.
    let gateways = [
        bed.gateway("a", &feedback).await,
        bed.gateway("b", &feedback).await,
    ];
    let (status, answer, _) = bed.post(&gateways[0], &body(&dead, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap();
    let state = bed
        .settled(&gateways[1], job, &["queued", "retrying"])
        .await;
    assert!(
        states(&state).iter().all(|s| *s == "token_invalid"),
        "{state}"
    );
    // The refused record was posted again; nothing was posted twice.
    let got = webhook.records(3).await;
    let mut seqs: Vec<u64> = got.iter().map(|r| r["Seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [1, 2, 3], "{got:?}");
    assert!(webhook.calls() >= 4);
    assert!(got
        .iter()
        .all(|r| r["Reason"] == "BadDeviceToken" && r["JobId"] == job));
    for gateway in gateways {
        gateway.shutdown().await;
    }
}

/// `tidings_webhook_lag` on the NATS queue: the records its webhook has
/// not taken (here none: nothing listens at its address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_lag_counts_the_records_not_taken() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let dead: Vec<String> = (1..=3).map(|i| format!("dead000{i}")).collect();
    let bed = bed(|mut b| {
        for token in &dead {
            b = b.reply_always(token, Reply::BadDeviceToken);
        }
        b
    })
    .await;
    let feedback = format!("[feedback]\nwebhook_url = {hook_url:?}\nbatch = 10\n");
    let gateway = bed.gateway("a", &feedback).await;
    let (status, answer, _) = bed.post(&gateway, &body(&dead, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap();
    bed.settled(&gateway, job, &["queued", "retrying"]).await;
    let mut lag = 0.0;
    for _ in 0..1500 {
        lag = bed.metric(&gateway, "tidings_webhook_lag").await;
        if lag == 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lag, 3.0);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_consumer_takes_max_ack_pending_from_the_config() {
    let bed = bed(|b| b).await;
    let js = async_nats::jetstream::new(bed.client().await);
    let max_ack_pending = || async {
        js.get_stream("TIDINGS")
            .await
            .unwrap()
            .consumer_info("tidings")
            .await
            .unwrap()
            .config
            .max_ack_pending
    };
    let gateway = bed.gateway("a", "").await;
    assert_eq!(max_ack_pending().await, 100_000, "the default");
    gateway.shutdown().await;
    // The existing consumer is updated at the next start.
    let gateway = bed.gateway("b", "max_ack_pending = 200").await;
    assert_eq!(max_ack_pending().await, 200);
    gateway.shutdown().await;
    let error = Gateway::start(
        bed.config("c", "max_ack_pending = 0"),
        Arc::new(SystemClock),
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(error, "queue.max_ack_pending: must be at least 1");
}

/// Devices waiting minutes for their next send (a provider's 429 with
/// `Retry-After: 300`) are parked on the retry stream, not held as delayed
/// naks: twice as many of them as the shared consumer's `max_ack_pending`
/// do not keep new devices waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_waiting_a_long_retry_leave_the_consumer_to_new_ones() {
    let slow: Vec<String> = (0..400).map(|i| format!("5a{i:06x}")).collect();
    let bed = bed(|mut b| {
        for token in &slow {
            b = b.reply_always(
                token,
                Reply::TooManyRequests {
                    retry_after: Some(300),
                },
            );
        }
        b
    })
    .await;
    let gateway = bed.gateway("a", "max_ack_pending = 200").await;
    let (status, answer, _) = bed.post(&gateway, &body(&slow, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap().to_owned();
    let state = bed.settled(&gateway, &job, &["queued"]).await;
    assert!(states(&state).iter().all(|s| *s == "retrying"), "{state}");
    assert_eq!(bed.standin.stats().answered(429), 400);
    let js = async_nats::jetstream::new(bed.client().await);
    // Parked: on the retry stream, pending on its own consumer only.
    let mut parked = false;
    for _ in 0..500 {
        let retry = js.get_stream("TIDINGS_RETRY").await.unwrap();
        if retry.cached_info().state.messages == 400 {
            parked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(parked, "the 400 waiting devices are parked");
    let retry_consumer = js
        .get_stream("TIDINGS_RETRY")
        .await
        .unwrap()
        .consumer_info("tidings_retry")
        .await
        .unwrap();
    assert_eq!(retry_consumer.config.max_ack_pending, -1);
    let shared = js
        .get_stream("TIDINGS")
        .await
        .unwrap()
        .consumer_info("tidings")
        .await
        .unwrap();
    assert_eq!(shared.config.max_ack_pending, 200);
    assert_eq!(shared.num_ack_pending, 0, "{shared:?}");

    // Ten new devices (answered at once) are all delivered.
    let fresh: Vec<String> = (0..10).map(|i| format!("f0{i:06x}")).collect();
    let started = std::time::Instant::now();
    let (status, answer, _) = bed.post(&gateway, &body(&fresh, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap().to_owned();
    let mut delivered = false;
    while started.elapsed() < Duration::from_secs(20) {
        let (_, state) = bed.get(&gateway, &format!("/v1/jobs/{job}")).await;
        if state["Devices"]
            .as_array()
            .is_some_and(|d| d.iter().all(|d| d["State"] == "delivered"))
        {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(delivered, "the 10 new devices were delivered within 20 s");
    eprintln!(
        "10 new devices delivered {:?} after their POST, 400 parked",
        started.elapsed()
    );
    gateway.shutdown().await;
}

/// A channel that is down holds its devices (one probe at a time), and a
/// held device is handed back without a send, many times over: only real
/// sends count toward `max_deliver`, so no device is dead-lettered before
/// it was really sent `max_deliver` times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_held_by_a_down_channel_are_not_dead_lettered_before_their_real_attempts() {
    let bed = bed(|b| b).await;
    // APNs unreachable: every connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gateway = Gateway::start(
        bed.config_to(
            "a",
            "max_deliver = 2",
            &format!("https://127.0.0.1:{closed}"),
        ),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let tokens: Vec<String> = (0..8).map(|i| format!("d0{i:06x}")).collect();
    let (status, answer, _) = bed.post(&gateway, &body(&tokens, json!({}))).await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap().to_owned();
    // Until the devices were held more than max_deliver times each on
    // average, so at least one was handed back more than max_deliver
    // times without a send (or until none is left to hold).
    let held = r#"tidings_sends_held_total{channel="apns"}"#;
    let started = std::time::Instant::now();
    while bed.metric(&gateway, held).await <= 8.0 * 2.0 {
        let (_, state) = bed.get(&gateway, &format!("/v1/jobs/{job}")).await;
        if states(&state).iter().all(|s| *s == "dead_lettered") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the down channel held its devices"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, state) = bed.get(&gateway, &format!("/v1/jobs/{job}")).await;
    // Read after the states: every send behind them is counted.
    let sends = bed
        .metric(
            &gateway,
            r#"tidings_pushes_total{channel="apns",outcome="retry"}"#,
        )
        .await;
    let devices = state["Devices"].as_array().unwrap();
    let mut dead = 0.0;
    for device in devices {
        let attempts = device["Attempts"].as_u64().unwrap();
        match device["State"].as_str().unwrap() {
            "dead_lettered" => {
                dead += 1.0;
                assert_eq!(attempts, 2, "dead-lettered after two real sends: {device}");
                assert_eq!(device["Reason"], "Unreachable", "{device}");
            }
            "paused" | "retrying" | "queued" => assert!(attempts < 2, "{device}"),
            other => panic!("{other}: {device}"),
        }
    }
    // Each dead letter cost two real sends (the rest were probes of
    // devices still waiting).
    assert!(
        dead * 2.0 <= sends,
        "{dead} dead letters, {sends} sends: {state}"
    );
    eprintln!(
        "held {} times, {sends} real sends, {dead} of 8 dead-lettered after {:?}",
        bed.metric(&gateway, held).await,
        started.elapsed()
    );
    gateway.shutdown().await;
}

/// A device parked for its provider's `Retry-After` (6 s, over the 5 s a
/// nak may wait) comes back when due and is sent again: one of a fan-out
/// and a one-device job (whose job message was its device message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_device_is_sent_again_when_due() {
    let later = Reply::TooManyRequests {
        retry_after: Some(6),
    };
    let bed = bed(|b| {
        b.reply_next("9a000001", 1, later.clone())
            .reply_next("9a000003", 1, later)
    })
    .await;
    let gateway = bed.gateway("a", "").await;
    let started = std::time::Instant::now();
    let mut jobs = Vec::new();
    for tokens in [
        vec!["9a000001".to_owned(), "9a000002".to_owned()],
        vec!["9a000003".to_owned()],
    ] {
        let (status, answer, _) = bed.post(&gateway, &body(&tokens, json!({}))).await;
        assert_eq!(status, 202, "{answer}");
        jobs.push(answer["JobId"].as_str().unwrap().to_owned());
    }
    let js = async_nats::jetstream::new(bed.client().await);
    let mut seen_parked = 0;
    for _ in 0..250 {
        let retry = js.get_stream("TIDINGS_RETRY").await.unwrap();
        seen_parked = retry.cached_info().state.messages;
        if seen_parked == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen_parked, 2, "both waiting devices are parked");
    for job in &jobs {
        let state = bed.settled(&gateway, job, &["queued", "retrying"]).await;
        assert!(states(&state).iter().all(|s| *s == "delivered"), "{state}");
        let first = &state["Devices"][0];
        assert_eq!(first["Attempts"], 2, "{state}");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "not sent early"
    );
    let mut sends = std::collections::HashMap::<String, usize>::new();
    for push in bed.standin.accepted() {
        *sends.entry(push.token).or_default() += 1;
    }
    assert_eq!(sends.len(), 3);
    assert!(sends.values().all(|n| *n == 1), "{sends:?}");
    let retry = js.get_stream("TIDINGS_RETRY").await.unwrap();
    assert_eq!(
        retry.cached_info().state.messages,
        0,
        "taken off the retry stream"
    );
    gateway.shutdown().await;
}

/// An invalid token's feedback is recorded before the device's final
/// state. While the feedback stream cannot take it, the device is not
/// final (sent again, its attempts counted); once the stream is back, the
/// record is published, then the state written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_recorded_before_the_final_state_and_retried_until_it_is() {
    let bed = bed(|b| {
        b.reply_always(
            "dead00f1",
            Reply::Unregistered {
                timestamp_ms: Some(1_700_000_000_000),
            },
        )
    })
    .await;
    let gateway = bed.gateway("a", "max_deliver = 100").await;
    let client = bed.client().await;
    let js = async_nats::jetstream::new(client.clone());
    // The feedback stream is gone (an operator's mistake, a lost node).
    let config = js
        .get_stream("TIDINGS_FEEDBACK")
        .await
        .unwrap()
        .cached_info()
        .config
        .clone();
    js.delete_stream("TIDINGS_FEEDBACK").await.unwrap();
    let (status, answer, _) = bed
        .post(&gateway, &body(&["dead00f1".to_owned()], json!({})))
        .await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    while bed.standin.stats().answered(410) < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "sent again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The stand-in counts an answer before the gateway writes what came
    // of it: the third attempt's state is read once it is written.
    let state = loop {
        let (_, state) = bed.get(&gateway, &format!("/v1/jobs/{job}")).await;
        if state["Devices"][0]["Attempts"].as_u64().unwrap_or(0) >= 3 {
            break state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "attempts counted: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(states(&state), ["retrying"], "not final: {state}");
    assert_eq!(state["Devices"][0]["Reason"], "FeedbackNotRecorded");

    // Everything published on the server from now on, in order (not
    // before: a subscriber would answer the feedback publishes).
    let mut seen = client.subscribe(">").await.unwrap();
    client.flush().await.unwrap();
    js.create_stream(config).await.unwrap();
    let state = bed.settled(&gateway, &job, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["token_invalid"], "{state}");
    let (_, feed) = bed.get(&gateway, "/v1/feedback?after=0").await;
    let records = feed["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{feed}");
    assert_eq!(records[0]["Token"], "dead00f1");
    assert_eq!(records[0]["JobId"], job.as_str());
    // The record went by before the final state.
    let final_state = format!("$KV.TIDINGS_JOBS.{job}.0");
    let mut feedback_first = false;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), seen.next())
            .await
            .expect("the final state was seen")
            .unwrap();
        if message.subject.as_str() == "tidings.feedback" {
            feedback_first = true;
        }
        if message.subject.as_str() == final_state
            && String::from_utf8_lossy(&message.payload).contains("TokenInvalid")
        {
            break;
        }
    }
    assert!(feedback_first, "feedback published before the final state");
    gateway.shutdown().await;
}

/// A job larger than the server's `max_payload` as queued (a relay's wire
/// job travels as JSON, its bytes as numbers) is refused with a 413
/// naming the limit, before its idempotency key is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_the_servers_max_payload_is_a_413_naming_the_limit() {
    let mut bed = bed(|b| b).await;
    bed.nats = NatsServer::start_with_max_payload("32KB");
    let gateway = bed.gateway("a", "").await;
    let job = bodies::wire_job("0b000001", &"x".repeat(9_000), TOPIC);
    // Under the body limit (max_payload less 16 KiB).
    assert!(job.len() < 16 * 1024, "{}", job.len());
    let answer = send(
        bed.http
            .post(format!("http://{}/v1/push", gateway.addr()))
            .header("content-type", tidings_gateway::job::WIRE_CONTENT_TYPE)
            .body(job),
    )
    .await;
    assert_eq!(answer.status, 413);
    let error = answer.json();
    let error = error["Error"].as_str().unwrap();
    assert!(
        error.contains("over the NATS server's max_payload of 32768 bytes"),
        "{error}"
    );
    // The server restarted with a smaller limit while the gateway ran (its
    // body limit still the first server's): a JSON request with an
    // idempotency key, under the body limit but over the new max_payload,
    // is a 413 naming it, and its key is not taken.
    bed.nats.set_max_payload("8KB");
    bed.nats.restart();
    let big = body(
        &["0b000002".to_owned()],
        json!({ "IdempotencyKey": "big-1", "Padding": "x".repeat(10_000) }),
    );
    // 503 until the gateway is on the new server.
    let mut answered = bed.post(&gateway, &big).await;
    for _ in 0..200 {
        if answered.0 != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        answered = bed.post(&gateway, &big).await;
    }
    let (status, answer, _) = answered;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["Error"]
            .as_str()
            .unwrap()
            .contains("over the NATS server's max_payload of 8192 bytes"),
        "{answer}"
    );
    let js = async_nats::jetstream::new(bed.client().await);
    let mut keys = js.get_stream("KV_TIDINGS_KEYS").await.unwrap();
    assert_eq!(keys.info().await.unwrap().state.messages, 0);
    // What fits is queued and sent.
    let (status, answer, _) = bed
        .post(&gateway, &body(&["0b000003".to_owned()], json!({})))
        .await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["JobId"].as_str().unwrap();
    let state = bed.settled(&gateway, job, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["delivered"]);
    let mut work = js.get_stream("TIDINGS").await.unwrap();
    assert_eq!(
        work.info().await.unwrap().state.last_sequence,
        1,
        "one job queued"
    );
    gateway.shutdown().await;
}

/// Work once: a job carries its devices as the API decided and rendered
/// them, and the fan-out sends those; a job whose rendered devices would be
/// over the server's `max_payload` carries its request alone, and the
/// fan-out prepares the same devices from it at the accepted time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_carries_its_rendered_devices_when_they_fit() {
    let mut bed = bed(|b| b).await;
    bed.nats = NatsServer::start_with_max_payload("32KB");
    let gateway = bed.gateway("a", "").await;
    let tokens = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:06x}")).collect()
    };
    let mut jobs = Vec::new();
    for devices in [tokens("0c", 2), tokens("0d", 80)] {
        let (status, answer, _) = bed.post(&gateway, &body(&devices, json!({}))).await;
        assert_eq!(status, 202, "{answer}");
        jobs.push(answer["JobId"].as_str().unwrap().to_owned());
    }
    for (job, count) in jobs.iter().zip([2, 80]) {
        let state = bed.settled(&gateway, job, &["queued", "retrying"]).await;
        assert_eq!(states(&state), vec!["delivered"; count]);
    }
    let js = async_nats::jetstream::new(bed.client().await);
    // The job as published is kept in the jobs bucket.
    let kept = js.get_key_value("TIDINGS_JOBS").await.unwrap();
    let mut carried = Vec::new();
    for job in &jobs {
        let envelope = kept.get(job).await.unwrap().unwrap();
        let envelope: Value = serde_json::from_slice(&envelope).unwrap();
        let devices = envelope["devices"].as_array().map(Vec::len);
        assert!(envelope["request"].is_object(), "the request stays beside");
        carried.push(devices);
    }
    assert_eq!(carried, [Some(2), None]);
    // Exactly what the stand-in received for the small job: the body
    // rendered at accept time.
    let bodies: Vec<Value> = bed
        .standin
        .accepted()
        .iter()
        .filter(|r| r.token.starts_with("0c"))
        .map(|r| r.payload().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[0]["aps"]["alert"]
            .to_string()
            .contains("Standup in 5"),
        "{}",
        bodies[0]
    );
    gateway.shutdown().await;
}

/// A job publish whose outcome is unknown (JetStream stored it but its
/// ack never came: the work stream set to `no_ack`) answers 503 and keeps
/// the idempotency key naming the job: the client's retry publishes the
/// same job again (same id, same `Nats-Msg-Id`), JetStream stores it once,
/// and it is sent once. (No gateway takes work meanwhile — the shared
/// consumer is deleted — so the retry finds no record and must publish.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_of_unknown_outcome_keeps_the_key_and_a_retry_queues_the_same_job() {
    let bed = bed(|b| b).await;
    let gateway = bed.gateway("a", "").await;
    let js = async_nats::jetstream::new(bed.client().await);
    let mut work = js.get_stream("TIDINGS").await.unwrap();
    work.delete_consumer("tidings").await.unwrap();
    let mut config = work.info().await.unwrap().config.clone();
    config.no_ack = true;
    js.update_stream(&config).await.unwrap();

    let keyed = body(
        &["1d0000aa".to_owned()],
        json!({ "IdempotencyKey": "order-77" }),
    );
    let (status, answer, retry_after) = bed.post(&gateway, &keyed).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(
        answer["Error"].as_str().unwrap().contains("unknown"),
        "{answer}"
    );
    // Stored all the same.
    assert_eq!(work.info().await.unwrap().state.messages, 1);
    let stored = work.get_raw_message(1).await.unwrap();
    let stored: Value = serde_json::from_slice(&stored.payload).unwrap();
    let first = stored["record"]["id"].as_str().unwrap().to_owned();

    config.no_ack = false;
    js.update_stream(&config).await.unwrap();
    let (status, answer, _) = bed.post(&gateway, &keyed).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["JobId"], first.as_str(), "the same job");
    assert_eq!(answer["Devices"], 1);
    assert_eq!(
        work.info().await.unwrap().state.messages,
        1,
        "published again, stored once"
    );

    // Work resumes (a gateway started now makes the consumer again): the
    // job is sent once, and the key answers it from then on.
    let other = bed.gateway("b", "").await;
    let state = bed.settled(&gateway, &first, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["delivered"]);
    let (status, again, _) = bed.post(&other, &keyed).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["JobId"], first.as_str());
    // Another body with the same key names the job in a 409.
    let (status, conflict, _) = bed
        .post(
            &other,
            &body(
                &["1d0000bb".to_owned()],
                json!({ "IdempotencyKey": "order-77" }),
            ),
        )
        .await;
    assert_eq!(status, 409, "{conflict}");
    assert!(
        conflict["Error"].as_str().unwrap().contains(&first),
        "{conflict}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = bed
        .standin
        .accepted()
        .iter()
        .filter(|p| p.token == "1d0000aa")
        .count();
    assert_eq!(sent, 1);
    gateway.shutdown().await;
    other.shutdown().await;
}
