//! The TPNS client against the TPNS stand-in, really started on loopback:
//! every outcome class of §9.3, the signature (a wrong secret and a skewed
//! clock refused), HTTP faults with and without `Retry-After`. Time moves
//! on a `ManualClock` shared by client and stand-in; nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    refused, rejected, render_case, retry, row, run_rows, token_invalid, Rendered, SECOND,
};
use tidings_deliver::tpns::{TpnsClient, TpnsConfig, FREQUENCY_BACKOFF, SERVER_BACKOFF};
use tidings_deliver::{Delivery, Outcome};
use tidings_standin::tpns::{code, Reply, TpnsStandin, TpnsStandinBuilder, TIMESTAMP_WINDOW_SECS};
use tidings_std::clock::{Clock, ManualClock};
use tidings_std::config::TpnsSection;

const ACCESS_ID: &str = "1500012345";
const SECRET: &str = "tpns-test-secret-0123456789abcdef";
const TOKEN: &str = "0b3f1a2c-6d7e-4f80-9a1b-2c3d4e5f6a7b";

fn render(token: &str, text: &str, now: i64) -> Rendered {
    let info = serde_json::json!({ "Ext": "{\"entity\":{\"sender\":\"ann\"}}" });
    render_case(
        common::text_case("tpns", token, text, now, info).to_string(),
        0,
    )
}

struct Bed {
    standin: TpnsStandin,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

impl Bed {
    fn client(&self, secret: &str, clock: ManualClock) -> TpnsClient {
        let section = TpnsSection {
            access_id: Some(ACCESS_ID.into()),
            secret_key: Some(secret.into()),
            endpoint: Some(self.standin.url()),
            ca_file: Some(self.dir.path().join("ca.pem")),
            ..TpnsSection::default()
        };
        TpnsClient::new(TpnsConfig::from_section(&section).unwrap(), Arc::new(clock)).unwrap()
    }

    async fn send_with(
        &self,
        client: &TpnsClient,
        token: &str,
        attempt: u32,
    ) -> (Rendered, Delivery) {
        let rendered = render(token, "Lunch at 12? 🍜", self.clock.unix_seconds());
        let push = rendered.push(attempt);
        let delivery = client.send(&push).await;
        (rendered, delivery)
    }

