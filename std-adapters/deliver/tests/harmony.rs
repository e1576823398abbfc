//! The HarmonyOS NEXT client against the HarmonyOS stand-in, really started
//! on loopback: the stand-in verifies every PS256 JWT with the account's
//! public key. A JWT minted once per hour and re-minted once on 80200005, a
//! wrong key refused, every code class, per-token reasons (the `noRight`
//! decision pinned), 503 backoff then success, revokes. Time moves on a
//! `ManualClock` shared by client and stand-in; nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{refused, rejected, retry, row, run_rows, token_invalid, SECOND};
use tidings_deliver::harmony::{
    HarmonyClient, HarmonyConfig, ServiceAccount, FLOW_BACKOFF, JWT_RENEW_BEFORE, SERVER_BACKOFF,
};
use tidings_deliver::{Action, Delivery, Outcome, Push};
use tidings_standin::harmony::{HarmonyStandin, HarmonyStandinBuilder, Reply, OTHER_TEST_KEY_PEM};
use tidings_standin::kit::Revoke;
use tidings_std::clock::{Clock, ManualClock};

const TOKEN: &str = "MAAALgE4G98BAAAAst_harmony_token_0001";
const CLIENT_ID: &str = "110000001";

type Bed = common::Bed<HarmonyStandin, HarmonyClient>;

/// The client's key file: the stand-in's account, signing with `pem`
/// (`None`: the account's own key).
fn account(standin: &HarmonyStandin, pem: Option<&str>) -> ServiceAccount {
    let mut test = standin.account().clone();
    if let Some(pem) = pem {
        test.private_key_pem = pem.to_owned();
    }
    ServiceAccount::from_json(test.key_file_json().as_bytes()).unwrap()
}

async fn bed_with(
    standin: impl FnOnce(HarmonyStandinBuilder) -> HarmonyStandinBuilder,
    pem: Option<&'static str>,
    client_id: Option<&'static str>,
) -> Bed {
    let clock = ManualClock::starting_now();
    let client_clock = clock.clone();
    let client = move |standin: &HarmonyStandin, ca| {
        let config = HarmonyConfig {
            project_id: standin.account().project_id.clone(),
            client_id: client_id.map(str::to_owned),
            account: account(standin, pem),
            endpoint: standin.url(),
            ca_file: Some(ca),
            request_timeout: Duration::from_secs(10),
        };
        HarmonyClient::new(config, Arc::new(client_clock)).unwrap()
    };
    let builder = standin(HarmonyStandin::builder().client_id(CLIENT_ID));
    let info = serde_json::json!({ "HarmonyCategory": "IM" });
    Bed::start(clock, builder, client, "harmony", "Lunch at 12? 🍜", info).await
}

async fn bed() -> Bed {
    bed_with(|b| b, None, Some(CLIENT_ID)).await
}

/// A push-type 0 body (beyond.md §11.2) to several `tokens` (the core
/// renders one token a push).
fn body(tokens: &[&str]) -> Vec<u8> {
    serde_json::json!({
        "payload": { "notification": {
            "category": "IM", "title": "Ann", "body": "Lunch at 12? 🍜",
            "clickAction": { "actionType": 0 }, "notifyId": 12345, "badge": { "addNum": 1 }
        } },
        "target": { "token": tokens },
        "pushOptions": { "ttl": 3600 }
    })
    .to_string()
    .into_bytes()
}

fn push(body: &[u8], attempt: u32, action: Action) -> Push<'_> {
    Push {
        action,
        ..common::push(body, attempt)
    }
}

impl Bed {
    /// The core's render of a text to `token`, sent.
    async fn send(&self, token: &str, attempt: u32) -> Delivery {
        let body = self.rendered(token);
        self.client.send(&push(&body, attempt, Action::Send)).await
    }
}

