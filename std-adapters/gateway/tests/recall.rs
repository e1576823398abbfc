//! Recall and edit through the gateway on loopback, against the APNs,
//! Xiaomi, Meizu and HarmonyOS stand-ins really started: a recall racing
//! the queue (a device still queued is never sent; one sent gets exactly
//! one silent replacement, or Xiaomi's or HarmonyOS's revoke), edits with the newest text, repeats
//! that do nothing, Tencent IM's callbacks as its docs give them — on the
//! local queue and on the NATS queue (a real `nats-server`), where a
//! recall through one gateway reaches a message another accepted.

#[path = "support/apns.rs"]
mod apns;
#[path = "support/bodies.rs"]
mod bodies;
#[path = "support/nats_server.rs"]
mod nats_server;
#[path = "support/openapi.rs"]
mod openapi;

use std::sync::Arc;
use std::time::Duration;

use nats_server::NatsServer;
use openapi::send;
use serde_json::{json, Value};
use tidings_gateway::Gateway;
use tidings_standin::apns::{ApnsStandin, ApnsStandinBuilder, PushType, Reply};
use tidings_standin::harmony::HarmonyStandin;
use tidings_standin::meizu::MeizuStandin;
use tidings_standin::xiaomi::XiaomiStandin;
use tidings_std::clock::{Clock as _, ManualClock};
use tidings_std::config::Config;

const TOPIC: &str = "com.example.chat";
const API_TOKEN: &str = "s3cret-api-token";
const CALLBACK_TOKEN: &str = "tencent-callback-token";
const SDK_APP_ID: &str = "1400000001";
const HARMONY_TOKEN: &str = "MAAALgE4G98BAAAAst_harmony_token_0001";

/// The queue a bed's gateways share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Local,
    Nats,
}

struct Bed {
    gateway: Option<Gateway>,
    /// The NATS queue's server (its gateways share it): stopped when the
    /// bed is dropped.
    _nats: Option<NatsServer>,
    config: String,
    apns: ApnsStandin,
    xiaomi: XiaomiStandin,
    meizu: MeizuStandin,
    harmony: HarmonyStandin,
    clock: ManualClock,
    http: reqwest::Client,
    base: String,
    _dir: tempfile::TempDir,
}

