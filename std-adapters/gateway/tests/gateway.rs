//! The gateway on loopback, against the APNs stand-in really started: the
//! API contract, every bad-input class, dry run, idempotency, retries on a
//! moved clock, expiry, feedback by cursor and by webhook, metrics.

#[path = "support/apns.rs"]
mod apns;
#[path = "support/bodies.rs"]
mod bodies;
#[path = "support/openapi.rs"]
mod openapi;
#[path = "support/webhook.rs"]
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use openapi::send;
use serde_json::{json, Value};
use tidings_gateway::Gateway;
use tidings_standin::apns::{ApnsStandin, ApnsStandinBuilder, Reply};
use tidings_std::clock::ManualClock;
use tidings_std::config::Config;

const TOPIC: &str = "com.example.chat";
const API_TOKEN: &str = "s3cret-api-token";

struct Bed {
    gateway: Option<Gateway>,
    standin: ApnsStandin,
    clock: ManualClock,
    http: reqwest::Client,
    base: String,
    _dir: tempfile::TempDir,
}

async fn bed(standin: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder, extra: &str) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let standin = apns::standin(standin, TOPIC, dir.path()).await;
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data:?}\napi_tokens = \"other-token, {API_TOKEN}\"\nmax_devices = 50\nmax_body_bytes = 65536\n{apns}{extra}",
        data = dir.path().join("data"),
        apns = apns::table(&standin.url(), dir.path()),
    );
    let config = Config::parse(&toml).unwrap();
    let clock = ManualClock::starting_now();
    let gateway = Gateway::start(config, Arc::new(clock.clone()))
        .await
        .unwrap();
    let base = format!("http://{}", gateway.addr());
    Bed {
        gateway: Some(gateway),
        standin,
        clock,
        http: reqwest::Client::new(),
        base,
        _dir: dir,
    }
}

fn device(token: &str, state: &str) -> Value {
    json!({ "Channel": "apns", "Token": token, "State": state })
}

fn push_body(recipients: Value, extra: Value) -> Value {
    let to = ("To_Account", "bob");
    bodies::text_push(to, "Lunch at 12?", TOPIC, recipients, extra)
}

impl Bed {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        openapi::post_json(&self.http, format!("{}{path}", self.base), API_TOKEN, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        openapi::get_json(&self.http, format!("{}{path}", self.base), API_TOKEN).await
    }

    async fn metrics(&self) -> String {
        send(self.http.get(format!("{}/metrics", self.base)))
            .await
            .text()
    }