    async fn send(&self, token: &str, attempt: u32) -> Delivery {
        let client = self.client(SECRET, self.clock.clone());
        self.send_with(&client, token, attempt).await.1
    }
}

async fn bed(standin: impl FnOnce(TpnsStandinBuilder) -> TpnsStandinBuilder) -> Bed {
    let clock = ManualClock::starting_now();
    let standin = standin(
        TpnsStandin::builder()
            .credentials(ACCESS_ID, SECRET)
            .clock(Arc::new(clock.clone())),
    )
    .start()
    .await
    .unwrap();
    let (dir, _) = common::ca_file(standin.ca_pem());
    Bed {
        standin,
        clock,
        dir,
    }
}

#[tokio::test]
async fn delivers_the_signed_rendered_bytes() {
    let bed = bed(|b| b).await;
    let client = bed.client(SECRET, bed.clock.clone());
    let (rendered, d) = bed.send_with(&client, TOKEN, 0).await;
    assert_eq!(d.status, Some(200));
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 1);
    let got = &accepted[0];
    assert_eq!(got.body.as_ref(), rendered.body.as_slice(), "byte for byte");
    assert_eq!(got.tokens, [TOKEN]);
    assert_eq!(got.auth, "sign");
    assert_eq!(
        d.outcome,
        Outcome::Delivered {
            id: got.push_id.clone()
        }
    );
    assert_eq!(d.id.as_deref(), Some(got.push_id.as_str()));
    let payload = got.payload().unwrap();
    assert_eq!(
        payload["message"]["android"]["custom_content"],
        "{\"entity\":{\"sender\":\"ann\"}}"
    );
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn dead_tokens_are_token_invalid() {
    let bed = bed(|b| {
        b.reply_always("dead-1", Reply::Code(code::INVALID_TOKEN))
            .reply_always("dead-2", Reply::Code(code::TOKEN_INVALID))
            .reply_always("dead-3", Reply::Code(code::TARGET_NOT_FOUND))
    })
    .await;
    for (token, reason) in [
        ("dead-1", "1008006"),
        ("dead-2", "1008029"),
        ("dead-3", "10010005"),
    ] {
        let d = bed.send(token, 0).await;
        assert_eq!(
            d.outcome,
            Outcome::TokenInvalid {
                reason: reason.into(),
                since: None
            }
        );
    }
    // A token over 36 chars: the core sends it, the stand-in refuses it as TPNS does.
    let d = bed.send(&"x".repeat(37), 0).await;
    assert_eq!(
        d.outcome,
        Outcome::TokenInvalid {
            reason: "1008006".into(),
            since: None
        }
    );
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_retry_rejection_and_refusal() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let http = |status, retry_after| Reply::Http {
        status,
        retry_after,
    };
    // Issue 26: TPNS may carry its `ret_code` on a 4xx; the code decides.
    let on_400 = |ret_code| Reply::HttpCode {
        status: 400,
        ret_code,
    };
    assert!(
        FREQUENCY_BACKOFF.base >= Duration::from_secs(1),
        "§9.3: ≥ 1 s"
    );
    let rows = vec![
        row(
            Reply::Code(code::INTERNAL_ERROR),
            0,
            retry("1008004", now + SERVER_BACKOFF.base),
        ),
        row(
            Reply::Code(code::INTERNAL_ERROR),
            2,
            retry("1008004", now + SERVER_BACKOFF.delay(2)),
        ),
        row(
            Reply::Code(code::FREQUENCY_LIMIT),
            0,
            retry("1008028", now + FREQUENCY_BACKOFF.base),
        ),
        row(http(503, Some(30)), 0, retry("HTTP 503", now + 30 * SECOND)),
        row(
            http(502, None),
            1,
            retry("HTTP 502", now + SERVER_BACKOFF.delay(1)),
        ),
        row(
            http(429, None),
            0,
            retry("HTTP 429", now + FREQUENCY_BACKOFF.base),
        ),
        row(Reply::Code(code::CONTENT_FLAGGED), 0, rejected("1008019")),
        row(Reply::Code(code::DUPLICATE_PUSH), 0, rejected("10010018")),
        // The account, not the push: every push of the app would meet these.
        row(Reply::Code(code::UNPAID), 0, refused("1008030")),
        row(Reply::Code(code::RESOURCE_DESTROYED), 0, refused("1008031")),
        row(Reply::Code(code::NOT_DEPLOYED), 0, refused("1010001")),
        row(Reply::Code(code::ACCESS_MISMATCH), 0, refused("10030002")),
        row(http(401, None), 0, refused("HTTP 401")),
        row(on_400(code::INVALID_TOKEN), 0, token_invalid("1008006")),
        row(
            on_400(code::INTERNAL_ERROR),
            0,
            retry("1008004", now + SERVER_BACKOFF.base),
        ),
        // A success code under an error status is not a delivery.
        row(on_400(0), 0, rejected("HTTP 400")),
    ];
    let sent = run_rows(
        rows,
        |i| format!("tpns-row-{i}"),
        |token, reply| bed.standin.script(token, reply),
        async |token, attempt| bed.send(token, attempt).await,
    )
    .await;
    let statuses: Vec<Option<u16>> = sent.iter().map(|(_, d)| d.status).collect();
    assert_eq!(statuses[3], Some(503));
    assert_eq!(statuses[6..12], [Some(200); 6]);
    assert_eq!(statuses[12..], [Some(401), Some(400), Some(400), Some(400)]);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_or_a_skewed_clock_fails_the_signature() {
    let bed = bed(|b| b).await;
    let wrong = bed.client("not-the-secret", bed.clock.clone());
    let (_, d) = bed.send_with(&wrong, TOKEN, 0).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "1008003".into()
        }
    );
    let behind = ManualClock::at(
        bed.clock.now() - Duration::from_secs(u64::try_from(TIMESTAMP_WINDOW_SECS).unwrap() + 1),
    );
    let skewed = bed.client(SECRET, behind);
    let (_, d) = bed.send_with(&skewed, TOKEN, 0).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "1008003".into()
        }
    );
    let stats = bed.standin.stats();
    assert_eq!(
        (stats.auth_failures, stats.answered(code::AUTH_FAILED)),
        (2, 2)
    );
    assert!(bed.standin.accepted().is_empty());
    // Within the window, the same client's pushes pass.
    let near = ManualClock::at(bed.clock.now() - Duration::from_secs(60));
    let (_, d) = bed.send_with(&bed.client(SECRET, near), TOKEN, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_endpoint_backs_off_by_attempt() {
    let bed = bed(|b| b).await;
    let section = TpnsSection {
        access_id: Some(ACCESS_ID.into()),
        secret_key: Some(SECRET.into()),
        endpoint: Some("https://127.0.0.1:1".into()),
        ca_file: Some(bed.dir.path().join("ca.pem")),
        ..TpnsSection::default()
    };
    let client = TpnsClient::new(
        TpnsConfig::from_section(&section).unwrap(),
        Arc::new(bed.clock.clone()),
    )
    .unwrap();
    common::assert_unreachable_backs_off_by_attempt(bed.clock.now(), async |attempt| {
        (bed.send_with(&client, TOKEN, attempt).await).1
    })
    .await;
    bed.standin.shutdown().await.unwrap();
}