/// A gateway on `kind`'s queue sending to the stand-ins; `recall`: the
/// `[recall]` table's lines.
async fn bed_on(
    kind: Kind,
    apns: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder,
    recall: &str,
) -> Bed {
    let nats = (kind == Kind::Nats).then(NatsServer::start);
    let queue = nats.as_ref().map_or(String::new(), |n| {
        format!(
            "[queue]\nkind = \"nats\"\nurl = {:?}\nack_wait_secs = 5\n",
            n.url()
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let apns = apns::standin(apns, TOPIC, dir.path()).await;
    let xiaomi = XiaomiStandin::builder()
        .app_secret("xiaomi-secret")
        .package(TOPIC)
        .start()
        .await
        .unwrap();
    xiaomi.write_ca_pem(dir.path().join("xiaomi.pem")).unwrap();
    let meizu = MeizuStandin::builder()
        .credentials("100999", "meizu-secret")
        .start()
        .await
        .unwrap();
    meizu.write_ca_pem(dir.path().join("meizu.pem")).unwrap();
    let harmony = HarmonyStandin::builder().start().await.unwrap();
    harmony
        .write_ca_pem(dir.path().join("harmony.pem"))
        .unwrap();
    let key_file = dir.path().join("agconnect-services.json");
    std::fs::write(&key_file, harmony.account().key_file_json()).unwrap();
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data:?}\ndrain_secs = 2\napi_tokens = [{API_TOKEN:?}]\n\
         {apns}\
         [xiaomi]\nendpoint = {xm:?}\nca_file = {xm_ca:?}\napp_secret = \"xiaomi-secret\"\n\
         [meizu]\nendpoint = {mz:?}\nca_file = {mz_ca:?}\napp_id = \"100999\"\napp_secret = \"meizu-secret\"\n\
         [harmony]\nendpoint = {hm:?}\nca_file = {hm_ca:?}\nservice_account_file = {key_file:?}\nclient_id = {client_id:?}\n\
         [recall]\n{recall}\n{queue}",
        data = dir.path().join("data"),
        apns = apns::table(&apns.url(), dir.path()),
        xm = xiaomi.url(),
        xm_ca = dir.path().join("xiaomi.pem"),
        mz = meizu.url(),
        mz_ca = dir.path().join("meizu.pem"),
        hm = harmony.url(),
        hm_ca = dir.path().join("harmony.pem"),
        client_id = harmony.client_id(),
    );
    let config = Config::parse(&toml).unwrap();
    let clock = ManualClock::starting_now();
    let gateway = Gateway::start(config, Arc::new(clock.clone()))
        .await
        .unwrap();
    let base = format!("http://{}", gateway.addr());
    Bed {
        gateway: Some(gateway),
        _nats: nats,
        config: toml,
        apns,
        xiaomi,
        meizu,
        harmony,
        clock,
        http: reqwest::Client::new(),
        base,
        _dir: dir,
    }
}

fn device(channel: &str, token: &str) -> Value {
    json!({ "Channel": channel, "Token": token, "State": "background" })
}

/// "Lunch at 12?" from Ann to Bob's devices: a C2C message with `MsgKey`,
/// or a group message with `MsgSeq` when `group` names the group.
fn message(key: Value, group: Option<&str>, devices: Value) -> Value {
    let to = match group {
        Some(g) => ("GroupId", g),
        None => ("To_Account", "bob"),
    };
    let mut body = bodies::text_push(
        to,
        "Lunch at 12?",
        TOPIC,
        json!([{ "Account": "bob", "Devices": devices }]),
        json!({}),
    );
    body["App"]["PackageName"] = TOPIC.into();
    body["Message"]["OfflinePushInfo"] = json!({ "AndroidInfo": { "HarmonyCategory": "IM" } });
    if group.is_some() {
        body["Group"] = json!({ "Name": "Lunch", "Type": "Work" });
    }
    if let (Value::Object(m), Value::Object(k)) = (&mut body["Message"], key) {
        m.extend(k);
    }
    body
}

impl Bed {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_at(&self.base, path, body).await
    }

    /// A POST to the gateway at `base`.
    async fn post_at(&self, base: &str, path: &str, body: &Value) -> (u16, Value) {
        openapi::post_json(&self.http, format!("{base}{path}"), API_TOKEN, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        openapi::get_json(&self.http, format!("{}{path}", self.base), API_TOKEN).await
    }

    /// A callback as Tencent posts it: its query string, then `auth`.
    async fn callback(&self, command: &str, auth: &str, body: &str) -> (u16, Value) {
        let url = format!(
            "{}/v1/tencent/callback?SdkAppid={SDK_APP_ID}&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI{auth}",
            self.base
        );
        let answer = send(
            self.http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await;
        (answer.status, answer.json())
    }

    /// Tencent's callback authentication at the gateway's time.
    fn signed(&self, token: &str) -> String {
        let now = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let sign = tidings_gateway::recall::callback_sign(token, &now);
        format!("&RequestTime={now}&Sign={sign}")
    }

    /// Waits (bounded) until no device of the job is queued; answers it.
    async fn settled(&self, job: &str) -> Value {
        let state = || async {
            let (_, state) = self.get(&format!("/v1/jobs/{job}")).await;
            (!states(&state).iter().any(|s| s == "queued")).then_some(state)
        };
        eventually(state)
            .await
            .unwrap_or_else(|| panic!("job {job} did not settle"))
    }

    /// Waits (bounded) until the APNs stand-in took `count` pushes to
    /// `token`; answers what it took.
    async fn apns_pushes(&self, token: &str, count: usize) -> Vec<(Option<String>, Value)> {
        let taken = || async {
            let pushes = self.apns_to(token);
            (pushes.len() >= count).then_some(pushes)
        };
        eventually(taken)
            .await
            .unwrap_or_else(|| self.apns_to(token))
    }

    async fn push(&self, body: &Value) -> Value {
        let (status, accepted) = self.post("/v1/push", body).await;
        assert_eq!(status, 202, "{accepted}");
        self.settled(accepted["JobId"].as_str().unwrap()).await
    }

    /// The pushes APNs took for `token`, as JSON.
    fn apns_to(&self, token: &str) -> Vec<(Option<String>, Value)> {
        self.apns
            .accepted()
            .into_iter()
            .filter(|p| p.token == token)
            .map(|p| (p.collapse_id.clone(), p.payload().unwrap()))
            .collect()
    }

    /// Another gateway on the same NATS server, stand-ins and clock (its
    /// own data folder): the base URL of its API, and it.
    async fn second_gateway(&self) -> (String, Gateway) {
        let toml = self.config.replace(
            &format!("data_dir = {:?}", self._dir.path().join("data")),
            &format!("data_dir = {:?}", self._dir.path().join("data-b")),
        );
        let gateway = Gateway::start(Config::parse(&toml).unwrap(), Arc::new(self.clock.clone()))
            .await
            .unwrap();
        (format!("http://{}", gateway.addr()), gateway)
    }

    async fn stop(mut self) {
        if let Some(g) = self.gateway.take() {
            g.shutdown().await;
        }
        self.apns.shutdown().await.unwrap();
        self.xiaomi.shutdown().await.unwrap();
        self.meizu.shutdown().await.unwrap();
        self.harmony.shutdown().await.unwrap();
    }
}

/// The first value of `key` anywhere in `value`.
fn find(value: &Value, key: &str) -> Option<Value> {
    match value {
        Value::Object(map) => map
            .get(key)
            .cloned()
            .or_else(|| map.values().find_map(|v| find(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find(v, key)),
        _ => None,
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

/// A replacement is silent: no sound, no badge (so no increment).
fn assert_silent(payload: &Value) {
    let aps = &payload["aps"];
    assert!(aps.get("sound").is_none(), "{payload}");
    assert!(aps.get("badge").is_none(), "{payload}");
}

#[tokio::test]
async fn a_recall_racing_the_queue_sends_nothing_unsent_and_one_replacement_per_sent_device() {
    a_recall_racing_the_queue_sends_nothing_unsent_and_one_replacement_per_sent_device_on(
        Kind::Local,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_a_recall_racing_the_queue_sends_nothing_unsent_and_one_replacement_per_sent_device(
) {
    a_recall_racing_the_queue_sends_nothing_unsent_and_one_replacement_per_sent_device_on(
        Kind::Nats,
    )
    .await;
}

async fn a_recall_racing_the_queue_sends_nothing_unsent_and_one_replacement_per_sent_device_on(
    kind: Kind,
) {
    // aa02's first attempt is refused: it waits, queued, for the clock.
    let bed = bed_on(
        kind,
        |b| b.reply_next("aa02", 1, Reply::ServiceUnavailable),
        "",
    )
    .await;
    let body = message(
        json!({ "MsgKey": "48374_2837546_1557481126" }),
        None,
        json!([
            device("apns", "aa01"),
            device("apns", "aa02"),
            device("xiaomi", "xm-reg-1"),
            device("meizu", "mz-1"),
            device("harmony", HARMONY_TOKEN)
        ]),
    );
    let job = bed.push(&body).await;
    assert_eq!(
        states(&job),
        [
            "delivered",
            "retrying",
            "delivered",
            "delivered",
            "delivered"
        ]
    );
    let first = bed.apns_to("aa01");
    assert_eq!(first.len(), 1);
    let collapse = first[0]
        .0
        .clone()
        .expect("a keyed push carries a collapse id");

    let (status, recalled) = bed
        .post(
            "/v1/recall",
            &json!({ "MessageKey": "48374_2837546_1557481126" }),
        )
        .await;
    assert_eq!(status, 202, "{recalled}");
    assert_eq!(
        recalled["Devices"],
        json!({ "Recalled": 1, "Edited": 0, "InFlight": 0, "Replaced": 2, "Revoked": 2, "Removed": 0, "Untouched": 0 })
    );
    assert_eq!(recalled["Repeated"], false);
    let replacements = bed.settled(recalled["JobId"].as_str().unwrap()).await;
    assert_eq!(states(&replacements), ["delivered"; 4]);

    // APNs: one more push to aa01, same collapse id, silent.
    let to_aa01 = bed.apns_to("aa01");
    assert_eq!(to_aa01.len(), 2);
    assert_eq!(to_aa01[1].0.as_deref(), Some(collapse.as_str()));
    assert_silent(&to_aa01[1].1);
    let shown = to_aa01[1].1.to_string();
    assert!(shown.contains("This message was recalled"), "{shown}");
    assert!(!shown.contains("Lunch"), "{shown}");
    // Xiaomi: a revoke of the notify id it was sent with, no second push.
    assert_eq!(bed.xiaomi.accepted().len(), 1);
    let notify_id = bed.xiaomi.accepted()[0]
        .field("notify_id")
        .expect("a keyed push carries its notify id")
        .to_owned();
    let revokes = bed.xiaomi.revokes();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].notify_id.to_string(), notify_id);
    assert_eq!(revokes[0].tokens, ["xm-reg-1"]);
    // HarmonyOS: a revoke of the notifyId it was sent with.
    let sent = bed.harmony.accepted();
    assert_eq!(sent.len(), 1);
    let notify_id = find(&sent[0].payload().unwrap(), "notifyId").expect("a keyed push's notifyId");
    let revokes = bed.harmony.revokes();
    assert_eq!(revokes.len(), 1);
    assert_eq!(json!(revokes[0].notify_id), notify_id);
    assert_eq!(revokes[0].tokens, [HARMONY_TOKEN]);
    // Meizu: a second push with the same notify key.
    let meizu = bed.meizu.accepted();
    assert_eq!(meizu.len(), 2);
    let key = |i: usize| -> Value {
        serde_json::from_str::<Value>(meizu[i].field("messageJson").unwrap()).unwrap()
            ["advanceInfo"]["notifyKey"]
            .clone()
    };
    assert_eq!(key(0), key(1));
    assert!(key(0).is_string());

    // The queued device is never sent, even once its retry is due.
    let streams = bed.apns.stats().streams;
    bed.clock.advance(Duration::from_secs(10));
    let (_, job) = bed
        .get(&format!("/v1/jobs/{}", job["JobId"].as_str().unwrap()))
        .await;
    assert_eq!(states(&job)[1], "recalled");
    // A second recall: nothing more.
    let (status, again) = bed
        .post(
            "/v1/recall",
            &json!({ "MessageKey": "48374_2837546_1557481126" }),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(again["Repeated"], true);
    assert_eq!(again["JobId"], recalled["JobId"]);
    let (_, replacements) = bed
        .get(&format!("/v1/jobs/{}", recalled["JobId"].as_str().unwrap()))
        .await;
    assert_eq!(states(&replacements).len(), 4);
    assert_eq!(bed.apns.stats().streams, streams);
    // An edit after a recall changes nothing.
    let (status, _) = bed
        .post(
            "/v1/recall",
            &json!({ "MessageKey": "48374_2837546_1557481126", "Edit": "x" }),
        )
        .await;
    assert_eq!(status, 409);
    // The metrics count the recall's devices once (the repeat adds none).
    let metrics = send(bed.http.get(format!("{}/metrics", bed.base)))
        .await
        .text();
    for (action, devices) in [("recalled", 1), ("replaced", 2), ("revoked", 2)] {
        let line = format!("tidings_recall_devices_total{{action=\"{action}\"}} {devices}");
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    bed.stop().await;
}

#[tokio::test]
async fn an_edit_replaces_with_the_newest_text() {
    an_edit_replaces_with_the_newest_text_on(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_an_edit_replaces_with_the_newest_text() {
    an_edit_replaces_with_the_newest_text_on(Kind::Nats).await;
}

async fn an_edit_replaces_with_the_newest_text_on(kind: Kind) {
    let bed = bed_on(kind, |b| b, "").await;
    let body = message(
        json!({ "MsgSeq": 130 }),
        Some("@TGS#2J4SZEAEL"),
        json!([device("apns", "aa01"), device("xiaomi", "xm-reg-1")]),
    );
    bed.push(&body).await;
    for (n, text) in [(2, "Lunch at 1?"), (3, "Lunch at 2?")] {
        let (status, edited) = bed
            .post(
                "/v1/recall",
                &json!({ "GroupId": "@TGS#2J4SZEAEL", "MsgSeq": 130, "Edit": text }),
            )
            .await;
        assert_eq!(status, 202, "{edited}");
        // Xiaomi's edit is a replacement, not a revoke.
        assert_eq!(edited["Devices"]["Replaced"], 2);
        bed.settled(edited["JobId"].as_str().unwrap()).await;
        let to_aa01 = bed.apns_to("aa01");
        assert_eq!(to_aa01.len(), n);
        let last = &to_aa01[n - 1].1;
        assert!(last.to_string().contains(text), "{last}");
        assert_silent(last);
        assert_eq!(to_aa01[0].0, to_aa01[n - 1].0);
        assert_eq!(bed.xiaomi.accepted().len(), n);
        assert!(bed.xiaomi.revokes().is_empty());
    }
    bed.stop().await;
}

#[tokio::test]
async fn tencent_callbacks_as_the_docs_give_them_recall_with_a_signature() {
    tencent_callbacks_as_the_docs_give_them_recall_with_a_signature_on(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_tencent_callbacks_as_the_docs_give_them_recall_with_a_signature() {
    tencent_callbacks_as_the_docs_give_them_recall_with_a_signature_on(Kind::Nats).await;
}

async fn tencent_callbacks_as_the_docs_give_them_recall_with_a_signature_on(kind: Kind) {
    let bed = bed_on(
        kind,
        |b| b,
        &format!("callback_token = {CALLBACK_TOKEN:?}\nsdk_app_id = {SDK_APP_ID:?}"),
    )
    .await;
    let c2c = message(
        json!({ "MsgKey": "48374_2837546_1557481126" }),
        None,
        json!([device("apns", "aa01")]),
    );
    let mut group = message(
        json!({ "MsgSeq": 130 }),
        Some("1213456"),
        json!([device("apns", "aa02")]),
    );
    // Bob reads Chinese on this one: the recall says so in Chinese.
    group["Recipients"][0]["Locale"] = "zh".into();
    bed.push(&c2c).await;
    bed.push(&group).await;
    // The request bodies of Tencent's docs.
    let c2c_body = r#"{"CallbackCommand": "C2C.CallbackAfterMsgWithDraw", "From_Account": "jared", "To_Account": "Jonh", "MsgKey": "48374_2837546_1557481126", "EventTime": 1670574414123}"#;
    let group_body = r#"{"CallbackCommand": "Group.CallbackAfterRecallMsg", "Operator_Account": "admin", "Type": "Community", "GroupId": "1213456", "MsgSeqList": [{"MsgSeq": 130}], "TopicId": "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic", "EventTime": "1670574414123"}"#;
    let ok = json!({ "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "" });

    // A wrong signature, a missing one, an API token instead: refused,
    // nothing recalled.
    let wrong = bed.signed("another-token");
    for auth in [wrong.as_str(), "", "&token=s3cret-api-token"] {
        let (status, _) = bed
            .callback("C2C.CallbackAfterMsgWithDraw", auth, c2c_body)
            .await;
        assert_eq!(status, 401, "{auth}");
    }
    assert_eq!(bed.apns_to("aa01").len(), 1);

    let signed = bed.signed(CALLBACK_TOKEN);
    let (status, answer) = bed
        .callback("C2C.CallbackAfterMsgWithDraw", &signed, c2c_body)
        .await;
    assert_eq!((status, &answer), (200, &ok));
    let (status, answer) = bed
        .callback("Group.CallbackAfterRecallMsg", &signed, group_body)
        .await;
    assert_eq!((status, &answer), (200, &ok));
    for token in ["aa01", "aa02"] {
        let pushes = bed.apns_pushes(token, 2).await;
        assert_eq!(pushes.len(), 2, "{token}");
        assert_eq!(pushes[0].0, pushes[1].0);
        assert_silent(&pushes[1].1);
    }
    let shown = bed.apns_to("aa02")[1].1.to_string();
    assert!(shown.contains("此消息已被撤回"), "{shown}");
    // The same callback again (Tencent retries): nothing more. Another
    // command: OK, nothing done. A message never pushed: OK.
    let (status, _) = bed
        .callback("C2C.CallbackAfterMsgWithDraw", &signed, c2c_body)
        .await;
    assert_eq!(status, 200);
    let (status, answer) = bed
        .callback(
            "State.StateChange",
            &signed,
            r#"{"CallbackCommand": "State.StateChange", "Info": {"Action": "Login", "To_Account": "bob"}}"#,
        )
        .await;
    assert_eq!((status, &answer), (200, &ok));
    let unknown = c2c_body.replace("48374_2837546_1557481126", "1_2_3");
    let (status, _) = bed
        .callback("C2C.CallbackAfterMsgWithDraw", &signed, &unknown)
        .await;
    assert_eq!(status, 200);
    assert_eq!(bed.apns_to("aa01").len(), 2);
    bed.stop().await;
}

#[tokio::test]
async fn without_a_callback_token_the_callback_takes_an_api_token_and_recall_needs_the_bearer() {
    without_a_callback_token_the_callback_takes_an_api_token_and_recall_needs_the_bearer_on(
        Kind::Local,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_without_a_callback_token_the_callback_takes_an_api_token_and_recall_needs_the_bearer(
) {
    without_a_callback_token_the_callback_takes_an_api_token_and_recall_needs_the_bearer_on(
        Kind::Nats,
    )
    .await;
}

async fn without_a_callback_token_the_callback_takes_an_api_token_and_recall_needs_the_bearer_on(
    kind: Kind,
) {
    // This app removes its notifications itself on APNs.
    let bed = bed_on(kind, |b| b, "remove_on = [\"apns\"]").await;
    bed.push(&message(
        json!({ "MsgKey": "k-7" }),
        None,
        json!([device("apns", "aa01")]),
    ))
    .await;
    let body = r#"{"CallbackCommand": "C2C.CallbackAfterMsgWithDraw", "From_Account": "ann", "To_Account": "bob", "MsgKey": "k-7"}"#;
    let (status, _) = bed
        .callback("C2C.CallbackAfterMsgWithDraw", "&token=wrong", body)
        .await;
    assert_eq!(status, 401);
    // Without a bearer token: 401, whatever the body.
    let bare = send(
        bed.http
            .post(format!("{}/v1/recall", bed.base))
            .json(&json!({ "MessageKey": "k-7" })),
    )
    .await;
    assert_eq!(bare.status, 401);
    // An unknown key: 404; a bad body: 400 naming the key.
    let (status, e) = bed
        .post("/v1/recall", &json!({ "MessageKey": "never-pushed" }))
        .await;
    assert_eq!(status, 404, "{e}");
    let (status, e) = bed.post("/v1/recall", &json!({ "GroupId": "g" })).await;
    assert_eq!(status, 400);
    assert!(e["Error"].as_str().unwrap().starts_with("MsgSeq"), "{e}");
    let (status, answer) = bed
        .callback(
            "C2C.CallbackAfterMsgWithDraw",
            &format!("&token={API_TOKEN}"),
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    bed.apns_pushes("aa01", 2).await;
    // A relay's postcard job with a key is recalled like a JSON one.
    let wired = send(
        bed.http
            .post(format!("{}/v1/push", bed.base))
            .bearer_auth(API_TOKEN)
            .header("content-type", "application/x-tidings-job")
            .body(bodies::wire_job_with(
                "ee01",
                "from the relay",
                TOPIC,
                json!({ "MsgKey": "relay-1" }),
            )),
    )
    .await;
    assert_eq!(wired.status, 202);
    bed.settled(wired.json()["JobId"].as_str().unwrap()).await;
    let (status, recalled) = bed
        .post("/v1/recall", &json!({ "MessageKey": "relay-1" }))
        .await;
    assert_eq!(status, 202, "{recalled}");
    assert_eq!(recalled["Devices"]["Removed"], 1);
    bed.settled(recalled["JobId"].as_str().unwrap()).await;
    let to_ee01 = bed.apns_to("ee01");
    assert_eq!(to_ee01.len(), 2);
    assert_eq!(to_ee01[0].0, to_ee01[1].0);
    // A removal: a background push naming the replace key, no alert.
    let removal = bed
        .apns
        .accepted()
        .into_iter()
        .filter(|p| p.token == "aa01")
        .last()
        .unwrap();
    assert_eq!(removal.push_type, Some(PushType::Background));
    let payload = removal.payload().unwrap();
    assert_eq!(payload["aps"]["content-available"], 1, "{payload}");
    assert!(payload["aps"].get("alert").is_none(), "{payload}");
    assert_eq!(removal.collapse_id, bed.apns_to("aa01")[0].0);
    bed.stop().await;
}

#[tokio::test]
async fn a_device_being_sent_as_the_recall_lands_gets_exactly_one_replacement() {
    a_device_being_sent_as_the_recall_lands_gets_exactly_one_replacement_on(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_a_device_being_sent_as_the_recall_lands_gets_exactly_one_replacement() {
    a_device_being_sent_as_the_recall_lands_gets_exactly_one_replacement_on(Kind::Nats).await;
}

async fn a_device_being_sent_as_the_recall_lands_gets_exactly_one_replacement_on(kind: Kind) {
    // Every answer waits 2 s: the push is held in flight (its lease kept)
    // while the recall, a loopback round trip, lands.
    let bed = bed_on(kind, |b| b.delay(Duration::from_secs(2)), "").await;
    let body = message(
        json!({ "MsgKey": "in-flight-1" }),
        None,
        json!([device("apns", "aa01")]),
    );
    let (status, accepted) = bed.post("/v1/push", &body).await;
    assert_eq!(status, 202);
    // The stand-in has the request (its answer not given yet).
    eventually(|| async { (bed.apns.stats().streams >= 1).then_some(()) }).await;
    assert_eq!(bed.apns.stats().streams, 1);
    let (status, recalled) = bed
        .post("/v1/recall", &json!({ "MessageKey": "in-flight-1" }))
        .await;
    assert_eq!(status, 202, "{recalled}");
    // The NATS queue cannot see a send in flight on another gateway: it
    // counts the device recalled, and its sender replaces it all the same.
    let counted = match kind {
        Kind::Local => "InFlight",
        Kind::Nats => "Recalled",
    };
    assert_eq!(recalled["Devices"][counted], 1, "{recalled}");
    assert_eq!(recalled["Devices"]["Replaced"], 0);
    // The send lands: its one replacement joins the recall's job.
    let job = recalled["JobId"].as_str().unwrap();
    let replacements = eventually(|| async {
        let (_, state) = bed.get(&format!("/v1/jobs/{job}")).await;
        (states(&state) == ["delivered"]).then_some(state)
    })
    .await
    .unwrap_or_default();
    assert_eq!(states(&replacements), ["delivered"], "{replacements}");
    let original = bed.settled(accepted["JobId"].as_str().unwrap()).await;
    assert_eq!(states(&original), ["delivered"]);
    let to_aa01 = bed.apns_to("aa01");
    assert_eq!(to_aa01.len(), 2);
    assert_eq!(to_aa01[0].0, to_aa01[1].0);
    assert_silent(&to_aa01[1].1);
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_a_recall_through_one_gateway_reaches_a_message_another_accepted() {
    // aa02's first attempt is refused: it waits, retrying.
    let bed = bed_on(
        Kind::Nats,
        |b| b.reply_next("aa02", 1, Reply::ServiceUnavailable),
        "",
    )
    .await;
    let (base_b, gateway_b) = bed.second_gateway().await;
    let body = message(
        json!({ "MsgKey": "across-1" }),
        None,
        json!([
            device("apns", "aa01"),
            device("apns", "aa02"),
            device("xiaomi", "xm-reg-1")
        ]),
    );
    let job = bed.push(&body).await;
    assert_eq!(states(&job), ["delivered", "retrying", "delivered"]);
    // An edit through gateway B: the sent devices get the new text, the
    // retrying one is sent once, with it, when due.
    let (status, edited) = bed
        .post_at(
            &base_b,
            "/v1/recall",
            &json!({ "MessageKey": "across-1", "Edit": "Lunch at 1?" }),
        )
        .await;
    assert_eq!(status, 202, "{edited}");
    assert_eq!(
        edited["Devices"],
        json!({ "Recalled": 0, "Edited": 1, "InFlight": 0, "Replaced": 2, "Revoked": 0, "Removed": 0, "Untouched": 0 })
    );
    bed.settled(edited["JobId"].as_str().unwrap()).await;
    let to_aa01 = bed.apns_to("aa01");
    assert_eq!(to_aa01.len(), 2);
    assert_eq!(to_aa01[0].0, to_aa01[1].0);
    assert!(to_aa01[1].1.to_string().contains("Lunch at 1?"));
    assert_silent(&to_aa01[1].1);
    assert_eq!(bed.xiaomi.accepted().len(), 2);
    bed.clock.advance(Duration::from_secs(60));
    let job_id = job["JobId"].as_str().unwrap();
    let to_aa02 = bed.apns_pushes("aa02", 1).await;
    assert_eq!(to_aa02.len(), 1, "sent once, with the edit");
    assert!(to_aa02[0].1.to_string().contains("Lunch at 1?"));
    // The same edit again through A: a repeat, nothing more.
    let (status, again) = bed
        .post(
            "/v1/recall",
            &json!({ "MessageKey": "across-1", "Edit": "Lunch at 1?" }),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(again["Repeated"], true);
    assert_eq!(again["JobId"], edited["JobId"]);
    // A recall through B: Xiaomi's revoke, APNs' silent replacements.
    let (status, recalled) = bed
        .post_at(&base_b, "/v1/recall", &json!({ "MessageKey": "across-1" }))
        .await;
    assert_eq!(status, 202, "{recalled}");
    assert_eq!(recalled["Devices"]["Revoked"], 1, "{recalled}");
    assert_eq!(recalled["Devices"]["Replaced"], 2, "{recalled}");
    bed.settled(recalled["JobId"].as_str().unwrap()).await;
    assert_eq!(bed.xiaomi.revokes().len(), 1);
    for token in ["aa01", "aa02"] {
        let pushes = bed.apns_to(token);
        let last = &pushes.last().unwrap().1;
        assert!(
            last.to_string().contains("This message was recalled"),
            "{last}"
        );
        assert_silent(last);
    }
    let (status, _) = bed
        .post_at(
            &base_b,
            "/v1/recall",
            &json!({ "MessageKey": "across-1", "Edit": "x" }),
        )
        .await;
    assert_eq!(status, 409);
    let (_, job) = bed.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(states(&job), ["delivered"; 3]);
    gateway_b.shutdown().await;
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_nats_a_recall_left_unfinished_is_made_whole_by_its_repeat() {
    let bed = bed_on(Kind::Nats, |b| b, "").await;
    bed.push(&message(
        json!({ "MsgKey": "half-1" }),
        None,
        json!([device("apns", "aa01")]),
    ))
    .await;
    // What a gateway that died right after writing its recall's record
    // leaves in S_MSGS: the record, unfinished, and nothing else.
    let nats = bed._nats.as_ref().unwrap();
    let client = async_nats::ConnectOptions::with_user_and_password(
        "tidings".into(),
        nats_server::PASSWORD.into(),
    )
    .connect(nats.address())
    .await
    .unwrap();
    let msgs = async_nats::jetstream::new(client)
        .get_key_value("TIDINGS_MSGS")
        .await
        .unwrap();
    let slot = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b"c2c:half-1"))
    };
    let mut entry: Value =
        serde_json::from_slice(&msgs.get(&slot).await.unwrap().unwrap()).unwrap();
    let job = uuid::Uuid::now_v7().to_string();
    entry["recall"] = json!({ "edit": null, "at_ms": 1, "jobs": [job], "unfinished": true });
    msgs.put(&slot, serde_json::to_vec(&entry).unwrap().into())
        .await
        .unwrap();

    // Made again: a repeat of that recall, which it finishes.
    let (status, again) = bed
        .post("/v1/recall", &json!({ "MessageKey": "half-1" }))
        .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["Repeated"], true);
    assert_eq!(again["JobId"], job.as_str());
    let replacements = bed.settled(&job).await;
    assert_eq!(states(&replacements), ["delivered"]);
    let to_aa01 = bed.apns_to("aa01");
    assert_eq!(to_aa01.len(), 2);
    assert_eq!(to_aa01[0].0, to_aa01[1].0);
    assert_silent(&to_aa01[1].1);
    // Whole now: a repeat does nothing more.
    let (status, again) = bed
        .post("/v1/recall", &json!({ "MessageKey": "half-1" }))
        .await;
    assert_eq!(status, 202);
    assert_eq!(again["Repeated"], true);
    assert_eq!(again["JobId"], job.as_str());
    let (_, replacements) = bed.get(&format!("/v1/jobs/{job}")).await;
    assert_eq!(states(&replacements), ["delivered"]);
    assert_eq!(bed.apns_to("aa01").len(), 2);
    bed.stop().await;
}

/// Asks `probe` every 10 ms, at most 1,000 times (10 s: the gateway's work
/// runs on its own tasks), until it answers `Some`.
async fn eventually<T, F, Fut>(mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(value) = probe().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}
