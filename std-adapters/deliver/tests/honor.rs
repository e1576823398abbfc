//! The Honor client against the Honor stand-in, really started on loopback:
//! the core's exact bytes with a millisecond `timestamp`, every outcome
//! class, the access token's life, a wrong secret refused, `expireTokens`
//! per token. Time moves on a `ManualClock` shared by client and stand-in.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{millis, push, rejected, retry, row, run_rows, token_invalid, SECOND};
use tidings_deliver::honor::{HonorClient, HonorConfig, FLOW_BACKOFF, SERVER_BACKOFF};
use tidings_deliver::Outcome;
use tidings_standin::honor::{HonorStandin, HonorStandinBuilder, Reply, TokenFault};
use tidings_std::clock::{Clock, ManualClock};

const APP_ID: &str = "104400001";
const CLIENT_ID: &str = "honor-client-1";
const SECRET: &str = "honor-test-secret";
const TOKEN: &str = "AFx3Gb0_honor_token_0001";

type Bed = common::Bed<HonorStandin, HonorClient>;

async fn bed_with(
    standin: impl FnOnce(HonorStandinBuilder) -> HonorStandinBuilder,
    secret: &str,
    client_clock: Option<ManualClock>,
) -> Bed {
    let clock = ManualClock::starting_now();
    let client_clock = client_clock.unwrap_or_else(|| clock.clone());
    let client = |standin: &HonorStandin, ca| {
        let config = HonorConfig {
            app_id: APP_ID.into(),
            client_id: CLIENT_ID.into(),
            client_secret: secret.into(),
            endpoint: standin.url(),
            token_endpoint: standin.token_url(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        HonorClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(HonorStandin::builder().app(APP_ID, CLIENT_ID, SECRET));
    let info = serde_json::json!({ "HonorImportance": "NORMAL" });
    Bed::start(clock, builder, client, "honor", "Lunch at 12? 🍜", info).await
}

async fn bed(standin: impl FnOnce(HonorStandinBuilder) -> HonorStandinBuilder) -> Bed {
    bed_with(standin, SECRET, None).await
}

#[tokio::test]
async fn delivers_the_rendered_bytes_with_a_millisecond_timestamp() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    for _ in 0..10 {
        let d = bed.client.send(&push(&body, 0)).await;
        common::assert_delivered_under_the_vendor_id(&d, "data.requestId");
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 10);
    assert_eq!(accepted[0].body.as_ref(), body.as_slice());
    assert_eq!(accepted[0].tokens, [TOKEN]);
    assert_eq!(accepted[0].timestamp_ms, Some(millis(bed.clock.now())));
    assert_eq!(bed.client.token_fetches(), 1);
    assert_eq!(bed.standin.stats().token_fetches, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_timestamp_in_seconds_or_off_by_minutes_is_refused() {
    // The client's clock is 11 minutes behind Honor's.
    let behind = ManualClock::at(std::time::SystemTime::now() - Duration::from_secs(11 * 60));
    let bed = bed_with(|b| b, SECRET, Some(behind)).await;
    let body = bed.rendered(TOKEN);
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: "80100001".into()
        }
    );
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_push_resent() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    bed.assert_an_expired_token_is_refreshed_once(TOKEN, Reply::AuthExpired, "80200003")
        .await;

    // 80300002 (Huawei's code, assumed shared) refuses the app at once.
    bed.standin.script_next(
        TOKEN,
        1,
        Reply::Other {
            status: 403,
            code: 80_300_002,
        },
    );
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "80300002".into()
        }
    );
}

#[tokio::test]
async fn every_outcome_class() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let flow = |retry_after| Reply::FlowControl { retry_after };
    let rows = vec![
        row(Reply::ExpiredToken, 0, token_invalid("expireTokens")),
        row(
            Reply::InternalError,
            1,
            retry("81000001", now + 2 * SERVER_BACKOFF.base),
        ),
        row(flow(Some(90)), 0, retry("HTTP 503", now + 90 * SECOND)),
        row(flow(None), 0, retry("HTTP 503", now + FLOW_BACKOFF.base)),
        row(Reply::BodyTooLarge, 0, rejected("80300008")),
        row(Reply::FailToken, 0, rejected("SendFailed")),
        row(Reply::InvalidTokens, 0, token_invalid("80300007")),
    ];
    let sent = run_rows(
        rows,
        |i| format!("{TOKEN}-{i}"),
        |token, reply| bed.standin.script(token, reply),
        async |token, attempt| bed.client.send(&push(&bed.rendered(token), attempt)).await,
    )
    .await;
    for i in [0, 6] {
        let (token, d) = &sent[i];
        assert_eq!(d.invalid_tokens, std::slice::from_ref(token));
    }
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn expire_tokens_per_token_in_a_partial_success() {
    let dead = format!("{TOKEN}-dead");
    let bed = bed(|b| b.reply_always(&dead, Reply::ExpiredToken)).await;
    // The core renders one token per push; a request for two is the same
    // body with a second token in its array.
    let one = String::from_utf8(bed.rendered(TOKEN)).unwrap();
    let two = one.replace(
        &format!("\"token\":[\"{TOKEN}\"]"),
        &format!("\"token\":[\"{TOKEN}\",\"{dead}\"]"),
    );
    assert_ne!(one, two);
    let d = bed.client.send(&push(two.as_bytes(), 0)).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    assert_eq!(d.invalid_tokens, [dead.as_str()]);
    assert_eq!(bed.standin.accepted()[0].invalid_tokens, [dead]);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_standin() {
    let bed = bed_with(|b| b, "not-the-secret", None).await;
    let body = bed.rendered(TOKEN);
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(d.status, Some(401));
    let stats = bed.standin.stats();
    let counts = (stats.token_refusals, stats.token_fetches, stats.requests);
    common::assert_secret_refused(&d, "OAuth2:invalid_client", counts);
}

#[tokio::test]
async fn the_standin_refuses_huawei_s_wrapper() {
    let bed = bed(|b| b).await;
    let body = String::from_utf8(bed.rendered(TOKEN)).unwrap();
    let wrapped = format!("{{\"message\":{body}}}");
    let d = bed.client.send(&push(wrapped.as_bytes(), 0)).await;
    // The token array is now inside `message`: no top-level token.
    assert!(matches!(d.outcome, Outcome::Rejected { .. }), "{d:?}");
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn an_unreachable_send_endpoint_backs_off_by_attempt() {
    let bed = bed(|b| b).await;
    let config = HonorConfig {
        app_id: APP_ID.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        endpoint: common::dead_url(),
        token_endpoint: bed.standin.token_url(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_secs(10),
    };
    let client = HonorClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let body = bed.rendered(TOKEN);
    common::assert_unreachable_backs_off_by_attempt(bed.clock.now(), async |attempt| {
        client.send(&push(&body, attempt)).await
    })
    .await;
    assert_eq!(bed.standin.stats().token_fetches, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_token_endpoint_is_a_timeout_within_the_request_timeout() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Hang));
    let config = HonorConfig {
        app_id: APP_ID.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        endpoint: bed.standin.url(),
        token_endpoint: bed.standin.token_url(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_millis(300),
    };
    let client = HonorClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let d = client.send(&push(&bed.rendered(TOKEN), 0)).await;
    common::assert_token_timeout(&d, bed.clock.now());
    assert_eq!(bed.standin.stats().requests, 0);
    bed.standin.shutdown().await.unwrap();
}
