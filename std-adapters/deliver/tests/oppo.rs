//! The OPPO client against the OPPO stand-in, really started on loopback:
//! the auth token fetched once for many sends and renewed when OPPO says it
//! is invalid (code 11) with one resend, renewed before its 24 h are up,
//! delivered bytes, dead regIds, retries, the daily limit, rejections, a
//! wrong MasterSecret refused. Time is a `ManualClock`; nothing sleeps.

mod common;
mod form_support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{ca_file, refused, retry, row, run_rows, token_invalid};
use form_support::{
    assert_an_idless_success_reports_the_push_id, assert_delivered_once, case_json, render,
    rendered, TEXT,
};
use tidings_deliver::form::{next_midnight, CHINA_UTC_OFFSET_SECS};
use tidings_deliver::oppo::{OppoClient, OppoConfig, RATE_BACKOFF, SERVER_BACKOFF};
use tidings_deliver::token::TOKEN_BACKOFF;
use tidings_deliver::Outcome;
use tidings_standin::oppo::{OppoStandin, OppoStandinBuilder, Reply, TokenFault};
use tidings_std::clock::{Clock, ManualClock};

const APP_KEY: &str = "oppo-app-key";
const MASTER_SECRET: &str = "oppo-master-secret-0123456789";

type Bed = common::Bed<OppoStandin, OppoClient>;

