//! The Meizu client against the Meizu stand-in, really started on
//! loopback: the signed form (the signed `messageJson` is the core's raw
//! one, byte for byte), dead pushIds from the per-device `value`, partial
//! success, retries, rejections, a wrong secret refused (1006). Time is a
//! `ManualClock`; nothing sleeps.

mod common;
mod form_support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{rejected, retry, row, run_rows};
use form_support::{
    assert_a_partial_success_names_the_dead_token, assert_an_idless_success_reports_the_push_id,
    assert_an_unreachable_host_backs_off, assert_delivered_once, case_json, render, rendered, TEXT,
};
use tidings_core::{decide, Decision};
use tidings_deliver::form::{next_midnight, CHINA_UTC_OFFSET_SECS};
use tidings_deliver::meizu::{MeizuClient, MeizuConfig, RATE_BACKOFF, SERVER_BACKOFF};
use tidings_standin::meizu::{MeizuStandin, MeizuStandinBuilder, Reply};
use tidings_std::clock::{Clock, ManualClock};
use tidings_std::ingest::{parse_case, AppDoc};

const APP_ID: &str = "112233";
const SECRET: &str = "meizu-app-secret-0123456789";

type Bed = common::Bed<MeizuStandin, MeizuClient>;

async fn bed_with(
    secret: &str,
    standin: impl FnOnce(MeizuStandinBuilder) -> MeizuStandinBuilder,
) -> Bed {
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let client_clock = clock.clone();
    let client = |standin: &MeizuStandin, ca| {
        let config = MeizuConfig {
            endpoint: standin.url(),
            app_id: APP_ID.into(),
            app_secret: secret.into(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        MeizuClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(MeizuStandin::builder().credentials(APP_ID, SECRET));
    Bed::start(
        clock,
        builder,
        client,
        "meizu",
        TEXT,
        serde_json::Value::Null,
    )
    .await
}

async fn bed(standin: impl FnOnce(MeizuStandinBuilder) -> MeizuStandinBuilder) -> Bed {
    bed_with(SECRET, standin).await
}

/// The core's raw `messageJson` for the same case (what must be signed).
fn raw_message_json(json: &str) -> Vec<u8> {
    let doc = parse_case(json.as_bytes()).unwrap();
    let lent = doc.lend().unwrap();
    let app = AppDoc::default();
    let case = lent.case(0, &app).unwrap();
    let Decision::Push(n) = decide(&case).unwrap() else {
        panic!("suppressed")
    };
    let mut buf = vec![0u8; 64 * 1024];
    let len = tidings_core::render::meizu::render_message_json(&n, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

#[tokio::test]
async fn delivers_a_form_signed_over_the_cores_raw_message_json() {
    let bed = bed(|b| b).await;
    let json = case_json("meizu", "mz-1", TEXT, bed.clock.unix_seconds());
    let r = render(json.clone());
    let got = assert_delivered_once(&bed, &r, "mz-1").await;
    assert!(got.body.starts_with(&r.body), "the core's bytes first");
    let raw = raw_message_json(&json);
    assert_eq!(got.field("messageJson").unwrap().as_bytes(), raw.as_slice());
    assert_eq!(got.field("appId"), Some(APP_ID));
    assert_eq!(got.field("pushIds"), Some("mz-1"));
    let expected = tidings_deliver::meizu::sign(
        &[
            ("appId", APP_ID.as_bytes()),
            ("messageJson", &raw),
            ("pushIds", b"mz-1"),
        ],
        SECRET,
    );
    assert_eq!(got.field("sign"), Some(expected.as_str()));
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_1006() {
    let bed = bed_with("not-the-secret", |b| b).await;
    let d = bed.client.send(&rendered(&bed, "mz-1").push(0)).await;
    assert_eq!(d.outcome.name(), "credentials_refused");
    assert!(d.outcome.reason().starts_with("1006"), "{:?}", d.outcome);
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn dead_push_ids_and_partial_success() {
    let bed = bed(|b| {
        b.reply_always("mz-dead", Reply::IllegalPushId)
            .reply_always("mz-off", Reply::SwitchedOff)
    })
    .await;
    let d = bed.client.send(&rendered(&bed, "mz-dead").push(0)).await;
    assert_eq!(d.outcome.name(), "token_invalid", "{d:?}");
    assert!(d.outcome.reason().starts_with("110003"));
    assert_eq!(d.invalid_tokens, ["mz-dead"]);
    let d = bed.client.send(&rendered(&bed, "mz-off").push(0)).await;
    assert_eq!(d.outcome.name(), "token_invalid");
    assert!(d.outcome.reason().starts_with("110010"));

    // Two pushIds in one request (Meizu takes 100).
    assert_a_partial_success_names_the_dead_token(bed, "pushIds", "mz-ok", "mz-dead").await;
}

#[tokio::test]
async fn retries_and_rejections() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let gateway = Reply::Http {
        status: 503,
        retry_after: Some(45),
    };
    let midnight = next_midnight(now, CHINA_UTC_OFFSET_SECS);
    let rows = vec![
        row(
            Reply::ServerBusy,
            1,
            retry("1003 服务器忙", now + SERVER_BACKOFF.delay(1)),
        ),
        row(
            Reply::PushFailed,
            0,
            retry("513", now + SERVER_BACKOFF.base),
        ),
        row(
            Reply::RateTooHigh,
            0,
            retry("110010 推送频率过高", now + RATE_BACKOFF.base),
        ),
        // Retry-After wins.
        row(gateway, 0, retry("HTTP 503", now + Duration::from_secs(45))),
        row(
            Reply::DailyLimit,
            0,
            retry("110019 超过当日推送次数", midnight),
        ),
        row(Reply::DeviceDailyLimit, 0, retry("110011", midnight)),
        row(Reply::Folded, 0, rejected("520")),
    ];
    run_rows(
        rows,
        |i| format!("mz-row-{i}"),
        |push_id, reply| bed.standin.script(push_id, reply),
        async |push_id, attempt| {
            bed.client
                .send(&rendered(&bed, push_id).push(attempt))
                .await
        },
    )
    .await;
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_host_backs_off_by_attempt() {
    let clock = ManualClock::starting_now();
    let config = MeizuConfig {
        endpoint: "https://127.0.0.1:1".into(),
        app_id: APP_ID.into(),
        app_secret: SECRET.into(),
        ca_file: None,
        request_timeout: Duration::from_secs(5),
    };
    let client = MeizuClient::new(config, Arc::new(clock.clone())).unwrap();
    assert_an_unreachable_host_backs_off("meizu", "mz-1", &client, &clock).await;
}

#[tokio::test]
async fn a_success_without_a_message_id_reports_the_push_id() {
    let reply = Reply::Other {
        code: 200,
        message: String::new(),
    };
    let bed = bed(|b| b.reply_always("no-id", reply)).await;
    assert_an_idless_success_reports_the_push_id(bed).await;
}
