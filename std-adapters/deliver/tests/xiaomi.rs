//! The Xiaomi client against the Xiaomi stand-in, really started on
//! loopback: delivered bytes, dead regIds (both ways Xiaomi reports them),
//! retries with and without `Retry-After`, the daily quota, rejections, and
//! a wrong AppSecret refused. Time is a `ManualClock`; nothing sleeps.

mod common;
mod form_support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{ca_file, refused, rejected, retry, row, run_rows};
use form_support::{
    assert_a_partial_success_names_the_dead_token, assert_an_idless_success_reports_the_push_id,
    assert_an_unreachable_host_backs_off, assert_delivered_once, rendered, PACKAGE, TEXT,
};
use tidings_deliver::form::{next_midnight, CHINA_UTC_OFFSET_SECS};
use tidings_deliver::xiaomi::{
    XiaomiClient, XiaomiConfig, OFFLINE_BACKOFF, RATE_BACKOFF, SERVER_BACKOFF,
};
use tidings_deliver::Outcome;
use tidings_standin::xiaomi::{Reply, XiaomiStandin, XiaomiStandinBuilder};
use tidings_std::clock::{Clock, ManualClock};

const SECRET: &str = "xiaomi-test-secret-0123456789";

type Bed = common::Bed<XiaomiStandin, XiaomiClient>;