    /// Waits (bounded) until every device of the job is in a final state
    /// or `pending` says to stop waiting; answers the job.
    async fn settled(&self, job: &str, pending: &[&str]) -> Value {
        for _ in 0..500 {
            let (_, state) = self.get(&format!("/v1/jobs/{job}")).await;
            let waiting = state["Devices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| pending.contains(&d["State"].as_str().unwrap()));
            if !waiting {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("job {job} did not settle");
    }

    async fn stop(mut self) {
        if let Some(g) = self.gateway.take() {
            g.shutdown().await;
        }
        self.standin.shutdown().await.unwrap();
    }
}

fn states(job: &Value) -> Vec<String> {
    job["Devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["State"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_push_fans_out_to_every_device_and_reports_each() {
    let bed = bed(|b| b, "").await;
    let body = push_body(
        json!([
            { "Account": "bob", "Device": device("aa01", "background") },
            { "Account": "cat", "Devices": [device("aa02", "foreground"), device("aa03", "background")] }
        ]),
        json!({}),
    );
    let (status, accepted) = bed.post("/v1/push", &body).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["Devices"], 3);
    let job = accepted["JobId"].as_str().unwrap();
    let state = bed.settled(job, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["delivered", "suppressed", "delivered"]);
    assert_eq!(state["Devices"][1]["Reason"], "Foreground");
    assert_eq!(state["Devices"][1]["Path"], "Recipients[1].Devices[0]");
    // The stand-in got exactly the bytes the dry run shows, once per device.
    let (status, dry) = bed.post("/v1/push?dry_run=true", &body).await;
    assert_eq!(status, 200);
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 2);
    for got in &accepted {
        assert_eq!(got.payload().unwrap(), dry["Results"][0]["Payload"]);
        let delivered = state["Devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["Token"] == got.token.as_str())
            .unwrap();
        assert_eq!(delivered["Id"], got.apns_id.as_str());
    }
    let metrics = bed.metrics().await;
    assert!(
        metrics.contains("tidings_pushes_total{channel=\"apns\",outcome=\"delivered\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tidings_suppressed_total{reason=\"Foreground\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tidings_http_requests_total{route=\"/v1/push\",status=\"202\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tidings_queue_depth 0"), "{metrics}");
    bed.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_whole_with_the_key_named() {
    let bed = bed(|b| b, "").await;
    let good = device("aa01", "background");
    let cases: Vec<(Value, &str)> = vec![
        (
            push_body(
                json!([{ "Device": { "Channel": "pager", "Token": "a", "State": "background" } }]),
                json!({}),
            ),
            "Recipients[0].Device.Channel",
        ),
        (
            push_body(
                json!([{ "Device": good.clone() }, { "Device": { "Channel": "apns", "Token": 12, "State": "background" } }]),
                json!({}),
            ),
            "Recipients[1].Device.Token",
        ),
        (push_body(json!("everyone"), json!({})), "Recipients"),
        (
            json!({ "Recipients": [{ "Device": good.clone() }] }),
            "Message",
        ),
        (
            push_body(
                json!([{ "Device": good.clone() }]),
                json!({ "IdempotencyKey": 5 }),
            ),
            "IdempotencyKey",
        ),
    ];
    for (body, key) in cases {
        let (status, answer) = bed.post("/v1/push", &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["Error"].as_str().unwrap();
        assert!(message.starts_with(&format!("{key}: ")), "{key}: {message}");
    }
    // Not JSON.
    let raw = send(
        bed.http
            .post(format!("{}/v1/push", bed.base))
            .bearer_auth(API_TOKEN)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(raw.status, 400);
    assert_eq!(
        raw.header("x-request-id").map(str::len),
        Some(36),
        "a request id is answered"
    );
    // More devices than the limit (50).
    let many: Vec<Value> = (0..51)
        .map(|i| json!({ "Device": device(&format!("ab{i:02}"), "background") }))
        .collect();
    let (status, answer) = bed
        .post("/v1/push", &push_body(Value::Array(many), json!({})))
        .await;
    assert_eq!(
        (status, answer["Error"].as_str().unwrap()),
        (400, "Recipients: more than 50 devices")
    );
    // Over the body limit (64 KiB here).
    let big = push_body(
        json!([{ "Device": good.clone() }]),
        json!({ "Padding": "x".repeat(70_000) }),
    );
    let (status, answer) = bed.post("/v1/push", &big).await;
    assert_eq!(status, 413);
    // The framework's refusal in the API's JSON shape, as every error.
    assert!(
        answer["Error"].as_str().unwrap().contains("length limit"),
        "{answer}"
    );
    let (status, answer) = bed.get("/v1/feedback?limit=many").await;
    assert_eq!(status, 400);
    assert!(
        answer["Error"].as_str().unwrap().contains("limit"),
        "{answer}"
    );
    // No token, a wrong token.
    for auth in [None, Some("wrong")] {
        let mut request = bed
            .http
            .post(format!("{}/v1/push", bed.base))
            .json(&push_body(json!([{ "Device": good.clone() }]), json!({})));
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let answer = send(request).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    // A route behind a token wants it whatever the method (HEAD is GET's);
    // with it, a wrong method is 405. An unknown path is 404 for anyone.
    // Each answer has its request id. (Sent around the contract's
    // checker: these operations are, rightly, not in the document.)
    for (method, path, token, expected) in [
        (reqwest::Method::GET, "/v1/push", None, 401),
        (reqwest::Method::HEAD, "/v1/jobs/x", None, 401),
        (reqwest::Method::GET, "/v1/push", Some(API_TOKEN), 405),
        (reqwest::Method::GET, "/v1/nothing", None, 404),
    ] {
        let mut request = bed
            .http
            .request(method.clone(), format!("{}{path}", bed.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), expected, "{method} {path}");
        assert!(
            answer.headers().contains_key("x-request-id"),
            "{method} {path}"
        );
    }
    // Nothing of it was queued or sent.
    assert!(bed.metrics().await.contains("tidings_queue_depth 0"));
    assert!(bed.standin.accepted().is_empty());
    bed.stop().await;
}

#[tokio::test]
async fn dry_run_queues_nothing_and_idempotency_keys_return_the_first_job() {
    let bed = bed(|b| b, "").await;
    let body = push_body(
        json!([{ "Device": device("aa01", "background") }]),
        json!({ "IdempotencyKey": "msg-7" }),
    );
    let (status, dry) = bed.post("/v1/push?dry_run=true", &body).await;
    assert_eq!(status, 200);
    assert_eq!(dry["Results"][0]["Decision"], "push");
    assert_eq!(dry["Results"][0]["Body"], "Ann:Lunch at 12?");
    // The vendor lints are part of the dry-run answer (none for this APNs push).
    assert_eq!(dry["Results"][0]["Lints"], json!([]));
    let (_, first) = bed.post("/v1/push", &body).await;
    let (status, second) = bed.post("/v1/push", &body).await;
    assert_eq!(status, 202);
    assert_eq!(first, second);
    // The same key with another body is a conflict naming the first job.
    let other = push_body(
        json!([{ "Device": device("aa02", "background") }]),
        json!({ "IdempotencyKey": "msg-7" }),
    );
    let (status, conflict) = bed.post("/v1/push", &other).await;
    assert_eq!(status, 409, "{conflict}");
    let error = conflict["Error"].as_str().unwrap();
    assert!(error.starts_with("IdempotencyKey:"), "{error}");
    assert!(error.contains(first["JobId"].as_str().unwrap()), "{error}");
    bed.settled(first["JobId"].as_str().unwrap(), &["queued", "retrying"])
        .await;
    assert_eq!(bed.standin.accepted().len(), 1);
    let (status, _) = bed.get("/v1/jobs/no-such-job").await;
    assert_eq!(status, 404);
    bed.stop().await;
}

#[tokio::test]
async fn retries_follow_the_clock_and_expiry_stops_them() {
    let bed = bed(
        |b| {
            b.reply_next("aa01", 1, Reply::ServiceUnavailable)
                .reply_always("aa02", Reply::ServiceUnavailable)
                .reply_always("aa03", Reply::PayloadTooLarge)
        },
        "",
    )
    .await;
    let body = push_body(
        json!([
            { "Device": device("aa01", "background") },
            { "Device": device("aa02", "background") },
            { "Device": device("aa03", "background") }
        ]),
        json!({}),
    );
    let (_, accepted) = bed.post("/v1/push", &body).await;
    let job = accepted["JobId"].as_str().unwrap();
    let state = bed.settled(job, &["queued"]).await;
    assert_eq!(states(&state), ["retrying", "retrying", "failed"]);
    assert_eq!(state["Devices"][0]["Reason"], "ServiceUnavailable");
    assert_eq!(state["Devices"][2]["Reason"], "PayloadTooLarge");
    // Nothing is due until the clock reaches the retry time (5 s + jitter).
    assert_eq!(bed.standin.stats().streams, 3);
    bed.clock.advance(Duration::from_secs(7));
    let mut last = Value::Null;
    for _ in 0..500 {
        let (_, s) = bed.get(&format!("/v1/jobs/{job}")).await;
        if s["Devices"][0]["State"] == "delivered"
            && s["Devices"][1]["Attempts"].as_u64() >= Some(2)
        {
            last = s;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(last["Devices"][0]["State"], "delivered", "{last}");
    assert_eq!(last["Devices"][1]["State"], "retrying");
    // Past the message's lifetime (600 s) the push is expired, not sent.
    let sent_before = bed.standin.stats().streams;
    bed.clock.advance(Duration::from_secs(700));
    let state = bed.settled(job, &["queued", "retrying"]).await;
    assert_eq!(states(&state), ["delivered", "expired", "failed"]);
    assert_eq!(bed.standin.stats().streams, sent_before);
    let metrics = bed.metrics().await;
    assert!(
        metrics.contains("tidings_pushes_total{channel=\"apns\",outcome=\"expired\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "tidings_provider_errors_total{channel=\"apns\",reason=\"ServiceUnavailable\"}"
        ),
        "{metrics}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn invalid_tokens_reach_the_cursor_feed_and_the_webhook_despite_its_failures() {
    // A webhook that refuses its first POST, then takes the rest.
    let webhook = webhook::Webhook::start().await;
    let hook_url = webhook.url.clone();

    let bed = bed(
        |b| {
            b.reply_always(
                "dead01",
                Reply::Unregistered {
                    timestamp_ms: Some(1_700_000_000_000),
                },
            )
            .reply_always("dead02", Reply::BadDeviceToken)
        },
        &format!(
            "[feedback]\nwebhook_url = {hook_url:?}\nbatch = 1\nsigning_secret = \"{HOOK_SECRET}\"\n"
        ),
    )
    .await;
    let body = push_body(
        json!([
            { "Device": device("dead01", "background") },
            { "Device": device("dead02", "background") },
            { "Device": device("aa03", "background") }
        ]),
        json!({}),
    );
    let (_, accepted) = bed.post("/v1/push", &body).await;
    let job = accepted["JobId"].as_str().unwrap();
    let state = bed.settled(job, &["queued", "retrying"]).await;
    assert_eq!(
        states(&state),
        ["token_invalid", "token_invalid", "delivered"]
    );

    let (_, page) = bed.get("/v1/feedback?after=0&limit=1").await;
    assert_eq!(page["Records"].as_array().unwrap().len(), 1);
    let next = page["Next"].as_u64().unwrap();
    let (_, rest) = bed.get(&format!("/v1/feedback?after={next}")).await;
    let mut tokens: Vec<String> = page["Records"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["Records"].as_array().unwrap())
        .map(|r| r["Token"].as_str().unwrap().to_owned())
        .collect();
    tokens.sort();
    assert_eq!(tokens, ["dead01", "dead02"]);
    let first = &page["Records"][0];
    assert_eq!(first["Channel"], "apns");
    assert_eq!(first["JobId"], job);

    // The webhook gets both, in feed order, after its refusal (retried after 1 s).
    let got = webhook.records(2).await;
    let seqs: Vec<u64> = got.iter().map(|r| r["Seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2]);
    assert!(webhook.calls() >= 3);
    let unregistered = got.iter().find(|r| r["Token"] == "dead01").unwrap();
    assert_eq!(unregistered["Reason"], "Unregistered");
    assert_eq!(unregistered["InvalidSince"], 1_700_000_000_000u64);
    assert!(got.iter().any(|r| r["Token"] == "dead02"));
    // Every POST is signed: t=<secs>,v1=<HMAC-SHA256(secret, "<t>.<body>")>.
    let signed = webhook.signed.lock().unwrap().clone();
    assert!(signed.len() >= 3);
    for (header, body) in signed {
        let header = header.expect("a Tidings-Signature header");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("tidings-signature", header.parse().unwrap());
        openapi::contract()
            .check_webhook("feedback", &headers, &body)
            .expect("a POST as openapi.json's webhooks.feedback says");
        let (t, v1) = header
            .strip_prefix("t=")
            .and_then(|h| h.split_once(",v1="))
            .unwrap();
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&body);
        mac.verify_slice(&hex::decode(v1).unwrap())
            .expect("the signature verifies");
        assert!(t.parse::<u64>().is_ok());
    }
    bed.stop().await;
}

const HOOK_SECRET: &str = "whsec-feedback-0123456789";

#[tokio::test]
async fn relay_jobs_in_the_wire_format_are_delivered_like_json_ones() {
    let bed = bed(|b| b, "").await;
    let post = |body: Vec<u8>| {
        send(
            bed.http
                .post(format!("{}/v1/push", bed.base))
                .bearer_auth(API_TOKEN)
                .header("content-type", tidings_gateway::job::WIRE_CONTENT_TYPE)
                .body(body),
        )
    };
    let answer = post(bodies::wire_job("ee01", "from the relay", TOPIC)).await;
    assert_eq!(answer.status, 202);
    let accepted = answer.json();
    assert_eq!(accepted["Devices"], 1);
    let state = bed
        .settled(accepted["JobId"].as_str().unwrap(), &["queued", "retrying"])
        .await;
    assert_eq!(states(&state), ["delivered"]);
    let got = bed.standin.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token, "ee01");
    assert_eq!(
        got[0].payload().unwrap()["aps"]["alert"],
        "Ann:from the relay"
    );

    // A truncated job and one of another version are refused with the reason.
    let job = bodies::wire_job("ee02", "from the relay", TOPIC);
    let answer = post(job[..job.len() - 3].to_vec()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["Error"], "job ends early");
    let mut other = job.clone();
    other[0] = 9;
    let error = post(other).await.json();
    assert_eq!(
        error["Error"],
        tidings_core::wire::WireError::Version(9).to_string()
    );
    assert!(error["Error"]
        .as_str()
        .unwrap()
        .starts_with("job version 9, expected"));
    assert_eq!(bed.standin.accepted().len(), 1);
    bed.stop().await;
}

#[tokio::test]
async fn a_key_file_that_cannot_be_read_pauses_the_channel_until_it_can() {
    let bed = bed(|b| b, "").await;
    let key_file = bed._dir.path().join("AuthKey.p8");
    let key = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let body = push_body(
        json!([
            { "Device": device("aa01", "background") },
            { "Device": device("aa02", "background") }
        ]),
        json!({}),
    );
    let (_, accepted) = bed.post("/v1/push", &body).await;
    let job = accepted["JobId"].as_str().unwrap();
    // Held, not failed: the operator's to fix, and no attempt spent.
    let state = bed.settled(job, &["queued"]).await;
    assert_eq!(states(&state), ["paused", "paused"], "{state}");
    for device in state["Devices"].as_array().unwrap() {
        assert!(device["Reason"].as_str().unwrap().contains("key_file"));
        assert_eq!(device["Attempts"], 0);
    }
    assert!(bed
        .metrics()
        .await
        .contains("tidings_channel_paused{channel=\"apns\"} 1"));

    // The file is back: the channel's next probes make the client and send.
    std::fs::write(&key_file, key).unwrap();
    let mut last = Value::Null;
    'probes: for _ in 0..20 {
        bed.clock.advance(Duration::from_secs(10));
        // The dispatcher looks at the clock at least every half second.
        for _ in 0..20 {
            let (status, s) = bed.get(&format!("/v1/jobs/{job}")).await;
            assert_eq!(status, 200, "{s}");
            let done = states(&s) == ["delivered", "delivered"];
            last = s;
            if done {
                break 'probes;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(states(&last), ["delivered", "delivered"], "{last}");
    assert!(bed
        .metrics()
        .await
        .contains("tidings_channel_paused{channel=\"apns\"} 0"));
    bed.stop().await;
}

#[tokio::test]
async fn a_batch_accepts_each_good_request_in_one_commit_and_answers_each_bad_one() {
    let bed = bed(|b| b, "").await;
    let one = |token: &str, key: &str| {
        push_body(
            json!([{ "Device": device(token, "background") }]),
            json!({ "IdempotencyKey": key }),
        )
    };
    let bad = json!({ "Recipients": [{ "Device": device("bb02", "background") }] });
    let batch = json!([one("bb01", "m-1"), bad, one("bb03", "m-3")]);

    // A dry run answers per element and queues nothing.
    let (status, dry) = bed.post("/v1/push/batch?dry_run=true", &batch).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["Results"][0]["Devices"], 1);
    assert_eq!(dry["Results"][0]["Results"][0]["Decision"], "push");
    assert_eq!(dry["Results"][1]["Status"], 400);

    let (status, answer) = bed.post("/v1/push/batch", &batch).await;
    assert_eq!(status, 202, "{answer}");
    let results = answer["Results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[1]["Status"], 400);
    assert_eq!(results[1]["Error"], "[1].Message: missing");
    for i in [0, 2] {
        assert_eq!(results[i]["Devices"], 1, "{answer}");
        let job = results[i]["JobId"].as_str().unwrap();
        let state = bed.settled(job, &["queued", "retrying"]).await;
        assert_eq!(states(&state), ["delivered"]);
    }
    assert_eq!(bed.standin.accepted().len(), 2);

    // Each element's key is its own: the same batch again answers the
    // same jobs; a key reused with another body is that element's 409.
    let again = json!([one("bb01", "m-1"), one("bb09", "m-3")]);
    let (status, repeated) = bed.post("/v1/push/batch", &again).await;
    assert_eq!(status, 202, "{repeated}");
    assert_eq!(repeated["Results"][0]["JobId"], results[0]["JobId"]);
    assert_eq!(repeated["Results"][1]["Status"], 409);

    // Not an array, or empty: the whole batch is a 400.
    for body in [json!({}), json!([])] {
        let (status, refused) = bed.post("/v1/push/batch", &body).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["Error"]
            .as_str()
            .unwrap()
            .starts_with("a batch is a JSON array of push requests"));
    }
    bed.stop().await;
}

/// Every metric the Grafana dashboard and the alert rules under `deploy/`
/// name is one `/metrics` serves (a renamed metric would leave a panel or
/// an alert silently empty).
#[tokio::test]
async fn the_dashboard_and_the_alert_rules_name_only_served_metrics() {
    let bed = bed(|b| b, "").await;
    let (_, accepted) = bed
        .post(
            "/v1/push",
            &push_body(
                json!([{ "Device": device("aa01", "background") }]),
                json!({}),
            ),
        )
        .await;
    bed.settled(accepted["JobId"].as_str().unwrap(), &["queued"])
        .await;
    let served: std::collections::BTreeSet<String> = bed
        .metrics()
        .await
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    // The registry's own list of families is what /metrics serves (each
    // once it has a sample).
    let families: std::collections::BTreeSet<String> = tidings_gateway::metrics::Metrics::default()
        .families()
        .iter()
        .cloned()
        .collect();
    assert!(served.contains("tidings_pushes"), "{served:?}");
    assert!(served.is_subset(&families), "{served:?} {families:?}");
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    for file in [
        "grafana/tidings-dashboard.json",
        "prometheus/tidings-alerts.yml",
    ] {
        let text = std::fs::read_to_string(deploy.join(file)).unwrap();
        let mut named = 0;
        for (at, _) in text.match_indices("tidings_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let family = ["_total", "_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            if family == "tidings_" {
                continue; // "tidings_retry"-like words are not metrics here
            }
            named += 1;
            assert!(
                families.contains(family),
                "{file} names {name}, which /metrics does not serve ({families:?})"
            );
        }
        assert!(named >= 5, "{file} names {named} metrics");
    }
    bed.stop().await;
}

/// `GET /openapi.json` serves the document kept in the repository, byte
/// for byte, as JSON and without a token.
#[tokio::test]
async fn the_openapi_document_is_served_as_kept() {
    let bed = bed(|b| b, "").await;
    let answer = send(bed.http.get(format!("{}/openapi.json", bed.base))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let kept = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    assert_eq!(answer.body, kept);
    bed.stop().await;
}

/// The document reads as OpenAPI 3.1 (an independent reader, `oas3`):
/// every reference resolves to an object of the right kind, every schema
/// is a valid JSON Schema 2020-12, every path parameter is declared, every
/// operation answers some 2xx, and every route behind the token documents
/// 401 and the listener's 408 and 429.
#[test]
fn the_openapi_document_is_well_formed() {
    let spec = oas3::from_json(tidings_gateway::api::OPENAPI).unwrap();
    assert_eq!(spec.validate_version().unwrap().minor, 1);
    let doc = openapi::contract().doc();
    let mut ids = std::collections::BTreeSet::new();
    let mut operations = 0;
    for (path, method, operation) in spec.operations() {
        let at = format!("{method} {path}");
        operations += 1;
        assert!(ids.insert(operation.operation_id.clone().unwrap()), "{at}");
        let parameters = operation.parameters(&spec).unwrap();
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            assert!(
                parameters.iter().any(|p| p.name == name
                    && p.location == oas3::spec::ParameterIn::Path
                    && p.required == Some(true)),
                "{at}: the path parameter {name}"
            );
        }
        operation.request_body(&spec).unwrap();
        let responses = operation.responses(&spec);
        assert!(responses.keys().any(|s| s.starts_with('2')), "{at}");
        for (status, response) in &responses {
            for (name, header) in &response.headers {
                header
                    .resolve(&spec)
                    .unwrap_or_else(|e| panic!("{at} {status} {name}: {e}"));
            }
            for (media, content) in &response.content {
                content
                    .schema(&spec)
                    .unwrap_or_else(|e| panic!("{at} {status} {media}: {e}"))
                    .unwrap_or_else(|| panic!("{at} {status} {media}: no schema"));
            }
        }
        let open =
            doc["paths"][&path][method.as_str().to_ascii_lowercase()]["security"] == json!([]);
        if !open {
            for status in ["401", "408", "429"] {
                assert!(responses.contains_key(status), "{at}: {status}");
            }
        }
    }
    assert_eq!(operations, tidings_gateway::api::routes().len());
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("components.schemas.{name}: {e}");
        }
    }
    // Every `$ref` in the document points at something in it.
    let mut refs = vec![doc];
    while let Some(value) = refs.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = target.strip_prefix('#').unwrap();
                    assert!(doc.pointer(pointer).is_some(), "{target}");
                }
                refs.extend(map.values());
            }
            serde_json::Value::Array(items) => refs.extend(items),
            _ => {}
        }
    }
}

/// The judge itself: what the document does not say fails, so the checks
/// every other test makes through [`send`] can fail.
#[test]
fn answers_the_document_does_not_describe_are_refused() {
    use reqwest::header::{HeaderMap, HeaderValue};
    let contract = openapi::contract();
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut map = HeaderMap::new();
        map.insert("x-request-id", HeaderValue::from_static("r-1"));
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    };
    let json = headers(&[("content-type", "application/json")]);
    let mut no_id = json.clone();
    no_id.remove("x-request-id");
    let job = r#"{"JobId":"j","AcceptedAt":1,"Devices":[{"State":"delivered","Id":"a","DeliveredAt":2,"Path":"Recipients[0]","Channel":"apns","Token":"aa","Attempts":1}]}"#;
    // The same answer with one thing changed: the base is described.
    contract
        .check_response("get", "/v1/jobs/j", 200, &json, job.as_bytes())
        .unwrap();
    let text = headers(&[("content-type", "text/plain")]);
    let cases: Vec<(&str, &str, u16, &HeaderMap, String, &str)> = vec![
        (
            "get",
            "/v1/jobs/j",
            409,
            &json,
            r#"{"Error":"x"}"#.into(),
            "status 409 is not documented",
        ),
        (
            "get",
            "/healthz",
            500,
            &json,
            r#"{"Error":"x"}"#.into(),
            "status 500 is not documented",
        ),
        (
            "get",
            "/v1/jobs",
            200,
            &json,
            job.into(),
            "not a documented path",
        ),
        (
            "delete",
            "/v1/jobs/j",
            200,
            &json,
            job.into(),
            "delete is not documented",
        ),
        (
            "get",
            "/v1/jobs/j",
            200,
            &json,
            job.replace(r#","Id":"a""#, ""),
            r#""Id" is a required property"#,
        ),
        (
            "get",
            "/v1/jobs/j",
            200,
            &json,
            job.replace("delivered", "lost"),
            r#""lost" is not one of"#,
        ),
        (
            "get",
            "/v1/jobs/j",
            200,
            &json,
            job.replace(r#""JobId""#, r#""Extra":1,"JobId""#),
            "'Extra' was unexpected",
        ),
        (
            "get",
            "/v1/jobs/j",
            200,
            &text,
            job.into(),
            "Content-Type text/plain is not one of",
        ),
        ("get", "/v1/jobs/j", 200, &json, "{".into(), "not JSON"),
        (
            "post",
            "/v1/push",
            503,
            &json,
            r#"{"Error":"full"}"#.into(),
            "Retry-After is missing",
        ),
        (
            "post",
            "/v1/push",
            401,
            &json,
            r#"{"Error":"no"}"#.into(),
            "WWW-Authenticate is missing",
        ),
        (
            "post",
            "/v1/push",
            202,
            &no_id,
            r#"{"JobId":"j","Devices":1}"#.into(),
            "X-Request-Id is missing",
        ),
        (
            "post",
            "/v1/push",
            202,
            &json,
            r#"{"JobId":"j"}"#.into(),
            r#""Devices" is a required property"#,
        ),
    ];
    for (method, path, status, headers, body, why) in cases {
        let refused = contract
            .check_response(method, path, status, headers, body.as_bytes())
            .expect_err(body.as_str());
        assert!(refused.contains(why), "{method} {path} {status}: {refused}");
    }
    // A webhook POST: a signature of another form, a record without its Seq.
    let record = r#"[{"Seq":1,"Channel":"apns","Token":"aa","Reason":"Unregistered","InvalidSince":null,"JobId":"j","At":2}]"#;
    let mut signed = HeaderMap::new();
    signed.insert("tidings-signature", HeaderValue::from_static("t=1,v1=00"));
    let unsigned = HeaderMap::new();
    contract
        .check_webhook("feedback", &unsigned, record.as_bytes())
        .unwrap();
    let refused = contract
        .check_webhook("feedback", &signed, record.as_bytes())
        .unwrap_err();
    assert!(refused.contains("Tidings-Signature"), "{refused}");
    let refused = contract
        .check_webhook(
            "feedback",
            &unsigned,
            record.replace(r#""Seq":1,"#, "").as_bytes(),
        )
        .unwrap_err();
    assert!(
        refused.contains(r#""Seq" is a required property"#),
        "{refused}"
    );
    // A request the gateway would not take is not the documented request.
    for body in [
        json!({ "Recipients": [{ "Device": device("aa01", "background") }] }),
        push_body(json!([]), json!({})),
        push_body(json!([{ "Device": device("aa01", "asleep") }]), json!({})),
        push_body(
            json!([{ "Device": device("aa01", "background"), "Devices": [device("aa02", "background")] }]),
            json!({}),
        ),
        push_body(
            json!([{ "Device": device("aa01", "background") }]),
            json!({ "IdempotencyKey": "" }),
        ),
    ] {
        contract
            .check_request("post", "/v1/push", body.to_string().as_bytes())
            .expect_err(&body.to_string());
    }
}

/// The request schemas are no stricter than the gateway: every case of
/// the conformance vectors, made a push request, that the gateway's own
/// reader takes (`job::prepare`, as `POST /v1/push?dry_run=true` reads)
/// is one the document's `PushRequest` takes. (The other way cannot hold
/// whole: a schema does not know token formats or the rules.)
#[test]
fn every_case_the_gateway_takes_the_document_takes_too() {
    let contract = openapi::contract();
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors");
    let (mut taken, mut refused) = (0, 0);
    for file in std::fs::read_dir(vectors).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
        for vector in vectors {
            let mut request = vector["Case"].clone();
            let Some(case) = request.as_object_mut() else {
                continue;
            };
            let recipient = case.remove("Recipient").unwrap_or(Value::Null);
            case.insert("Recipients".into(), json!([recipient]));
            let body = request.to_string();
            let app = tidings_std::ingest::AppDoc::default();
            if tidings_gateway::job::prepare(body.as_bytes(), 1_763_700_000, &app, 10, true).is_ok()
            {
                taken += 1;
                if let Err(why) = contract.check_request("post", "/v1/push", body.as_bytes()) {
                    panic!("{} ({}): {why}", vector["Name"], path.display());
                }
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        taken >= 200 && refused >= 10,
        "{taken} taken, {refused} refused"
    );
}
