//! The Huawei client against the Huawei stand-in, really started on
//! loopback: delivery of the core's exact bytes, every outcome class, the
//! access token's life (one fetch for many sends, ONE resend after
//! 80200003), a wrong secret refused, partial success per token. Time moves
//! on a `ManualClock` shared by client and stand-in; nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{dead_url, push, rejected, retry, row, run_rows, token_invalid, SECOND};
use tidings_deliver::huawei::{HuaweiClient, HuaweiConfig, FLOW_BACKOFF, SERVER_BACKOFF};
use tidings_deliver::outcome::TRANSPORT_BACKOFF;
use tidings_deliver::token::TOKEN_BACKOFF;
use tidings_deliver::{Delivery, Outcome};
use tidings_standin::huawei::{HuaweiStandin, HuaweiStandinBuilder, Reply, TokenFault};
use tidings_std::clock::{Clock, ManualClock};

const APP_ID: &str = "104000001";
const SECRET: &str = "huawei-test-secret";
const TOKEN: &str = "IQAAAACy0kYkAAD-hw_token_0001";

type Bed = common::Bed<HuaweiStandin, Arc<HuaweiClient>>;

async fn bed_with(
    standin: impl FnOnce(HuaweiStandinBuilder) -> HuaweiStandinBuilder,
    secret: &str,
) -> Bed {
    let clock = ManualClock::starting_now();
    let client_clock = clock.clone();
    let client = |standin: &HuaweiStandin, ca| {
        let config = HuaweiConfig {
            app_id: APP_ID.into(),
            client_id: APP_ID.into(),
            client_secret: secret.into(),
            endpoint: standin.url(),
            token_endpoint: standin.token_url(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        Arc::new(HuaweiClient::new(config, Arc::new(client_clock)).unwrap())
    };
    let builder = standin(HuaweiStandin::builder().app(APP_ID, SECRET));
    let info = serde_json::json!({ "HuaWeiCategory": "IM", "HuaWeiImportance": "NORMAL" });
    Bed::start(
        clock,
        builder,
        client,
        "huawei",
        "Lunch \"at\" 12? 🍜",
        info,
    )
    .await
}

async fn bed(standin: impl FnOnce(HuaweiStandinBuilder) -> HuaweiStandinBuilder) -> Bed {
    bed_with(standin, SECRET).await
}

impl common::Bed<HuaweiStandin, Arc<HuaweiClient>> {
    /// Another client of the same stand-in, with its own token cache.
    fn client(&self, token_endpoint: String, request_timeout: Duration) -> HuaweiClient {
        let config = HuaweiConfig {
            app_id: APP_ID.into(),
            client_id: APP_ID.into(),
            client_secret: SECRET.into(),
            endpoint: self.standin.url(),
            token_endpoint,
            ca_file: Some(self.ca()),
            request_timeout,
        };
        HuaweiClient::new(config, Arc::new(self.clock.clone())).unwrap()
    }

    /// `n` sends of `body` at once, each on its own task.
    async fn concurrently(&self, n: usize, body: &[u8]) -> Vec<Delivery> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (client, body) = (Arc::clone(&self.client), body.to_vec());
            tasks.spawn(async move { client.send(&push(&body, 0)).await });
        }
        tasks.join_all().await
    }
}

#[tokio::test]
async fn delivers_the_rendered_bytes_with_one_token_for_many_sends() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    for _ in 0..20 {
        let d = bed.client.send(&push(&body, 0)).await;
        common::assert_delivered_under_the_vendor_id(&d, "Huawei's requestId");
        assert_eq!(d.status, Some(200));
        assert!(d.invalid_tokens.is_empty());
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 20);
    assert_eq!(accepted[0].body.as_ref(), body.as_slice());
    assert_eq!(accepted[0].tokens, [TOKEN]);
    assert_eq!(accepted[0].app_id, APP_ID);
    assert_eq!(bed.client.token_fetches(), 1);
    assert_eq!(bed.standin.stats().token_fetches, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_token_is_refreshed_before_its_hour_is_out() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    bed.clock.advance(Duration::from_secs(3600 - 181));
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.token_fetches(), 1);
    bed.clock.advance(Duration::from_secs(2));
    assert!(matches!(
        bed.client.send(&push(&body, 0)).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.token_fetches(), 2, "refreshed 180 s early");
    assert_eq!(bed.standin.stats().answered_code("80200003"), 0);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_push_resent() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    // Refused twice: ONE resend; "expired" again right after a fresh
    // token is the sender's problem, not a loop.
    let d = bed
        .assert_an_expired_token_is_refreshed_once(TOKEN, Reply::AuthExpired, "80200003")
        .await;
    assert_eq!(d.status, Some(401));
    assert_eq!(
        bed.client.token_fetches(),
        3,
        "one new token per refusal resent"
    );

    // 80200001 twice: the credentials are wrong for this app.
    bed.standin.script_next(TOKEN, 2, Reply::AuthError);
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "80200001".into()
        }
    );
    assert_eq!(d.status, Some(401));

    // 80300002, the app forbidden to send: at once, no new token.
    let d = bed.client.send(&push(&body, 0)).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let fetches = bed.client.token_fetches();
    bed.standin.script_next(TOKEN, 1, Reply::AppForbidden);
    let d = bed.client.send(&push(&body, 0)).await;
    assert_eq!(
        (d.outcome, d.status),
        (
            Outcome::CredentialsRefused {
                reason: "80300002".into()
            },
            Some(403)
        )
    );
    assert_eq!(bed.client.token_fetches(), fetches);
}