async fn bed_with(
    secret: &str,
    standin: impl FnOnce(XiaomiStandinBuilder) -> XiaomiStandinBuilder,
) -> Bed {
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let client_clock = clock.clone();
    let client = |standin: &XiaomiStandin, ca| {
        let config = XiaomiConfig {
            endpoint: standin.url(),
            app_secret: secret.into(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        XiaomiClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(XiaomiStandin::builder().app_secret(SECRET).package(PACKAGE));
    Bed::start(
        clock,
        builder,
        client,
        "xiaomi",
        TEXT,
        serde_json::Value::Null,
    )
    .await
}

async fn bed(standin: impl FnOnce(XiaomiStandinBuilder) -> XiaomiStandinBuilder) -> Bed {
    bed_with(SECRET, standin).await
}

#[tokio::test]
async fn delivers_the_rendered_form_as_it_is() {
    let bed = bed(|b| b).await;
    let r = rendered(&bed, "xm-reg-1");
    let got = assert_delivered_once(&bed, &r, "xm-reg-1").await;
    assert_eq!(
        got.body.as_ref(),
        r.body.as_slice(),
        "the core's bytes, untouched"
    );
    assert_eq!(got.field("restricted_package_name"), Some(PACKAGE));
    assert_eq!(got.field("extra.channel_id"), Some("im"));
    bed.standin.shutdown().await.unwrap();
}

/// A dead regId in `bad_regids`; 20301 without it is a retry (issue 26:
/// under doubt, the failure that loses least).
#[tokio::test]
async fn dead_regids_in_bad_regids_and_20301_retried() {
    let bed = bed(|b| {
        b.reply_always("xm-bad", Reply::BadRegId)
            .reply_always("xm-gone", Reply::NoValidTargets)
    })
    .await;
    let d = bed.client.send(&rendered(&bed, "xm-bad").push(0)).await;
    assert_eq!(
        d.outcome,
        Outcome::TokenInvalid {
            reason: "bad_regids".into(),
            since: None
        }
    );
    assert_eq!(d.invalid_tokens, ["xm-bad"]);
    let d = bed.client.send(&rendered(&bed, "xm-gone").push(1)).await;
    assert_eq!(
        d.outcome,
        Outcome::Retry {
            reason: "20301 No valid targets!".into(),
            not_before: bed.clock.now() + SERVER_BACKOFF.delay(1)
        }
    );
    assert!(d.invalid_tokens.is_empty());
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn partial_success_names_the_bad_regids() {
    // A two-regId body (the core renders one; Xiaomi takes a list).
    let bed = bed(|b| b.reply_always("xm-b", Reply::BadRegId)).await;
    assert_a_partial_success_names_the_dead_token(bed, "registration_id", "xm-a", "xm-b").await;
}

#[tokio::test]
async fn every_retry_rejection_and_refusal() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let http = |status, retry_after| Reply::Http {
        status,
        retry_after,
    };
    let blacklisted = Reply::Other {
        code: 10031,
        reason: "app blacklisted".into(),
    };
    let midnight = next_midnight(now, CHINA_UTC_OFFSET_SECS);
    assert!(midnight > now && midnight <= now + Duration::from_secs(86_400));
    let rows = vec![
        row(
            Reply::SystemBusy,
            2,
            retry("10002 System busy", now + SERVER_BACKOFF.delay(2)),
        ),
        row(
            Reply::RateTooHigh,
            0,
            retry("10027 Call rate too high", now + RATE_BACKOFF.base),
        ),
        // Retry-After wins.
        row(
            http(503, Some(120)),
            0,
            retry("HTTP 503", now + Duration::from_secs(120)),
        ),
        row(
            http(502, None),
            1,
            retry("HTTP 502", now + SERVER_BACKOFF.delay(1)),
        ),
        row(
            Reply::DeviceNotFound,
            0,
            retry("65003 Device not found", now + OFFLINE_BACKOFF.base),
        ),
        row(
            Reply::DailyQuota,
            0,
            retry("10034 Daily message quota exceeded", midnight),
        ),
        row(
            Reply::TooLong,
            0,
            rejected("65009 Message content too long"),
        ),
        // The app's identity or standing, not the push's.
        row(
            Reply::IllegalPackage,
            0,
            refused("22022 Illegal package name"),
        ),
        row(blacklisted, 0, refused("10031 app blacklisted")),
    ];
    run_rows(
        rows,
        |i| format!("xm-row-{i}"),
        |reg_id, reply| bed.standin.script(reg_id, reply),
        async |reg_id, attempt| bed.client.send(&rendered(&bed, reg_id).push(attempt)).await,
    )
    .await;
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_app_secret_is_refused_by_the_standin() {
    let bed = bed_with("not-the-secret", |b| b).await;
    let d = bed.client.send(&rendered(&bed, "xm-reg-1").push(0)).await;
    assert_eq!(d.outcome.name(), "credentials_refused");
    assert!(d.outcome.reason().starts_with("21301"), "{:?}", d.outcome);
    assert!(bed.standin.accepted().is_empty());
    assert_eq!(bed.standin.stats().answered(21301), 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_host_backs_off_by_attempt() {
    let clock = ManualClock::starting_now();
    let (_dir, ca) = ca_file(XiaomiStandin::builder().start().await.unwrap().ca_pem());
    let config = XiaomiConfig {
        endpoint: "https://127.0.0.1:1".into(),
        app_secret: SECRET.into(),
        ca_file: Some(ca),
        request_timeout: Duration::from_secs(5),
    };
    let client = XiaomiClient::new(config, Arc::new(clock.clone())).unwrap();
    assert_an_unreachable_host_backs_off("xiaomi", "xm-1", &client, &clock).await;
}

#[tokio::test]
async fn a_success_without_a_message_id_reports_the_push_id() {
    let reply = Reply::Other {
        code: 0,
        reason: "ok".into(),
    };
    let bed = bed(|b| b.reply_always("no-id", reply)).await;
    assert_an_idless_success_reports_the_push_id(bed).await;
}

/// A revoke (beyond.md §13.2): the core's form (`render::revoke`) to the
/// revoke path with the send's AppSecret, naming the `notify_id` the push
/// carried; a dead regId answers as for a send.
#[tokio::test]
async fn the_core_s_revoke_goes_to_the_revoke_path() {
    use tidings_deliver::Action;
    let bed = bed(|b| b.reply_always("xm-dead", Reply::BadRegId)).await;
    let now = common::unix(bed.clock.now());
    let case = |reg_id: &str| {
        let mut case = common::text_case("xiaomi", reg_id, TEXT, now, serde_json::json!({}));
        case["Message"]["MsgKey"] = "31906_833502_1572869830".into();
        case.to_string()
    };
    let revoke = |reg_id: &str| common::render_revoke(case(reg_id), now);
    let send = async |body: &[u8], action| {
        let push = tidings_deliver::Push {
            action,
            ..common::push(body, 0)
        };
        bed.client.send(&push).await
    };
    let sent = common::render_case(case("xm-reg-1"), now).body;
    let d = send(&sent, Action::Send).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let notify_id: i64 = bed.standin.accepted()[0]
        .field("notify_id")
        .unwrap()
        .parse()
        .unwrap();
    let d = send(&revoke("xm-reg-1"), Action::Revoke).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let taken = tidings_standin::kit::Revoke {
        notify_id,
        tokens: vec!["xm-reg-1".into()],
    };
    assert_eq!(bed.standin.revokes(), [taken]);
    assert_eq!(bed.standin.accepted().len(), 1, "a revoke is not a push");
    let d = send(&revoke("xm-dead"), Action::Revoke).await;
    assert_eq!(d.invalid_tokens, ["xm-dead"]);
    assert_eq!(d.outcome.name(), "token_invalid");
    // Without notify_id the stand-in refuses it (10016, a rejection).
    let bare = format!("registration_id=xm-reg-1&restricted_package_name={PACKAGE}");
    let d = send(bare.as_bytes(), Action::Revoke).await;
    assert_eq!(d.outcome, rejected("10016 notify_id is missing"));
    assert_eq!(bed.standin.revokes().len(), 1);
}
