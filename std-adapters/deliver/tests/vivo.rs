//! The vivo client against the vivo stand-in, really started on loopback:
//! the core's exact bytes (plus the adapter's `appId`), every outcome
//! class, the daily quota's window, the `authToken`'s life (md5 sign and
//! timestamp checked by the stand-in, one fetch for many sends, ONE resend
//! after 10000). Time moves on a `ManualClock`; nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{push, rejected, render, retry, row, run_rows, token_invalid, SECOND};
use tidings_deliver::outcome::next_midnight;
use tidings_deliver::token::TOKEN_BACKOFF;
use tidings_deliver::vivo::{with_app_id, VivoClient, VivoConfig, SERVER_BACKOFF};
use tidings_deliver::Outcome;
use tidings_standin::vivo::{
    Reply, TokenFault, VivoStandin, VivoStandinBuilder, RESULT_AUTH_SIGN, RESULT_AUTH_TIMESTAMP,
};
use tidings_std::clock::{Clock, ManualClock};

const APP_ID: u64 = 10004;
const APP_KEY: &str = "25509283-3767-4b9e-83fe-b6e55ac6243e";
const SECRET: &str = "vivo-test-secret";
const REG_ID: &str = "15500004881236010100129";

type Bed = common::Bed<VivoStandin, VivoClient>;

async fn bed_with(
    standin: impl FnOnce(VivoStandinBuilder) -> VivoStandinBuilder,
    secret: &str,
    client_clock: Option<ManualClock>,
) -> Bed {
    let clock = ManualClock::starting_now();
    let client_clock = client_clock.unwrap_or_else(|| clock.clone());
    let client = |standin: &VivoStandin, ca| {
        let config = VivoConfig {
            app_id: APP_ID,
            app_key: APP_KEY.into(),
            app_secret: secret.into(),
            endpoint: standin.url(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        VivoClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(VivoStandin::builder().app(APP_ID, APP_KEY, SECRET));
    let info = serde_json::json!({ "VIVOCategory": "IM" });
    Bed::start(clock, builder, client, "vivo", "Lunch at 12? 🍜", info).await
}

async fn bed(standin: impl FnOnce(VivoStandinBuilder) -> VivoStandinBuilder) -> Bed {
    bed_with(standin, SECRET, None).await
}

#[tokio::test]
async fn delivers_the_rendered_bytes_with_one_auth_token() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(REG_ID);
    for _ in 0..10 {
        let d = bed.client.send(&push(&body, 0)).await;
        common::assert_delivered_under_the_vendor_id(&d, "vivo's taskId");
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 10);
    // The core's bytes, with only `"appId":10004,` put after the `{`.
    let sent = accepted[0].body.as_ref();
    assert_eq!(sent, with_app_id(&body, APP_ID).unwrap().as_slice());
    let prefix = b"{\"appId\":10004,";
    assert_eq!(&sent[..prefix.len()], prefix);
    assert_eq!(&sent[prefix.len()..], &body[1..]);
    assert_eq!(accepted[0].tokens, [REG_ID]);
    assert_eq!(bed.client.token_fetches(), 1);
    assert_eq!(bed.standin.stats().token_fetches, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_auth_token_is_renewed_after_an_hour() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(REG_ID);
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    bed.clock.advance(59 * 60 * SECOND);
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.token_fetches(), 1);
    bed.clock.advance(2 * 60 * SECOND);
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.token_fetches(), 2);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_push_resent() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(REG_ID);
    bed.assert_an_expired_token_is_refreshed_once(REG_ID, Reply::AuthTokenInvalid, "10000")
        .await;

    // 10094: the body's appId is not the token's app.
    bed.standin.script_next(REG_ID, 1, Reply::AppIdMismatch);
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "10094".into()
        }
    );
}