async fn bed_with(
    master_secret: &str,
    standin: impl FnOnce(OppoStandinBuilder) -> OppoStandinBuilder,
) -> Bed {
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let client_clock = clock.clone();
    let client = |standin: &OppoStandin, ca| {
        let config = OppoConfig {
            endpoint: standin.url(),
            app_key: APP_KEY.into(),
            master_secret: master_secret.into(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        OppoClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(OppoStandin::builder().credentials(APP_KEY, MASTER_SECRET));
    Bed::start(
        clock,
        builder,
        client,
        "oppo",
        TEXT,
        serde_json::Value::Null,
    )
    .await
}

async fn bed(standin: impl FnOnce(OppoStandinBuilder) -> OppoStandinBuilder) -> Bed {
    bed_with(MASTER_SECRET, standin).await
}

#[tokio::test]
async fn delivers_the_rendered_form_with_the_auth_token_appended() {
    let bed = bed(|b| b).await;
    let r = rendered(&bed, "CN_oppo-reg-1");
    let got = assert_delivered_once(&bed, &r, "CN_oppo-reg-1").await;
    // The core's bytes as they are, then `&auth_token=…`.
    assert!(got.body.starts_with(&r.body));
    let tail = std::str::from_utf8(&got.body[r.body.len()..]).unwrap();
    assert!(tail.starts_with("&auth_token="), "{tail}");
    assert_eq!(got.field("message").unwrap(), r.field("message"));
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_token_for_many_sends_renewed_before_a_day_is_up() {
    let bed = bed(|b| b).await;
    for i in 0..5 {
        let d = bed
            .client
            .send(&rendered(&bed, &format!("r{i}")).push(0))
            .await;
        assert_eq!(d.outcome.name(), "delivered", "{d:?}");
    }
    assert_eq!(bed.standin.stats().token_fetches, 1);
    assert_eq!(bed.client.token_fetches(), 1);
    bed.clock.advance(Duration::from_secs(22 * 3600));
    bed.client.send(&rendered(&bed, "r5").push(0)).await;
    assert_eq!(bed.standin.stats().token_fetches, 1, "22 h: still good");
    bed.clock.advance(Duration::from_secs(3600 + 1));
    let d = bed.client.send(&rendered(&bed, "r6").push(0)).await;
    assert_eq!(d.outcome.name(), "delivered");
    assert_eq!(
        bed.standin.stats().token_fetches,
        2,
        "renewed an hour early"
    );
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_push_resent_once() {
    let bed = bed(|b| b).await;
    assert_eq!(
        bed.client
            .send(&rendered(&bed, "r1").push(0))
            .await
            .outcome
            .name(),
        "delivered"
    );
    bed.standin.expire_auth_tokens();
    let d = bed.client.send(&rendered(&bed, "r2").push(0)).await;
    assert_eq!(d.outcome.name(), "delivered", "{d:?}");
    let stats = bed.standin.stats();
    assert_eq!(stats.token_fetches, 2);
    assert_eq!(stats.answered(11), 1);
    assert_eq!(bed.standin.accepted().len(), 2);

    // A token refused again right after renewal: one resend only, then
    // the sender is refused (the app's tokens do not work), not a loop.
    bed.standin.script_next("r3", 2, Reply::InvalidAuthToken);
    let d = bed.client.send(&rendered(&bed, "r3").push(0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "11 Invalid AuthToken".into()
        }
    );
    assert_eq!(bed.standin.stats().answered(11), 3);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn dead_regids_retries_and_rejections() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let http = |status, retry_after| Reply::Http {
        status,
        retry_after,
    };
    let rows = vec![
        row(
            Reply::InvalidRegId,
            0,
            token_invalid("10000 Invalid RegistrationId"),
        ),
        row(
            Reply::Unavailable,
            3,
            retry(
                "-1 Service Currently Unavailable",
                now + SERVER_BACKOFF.delay(3),
            ),
        ),
        row(
            Reply::FlowControl,
            0,
            retry("-2 Service In Flow Control", now + RATE_BACKOFF.base),
        ),
        // Retry-After wins.
        row(
            http(503, Some(30)),
            0,
            retry("HTTP 503", now + Duration::from_secs(30)),
        ),
        row(
            http(500, None),
            0,
            retry("HTTP 500", now + SERVER_BACKOFF.base),
        ),
        row(
            Reply::DailyLimit,
            0,
            retry(
                "33 Exceed Daily Message Limit",
                next_midnight(now, CHINA_UTC_OFFSET_SECS),
            ),
        ),
        row(Reply::AppDisabled, 0, refused("28 App Disabled")),
    ];
    run_rows(
        rows,
        |i| format!("oppo-row-{i}"),
        |reg_id, reply| bed.standin.script(reg_id, reply),
        async |reg_id, attempt| bed.client.send(&rendered(&bed, reg_id).push(attempt)).await,
    )
    .await;
    assert_eq!(bed.standin.stats().token_fetches, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_master_secret_is_refused_by_the_standin() {
    let bed = bed_with("not-the-master-secret", |b| b).await;
    let d = bed.client.send(&rendered(&bed, "r1").push(0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "auth: 16 Invalid Sign".into()
        }
    );
    let stats = bed.standin.stats();
    assert_eq!((stats.token_fetches, stats.token_refusals), (0, 1));
    assert_eq!(stats.requests, 0, "no send without a token");
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_standin_refuses_a_timestamp_outside_ten_minutes() {
    // The client's clock runs 11 minutes behind the stand-in's.
    let standin_clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_660));
    let standin = OppoStandin::builder()
        .credentials(APP_KEY, MASTER_SECRET)
        .clock(Arc::new(standin_clock))
        .start()
        .await
        .unwrap();
    let (_dir, ca) = ca_file(standin.ca_pem());
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let client = OppoClient::new(
        OppoConfig {
            endpoint: standin.url(),
            app_key: APP_KEY.into(),
            master_secret: MASTER_SECRET.into(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        },
        Arc::new(clock.clone()),
    )
    .unwrap();
    let r = render(case_json("oppo", "r1", "hi", clock.unix_seconds()));
    let d = client.send(&r.push(0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "auth: 19 Invalid Timestamp".into()
        }
    );
    clock.advance(Duration::from_secs(61));
    let d = client.send(&r.push(0)).await;
    assert_eq!(d.outcome.name(), "delivered", "9 min 59 s behind is fine");
    standin.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_share_one_token_fetch() {
    let bed = Arc::new(bed(|b| b).await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let bed = Arc::clone(&bed);
        tasks.spawn(async move {
            let r = rendered(&bed, &format!("c{i}"));
            bed.client.send(&r.push(0)).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().outcome.name(), "delivered");
    }
    assert_eq!(bed.standin.stats().token_fetches, 1);
    assert_eq!(bed.standin.accepted().len(), 20);
}

#[tokio::test]
async fn a_silent_auth_endpoint_is_a_timeout_within_the_request_timeout() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Hang));
    let config = OppoConfig {
        endpoint: bed.standin.url(),
        app_key: APP_KEY.into(),
        master_secret: MASTER_SECRET.into(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_millis(300),
    };
    let client = OppoClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let d = client.send(&rendered(&bed, "r1").push(0)).await;
    common::assert_token_timeout(&d, bed.clock.now());
    assert_eq!(bed.standin.stats().requests, 0);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_auth_endpoint_is_asked_once_per_backoff() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Status {
        status: 502,
        retry_after: None,
    }));
    let r = rendered(&bed, "r1");
    let now = bed.clock.now();
    let expected = Outcome::Retry {
        reason: "auth: HTTP 502".into(),
        not_before: now + TOKEN_BACKOFF.base,
    };
    for attempt in [0, 4] {
        let d = bed.client.send(&r.push(attempt)).await;
        assert_eq!((d.outcome, d.status), (expected.clone(), Some(502)));
    }
    assert_eq!(bed.standin.stats().token_requests, 1);
    bed.standin.set_token_fault(None);
    bed.clock.advance(TOKEN_BACKOFF.base);
    let d = bed.client.send(&r.push(0)).await;
    assert_eq!(d.outcome.name(), "delivered", "{d:?}");
    assert_eq!(bed.standin.stats().token_requests, 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_success_without_a_message_id_reports_the_push_id() {
    let reply = Reply::Other {
        code: 0,
        message: "Success".into(),
    };
    let bed = bed(|b| b.reply_always("no-id", reply)).await;
    assert_an_idless_success_reports_the_push_id(bed).await;
}