#[tokio::test]
async fn every_outcome_class() {
    let bed = bed(|b| b).await;
    let now = bed.clock.now();
    let flow = |retry_after| Reply::FlowControl { retry_after };
    let other = Reply::Other {
        status: 400,
        code: "80999999".into(),
    };
    let rows = vec![
        row(Reply::InvalidToken, 0, token_invalid("80300007")),
        row(
            Reply::InternalError,
            0,
            retry("81000001", now + SERVER_BACKOFF.base),
        ),
        row(
            Reply::InternalError,
            2,
            retry("81000001", now + 20 * SECOND),
        ),
        // Retry-After wins over the policy.
        row(flow(Some(120)), 0, retry("HTTP 503", now + 120 * SECOND)),
        row(flow(None), 0, retry("HTTP 503", now + FLOW_BACKOFF.base)),
        row(Reply::BodyTooLarge, 0, rejected("80300008")),
        row(
            Reply::OAuthServiceFailed,
            0,
            retry("80600003", now + SERVER_BACKOFF.base),
        ),
        row(
            Reply::TopicFlowControl,
            1,
            retry("80100017", now + 2 * FLOW_BACKOFF.base),
        ),
        row(other, 0, rejected("80999999")),
    ];
    let sent = run_rows(
        rows,
        |i| format!("{TOKEN}-{i}"),
        |token, reply| bed.standin.script(token, reply),
        async |token, attempt| bed.client.send(&push(&bed.rendered(token), attempt)).await,
    )
    .await;
    let (dead, d) = &sent[0];
    assert_eq!(
        (d.status, &d.invalid_tokens),
        (Some(400), &vec![dead.clone()])
    );
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn partial_success_names_the_dead_tokens() {
    let dead = format!("{TOKEN}-dead");
    let bed = bed(|b| b.reply_always(&dead, Reply::InvalidToken)).await;
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
    let accepted = bed.standin.accepted();
    assert_eq!(accepted[0].tokens, [TOKEN.to_owned(), dead.clone()]);
    assert_eq!(accepted[0].invalid_tokens, [dead.as_str()]);
    assert_eq!(bed.standin.stats().answered_code("80100000"), 1);

    // Every token dead: the outcome says so.
    let both_dead = one.replace(
        &format!("\"token\":[\"{TOKEN}\"]"),
        &format!("\"token\":[\"{dead}\"]"),
    );
    let d = bed.client.send(&push(both_dead.as_bytes(), 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::TokenInvalid {
            reason: "80300007".into(),
            since: None
        }
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_standin() {
    let bed = bed_with(|b| b, "not-the-secret").await;
    let body = bed.rendered(TOKEN);
    let d = bed.client.send(&push(&body, 0)).await;
    // The stand-in's number for a wrong client (Huawei's are not in
    // vendors.md), behind the OAuth prefix.
    assert_eq!(d.status, Some(401));
    let stats = bed.standin.stats();
    let counts = (stats.token_refusals, stats.token_fetches, stats.requests);
    common::assert_secret_refused(&d, "OAuth2:1101", counts);
}

#[tokio::test]
async fn the_standin_checks_what_huawei_checks() {
    let bed = bed(|b| b).await;
    let body = String::from_utf8(bed.rendered(TOKEN)).unwrap();
    // Huawei's body without its `message` wrapper: a structure error.
    let unwrapped = body.replacen("{\"message\":", "", 1);
    let unwrapped = &unwrapped[..unwrapped.len() - 1];
    let d = bed.client.send(&push(unwrapped.as_bytes(), 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: "80100003".into()
        }
    );
    // HIGH importance needs a permission the app lacks.
    let high = body.replace("\"importance\":\"NORMAL\"", "\"importance\":\"HIGH\"");
    let d = bed.client.send(&push(high.as_bytes(), 0)).await;
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: "80300011".into()
        }
    );
    assert!(bed.standin.accepted().is_empty());
}

#[tokio::test]
async fn an_unreachable_send_endpoint_backs_off_by_attempt() {
    let bed = bed(|b| b).await;
    let config = HuaweiConfig {
        app_id: APP_ID.into(),
        client_id: APP_ID.into(),
        client_secret: SECRET.into(),
        endpoint: dead_url(),
        token_endpoint: bed.standin.token_url(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_secs(10),
    };
    let client = HuaweiClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let body = bed.rendered(TOKEN);
    common::assert_unreachable_backs_off_by_attempt(bed.clock.now(), async |attempt| {
        client.send(&push(&body, attempt)).await
    })
    .await;
    assert_eq!(bed.standin.stats().token_fetches, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_is_asked_once_and_remembered_for_its_backoff() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Status {
        status: 503,
        retry_after: None,
    }));
    let body = bed.rendered(TOKEN);
    let start = bed.clock.now();
    let failed = |not_before| Delivery {
        outcome: Outcome::Retry {
            reason: "OAuth2:http_503".into(),
            not_before,
        },
        status: Some(503),
        id: None,
        invalid_tokens: Vec::new(),
    };

    // Eight sends at once: one token request, its failure shared by all.
    let first = bed.concurrently(8, &body).await;
    assert_eq!(first, vec![failed(start + TOKEN_BACKOFF.base); 8]);
    assert_eq!(bed.standin.stats().token_requests, 1);
    assert_eq!(bed.client.token_fetches(), 1);

    // Within the backoff: the same answer at once, no token request.
    bed.clock.advance(Duration::from_millis(999));
    let second = bed.concurrently(8, &body).await;
    assert_eq!(second, first);
    assert_eq!(bed.standin.stats().token_requests, 1);

    // Once it has passed, one new request; its failure doubles the backoff.
    bed.clock.set(start + TOKEN_BACKOFF.base);
    let third = bed.concurrently(8, &body).await;
    assert_eq!(
        third,
        vec![failed(bed.clock.now() + 2 * TOKEN_BACKOFF.base); 8]
    );
    assert_eq!(bed.standin.stats().token_requests, 2);

    // The endpoint recovers: after the backoff, one token for every send.
    bed.standin.set_token_fault(None);
    bed.clock.advance(2 * TOKEN_BACKOFF.base);
    for d in bed.concurrently(8, &body).await {
        assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    }
    let stats = bed.standin.stats();
    assert_eq!((stats.token_requests, stats.token_fetches), (3, 1));
    assert_eq!(bed.standin.accepted().len(), 8);
    assert_eq!(stats.requests, 8, "no push went out without a token");
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_one_answer_for_the_backoff_whatever_the_attempt() {
    let bed = bed(|b| b).await;
    let client = bed.client(format!("{}/oauth2/v3/token", dead_url()), 10 * SECOND);
    let body = bed.rendered(TOKEN);
    let expected = Delivery {
        outcome: Outcome::Retry {
            reason: "Unreachable".into(),
            not_before: bed.clock.now() + TOKEN_BACKOFF.base,
        },
        status: None,
        id: None,
        invalid_tokens: Vec::new(),
    };
    assert_eq!(client.send(&push(&body, 0)).await, expected);
    assert_eq!(client.send(&push(&body, 3)).await, expected);
    assert_eq!(client.token_fetches(), 1, "the second send asked nobody");
    assert_eq!(bed.standin.stats().requests, 0);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_token_endpoint_is_a_timeout_within_the_request_timeout() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Hang));
    let client = bed.client(bed.standin.token_url(), Duration::from_millis(300));
    let body = bed.rendered(TOKEN);
    // Whichever deadline passes first, the send's (the transport backoff
    // for attempt 0) or the fetch's (remembered for the token backoff),
    // the answer is a retry a second from now with no status.
    assert_eq!(TOKEN_BACKOFF.base, TRANSPORT_BACKOFF.delay(0));
    let d = client.send(&push(&body, 0)).await;
    assert_eq!(
        d,
        Delivery {
            outcome: Outcome::Retry {
                reason: "Timeout".into(),
                not_before: bed.clock.now() + TOKEN_BACKOFF.base,
            },
            status: None,
            id: None,
            invalid_tokens: Vec::new(),
        }
    );
    assert_eq!(bed.standin.stats().requests, 0);
    bed.standin.shutdown().await.unwrap();
}

/// Huawei has no revoke API (beyond.md §13.2): a revoke routed here is
/// refused for good before any token or request.
#[tokio::test]
async fn a_revoke_is_refused_without_a_request() {
    let bed = bed(|b| b).await;
    let body = bed.rendered(TOKEN);
    let revoke = tidings_deliver::Push {
        action: tidings_deliver::Action::Revoke,
        ..push(&body, 0)
    };
    let d = bed.client.send(&revoke).await;
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: tidings_deliver::NO_REVOKE_API.into()
        }
    );
    let stats = bed.standin.stats();
    assert_eq!((stats.token_requests, stats.requests), (0, 0));
}