#[tokio::test]
async fn every_outcome_class() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let server = |retry_after| Reply::ServerError { retry_after };
    let other = Reply::Other {
        status: 200,
        result: 10055,
    };
    // The daily quota waits for vivo's next day, not a backoff.
    let midnight = next_midnight(now, 8 * 3600);
    assert!(midnight > now && midnight <= now + 86_400 * SECOND);
    let rows = vec![
        row(
            Reply::InvalidUser { status: 2 },
            0,
            token_invalid("invalidUser 2"),
        ),
        row(
            Reply::InvalidUser { status: 4 },
            0,
            rejected("invalidUser 4"),
        ),
        row(server(Some(30)), 0, retry("HTTP 500", now + 30 * SECOND)),
        row(
            server(None),
            3,
            retry("HTTP 500", now + 8 * SERVER_BACKOFF.base),
        ),
        row(Reply::DailyQuota, 0, retry("10070", midnight)),
        row(Reply::CategoryMismatch, 0, rejected("10097")),
        row(other, 0, rejected("10055")),
    ];
    run_rows(
        rows,
        |i| format!("{REG_ID}{i}"),
        |reg_id, reply| bed.standin.script(reg_id, reply),
        async |reg_id, attempt| bed.client.send(&push(&bed.rendered(reg_id), attempt)).await,
    )
    .await;
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_or_a_skewed_clock_is_refused_by_the_standin() {
    let bed = bed_with(|b| b, "not-the-secret", None).await;
    let body = bed.rendered(REG_ID);
    let d = bed.client.send(&push(&body, 0)).await;
    let stats = bed.standin.stats();
    let counts = (stats.token_refusals, stats.token_fetches, stats.requests);
    common::assert_secret_refused(&d, &format!("auth: {RESULT_AUTH_SIGN} sign 不合法"), counts);

    // The right secret, but a clock 11 minutes ahead: outside ±10 minutes.
    let ahead = ManualClock::at(SystemTime::now() + 11 * 60 * SECOND);
    let bed = bed_with(|b| b, SECRET, Some(ahead)).await;
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: format!("auth: {RESULT_AUTH_TIMESTAMP} timestamp 不合法")
        }
    );
    assert_eq!(bed.standin.stats().token_refusals, 1);
}

#[tokio::test]
async fn the_standin_checks_what_vivo_checks() {
    let bed = bed(|b| b).await;
    let body = String::from_utf8(bed.rendered(REG_ID)).unwrap();
    // A category that contradicts the classification: 10097.
    let mismatched = body.replace("\"classification\":1", "\"classification\":0");
    assert_ne!(mismatched, body);
    let d = bed.client.send(&push(mismatched.as_bytes(), 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: "10097".into()
        }
    );
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn a_silent_auth_endpoint_is_a_timeout_within_the_request_timeout() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Hang));
    let config = VivoConfig {
        app_id: APP_ID,
        app_key: APP_KEY.into(),
        app_secret: SECRET.into(),
        endpoint: bed.standin.url(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_millis(300),
    };
    let client = VivoClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let d = client.send(&push(&bed.rendered(REG_ID), 0)).await;
    common::assert_token_timeout(&d, bed.clock.now());
    assert_eq!(bed.standin.stats().requests, 0);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_host_is_the_auth_token_s_backoff() {
    // vivo's auth and send share one host: when it is down the auth
    // request fails first, and its failure is remembered.
    let clock = ManualClock::starting_now();
    let config = VivoConfig {
        app_id: APP_ID,
        app_key: APP_KEY.into(),
        app_secret: SECRET.into(),
        endpoint: common::dead_url(),
        ca_file: None,
        request_timeout: Duration::from_secs(5),
    };
    let client = VivoClient::new(config, Arc::new(clock.clone())).unwrap();
    let body = render(
        "vivo",
        REG_ID,
        "hi",
        common::unix(clock.now()),
        serde_json::json!({ "VIVOCategory": "IM" }),
    );
    for attempt in [0, 3] {
        let d = client.send(&push(&body, attempt)).await;
        assert_eq!(
            d.outcome,
            Outcome::Retry {
                reason: "Unreachable".into(),
                not_before: clock.now() + TOKEN_BACKOFF.base
            },
            "attempt {attempt}"
        );
        assert_eq!(d.status, None);
    }
    assert_eq!(client.token_fetches(), 1);
}