#[tokio::test]
async fn delivers_the_core_s_bytes_with_one_jwt_an_hour() {
    let bed = bed().await;
    let sent = bed.rendered(TOKEN);
    for _ in 0..5 {
        let d = bed.client.send(&push(&sent, 0, Action::Send)).await;
        common::assert_delivered_under_the_vendor_id(&d, "requestId");
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 5);
    assert_eq!(accepted[0].body.as_ref(), sent.as_slice());
    assert_eq!(accepted[0].tokens, [TOKEN]);
    assert_eq!(bed.client.jwts_minted(), 1);
    assert_eq!(bed.standin.stats().token_fetches, 1, "one distinct JWT");

    // Still the same JWT until JWT_RENEW_BEFORE is left of its hour…
    let hour = Duration::from_secs(3600);
    bed.clock.advance(hour - JWT_RENEW_BEFORE - SECOND);
    assert!(matches!(
        bed.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.jwts_minted(), 1);
    // …then a new one, which the stand-in verifies as well.
    bed.clock.advance(2 * SECOND);
    assert!(matches!(
        bed.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.client.jwts_minted(), 2);
    assert_eq!(bed.standin.stats().token_fetches, 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_jwt_is_reminted_once_and_the_push_resent() {
    let bed = bed().await;
    assert!(matches!(
        bed.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    bed.standin.expire_jwts();
    let d = bed.send(TOKEN, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    assert_eq!(bed.client.jwts_minted(), 2);
    let stats = bed.standin.stats();
    assert_eq!(stats.answered_code("80200005"), 1);
    assert_eq!(bed.standin.accepted().len(), 2);

    // Refused again right after a fresh JWT: the credentials, not a loop.
    bed.standin.script_next(TOKEN, 2, Reply::JwtExpired);
    assert_eq!(bed.send(TOKEN, 0).await.outcome, refused("80200005"));
    assert_eq!(
        bed.standin.stats().answered_code("80200005"),
        3,
        "one resend"
    );
    assert_eq!(bed.client.jwts_minted(), 3);
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused_credentials() {
    let bed = bed_with(|b| b, Some(OTHER_TEST_KEY_PEM), None).await;
    let d = bed.send(TOKEN, 0).await;
    assert_eq!(d.outcome, refused("80200001"));
    assert_eq!(d.status, Some(401));
    assert!(bed.standin.accepted().is_empty());
    assert_eq!(bed.standin.stats().token_fetches, 0, "no JWT passed");
}

#[tokio::test]
async fn every_code_class() {
    let bed = bed().await;
    // A first delivery proves the project (see the noRight test).
    assert!(matches!(
        bed.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    let now = bed.clock.now();
    let flow = |retry_after| Reply::FlowControl { retry_after };
    // 80300007 for one token, by its reason.
    let by_reason = |reason: &str, outcome: fn(&str) -> Outcome| {
        row(
            Reply::illegal(reason),
            0,
            outcome(&format!("80300007 {reason}")),
        )
    };
    let rows = vec![
        by_reason("tokenFormatError", token_invalid),
        by_reason("tokenPlatformNotSupport", token_invalid),
        by_reason("noRight", token_invalid),
        by_reason("noPushTypeRight", refused),
        by_reason("countryNotSupport", rejected),
        row(
            Reply::InternalError,
            1,
            retry("81000001", now + 2 * SERVER_BACKOFF.base),
        ),
        row(
            Reply::BadGateway,
            2,
            retry("HTTP 502", now + 4 * SERVER_BACKOFF.base),
        ),
        row(flow(Some(90)), 0, retry("HTTP 503", now + 90 * SECOND)),
        row(
            flow(None),
            1,
            retry("HTTP 503", now + 2 * FLOW_BACKOFF.base),
        ),
        row(
            Reply::TestMessageRate,
            0,
            retry("80300029", now + FLOW_BACKOFF.base),
        ),
        row(Reply::BodyTooLarge, 0, rejected("80300008")),
        row(Reply::ParameterError, 0, rejected("80100001")),
        row(Reply::TtlBeforeNow, 0, rejected("80100004")),
        row(Reply::TokenCount, 0, rejected("80300010")),
        row(Reply::AuthError, 0, refused("80200001")),
        row(Reply::PushNotEnabled, 0, refused("80300002")),
        row(Reply::Penalised, 0, refused("80300037")),
        row(Reply::JwtTooLong, 0, refused("80300036")),
        row(
            Reply::Other {
                status: 200,
                code: "89999999".into(),
            },
            0,
            rejected("89999999"),
        ),
    ];
    let sent = run_rows(
        rows,
        |i| format!("{TOKEN}-{i}"),
        |token, reply| bed.standin.script(token, reply),
        async |token, attempt| bed.send(token, attempt).await,
    )
    .await;
    for (i, (token, d)) in sent.iter().enumerate() {
        let dropped = matches!(d.outcome, Outcome::TokenInvalid { .. });
        assert_eq!(d.invalid_tokens.contains(token), dropped, "row {i}: {d:?}");
    }
    assert_eq!(bed.standin.accepted().len(), 1, "only the first push");
}

/// `noRight` on a one-token request: the channel's credentials until this
/// client has seen the project take a push, a dead token after (the
/// module doc of `tidings_deliver::harmony` gives the reasons).
#[tokio::test]
async fn no_right_pauses_until_the_project_took_a_push_then_drops_the_token() {
    let stale = format!("{TOKEN}-before-next");
    let bed = bed_with(
        |b| b.reply_always(&stale, Reply::illegal("noRight")),
        None,
        None,
    )
    .await;
    let d = bed.send(&stale, 0).await;
    assert_eq!(d.outcome, refused("80300007 noRight"));
    assert!(d.invalid_tokens.is_empty(), "kept: it may be the project");
    assert!(matches!(
        bed.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    let d = bed.send(&stale, 1).await;
    assert_eq!(d.outcome, token_invalid("80300007 noRight"));
    assert_eq!(d.invalid_tokens, [stale]);
}

#[tokio::test]
async fn a_partial_success_names_each_dead_token_by_its_reason() {
    let (format_error, no_right, far) = ("t-format", "t-no-right", "t-country");
    let bed = bed_with(
        |b| {
            b.reply_always(format_error, Reply::illegal("tokenFormatError"))
                .reply_always(no_right, Reply::illegal("noRight"))
                .reply_always(far, Reply::illegal("countryNotSupport"))
        },
        None,
        None,
    )
    .await;
    // A fresh client: the answer's own success proves the project.
    let sent = body(&[TOKEN, format_error, no_right, far]);
    let d = bed.client.send(&push(&sent, 0, Action::Send)).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let mut dead = d.invalid_tokens.clone();
    dead.sort();
    assert_eq!(
        dead,
        [format_error, no_right],
        "countryNotSupport keeps its token"
    );
    let accepted = bed.standin.accepted();
    assert_eq!(accepted[0].invalid_tokens.len(), 3);
    assert_eq!(bed.standin.stats().answered_code("80100000"), 1);
}

#[tokio::test]
async fn flow_control_backs_off_then_the_retry_is_delivered() {
    let bed = bed().await;
    bed.standin
        .script_next(TOKEN, 1, Reply::FlowControl { retry_after: None });
    let d = bed.send(TOKEN, 0).await;
    let now = bed.clock.now();
    assert_eq!(d.outcome, retry("HTTP 503", now + FLOW_BACKOFF.base));
    bed.clock.advance(FLOW_BACKOFF.base);
    assert!(matches!(
        bed.send(TOKEN, 1).await.outcome,
        Outcome::Delivered { .. }
    ));
    assert_eq!(bed.standin.accepted().len(), 1);
}

/// A message with a key, sent then revoked: the core's revoke names the
/// `notifyId` its push carried, and goes to the client id's revoke path.
#[tokio::test]
async fn the_core_s_revoke_goes_to_the_client_id_with_the_jwt() {
    let bed = bed().await;
    let now = common::unix(bed.clock.now());
    let info = serde_json::json!({ "AndroidInfo": { "HarmonyCategory": "IM" } });
    let mut case = common::text_case("harmony", TOKEN, "Lunch at 12?", now, info);
    case["Message"]["MsgKey"] = "31906_833502_1572869830".into();
    let sent = common::render_case(case.to_string(), now).body;
    let revoke = common::render_revoke(case.to_string(), now);
    let notify_id = |body: &[u8], at: &[&str]| {
        let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
        for key in at {
            v = v[*key].take();
        }
        v.as_i64().unwrap()
    };
    let id = notify_id(&sent, &["payload", "notification", "notifyId"]);
    assert_eq!(notify_id(&revoke, &["notifyId"]), id);

    let d = bed.client.send(&push(&sent, 0, Action::Send)).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let d = bed.client.send(&push(&revoke, 0, Action::Revoke)).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let taken = Revoke {
        notify_id: id,
        tokens: vec![TOKEN.into()],
    };
    assert_eq!(bed.standin.revokes(), [taken]);
    assert_eq!(bed.standin.accepted().len(), 1, "a revoke is not a push");
    assert_eq!(bed.client.jwts_minted(), 1, "one JWT for both paths");
    // A dead token answers a revoke as it answers a send.
    bed.standin
        .script_next(TOKEN, 1, Reply::illegal("tokenFormatError"));
    let d = bed.client.send(&push(&revoke, 0, Action::Revoke)).await;
    assert_eq!(d.outcome, token_invalid("80300007 tokenFormatError"));
    assert_eq!(d.invalid_tokens, [TOKEN]);
    assert_eq!(bed.standin.revokes().len(), 1);
}

#[tokio::test]
async fn a_revoke_without_a_client_id_is_refused_before_sending() {
    let bed = bed_with(|b| b, None, None).await;
    let revoke = serde_json::json!({ "notifyId": 1, "token": [TOKEN] }).to_string();
    let d = bed
        .client
        .send(&push(revoke.as_bytes(), 0, Action::Revoke))
        .await;
    assert_eq!(d.outcome, rejected("NoClientId"));
    assert_eq!(d.status, None);
    assert_eq!(bed.standin.stats().requests, 0);
    assert_eq!(bed.client.jwts_minted(), 0);
}

#[tokio::test]
async fn an_unreachable_host_backs_off_by_attempt() {
    let bed = bed().await;
    let config = HarmonyConfig {
        project_id: bed.standin.account().project_id.clone(),
        client_id: None,
        account: account(&bed.standin, None),
        endpoint: common::dead_url(),
        ca_file: Some(bed.ca()),
        request_timeout: Duration::from_secs(10),
    };
    let client = HarmonyClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let sent = bed.rendered(TOKEN);
    common::assert_unreachable_backs_off_by_attempt(bed.clock.now(), async |attempt| {
        client.send(&push(&sent, attempt, Action::Send)).await
    })
    .await;
}

/// Everything logged, at every level, while the client mints, sends, is
/// refused and cannot sign: never the private key, never a JWT.
#[tokio::test]
async fn the_private_key_and_the_jwt_never_reach_the_logs() {
    use std::sync::Mutex;
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let good = bed().await;
    assert!(matches!(
        good.send(TOKEN, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    good.standin.script_next(TOKEN, 2, Reply::JwtExpired);
    assert_eq!(good.send(TOKEN, 0).await.outcome, refused("80200005"));
    let wrong = bed_with(|b| b, Some(OTHER_TEST_KEY_PEM), None).await;
    assert_eq!(wrong.send(TOKEN, 0).await.outcome, refused("80200001"));

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("80200005"), "the logs were captured: {logs}");
    let key = good.standin.account().private_key_pem.clone();
    for pem in [key.as_str(), OTHER_TEST_KEY_PEM] {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!logs.contains(line), "a key line was logged");
        }
    }
    // Every JWT starts with the base64url of `{"`.
    assert!(!logs.contains("eyJ"), "a JWT was logged");
}
