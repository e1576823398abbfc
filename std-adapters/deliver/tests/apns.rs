//! The APNs client against the APNs stand-in, really started on loopback:
//! every outcome class, the provider token's life, GOAWAY, dropped
//! connections, deadlines and certificate auth. Time moves on a
//! `ManualClock` shared by client and stand-in; nothing sleeps.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{
    refused, rejected, render_case, retry, row, run_rows, token_invalid, Rendered, SECOND,
};
use tidings_deliver::apns::{ApnsAuth, ApnsClient, ApnsConfig, SERVER_BACKOFF, TOKEN_RENEW_FLOOR};
use tidings_deliver::http2::PoolConfig;
use tidings_deliver::jwt::Es256Key;
use tidings_deliver::outcome::TRANSPORT_BACKOFF;
use tidings_deliver::tls::ClientIdentity;
use tidings_deliver::{Delivery, Outcome, Push};
use tidings_standin::apns::{
    generate_signing_key, ApnsSigningKey, ApnsStandin, ApnsStandinBuilder, Auth, Reply,
};
use tidings_std::clock::{Clock, ManualClock};

const TOPIC: &str = "com.example.chat";
const TEAM: &str = "TEAM000001";
const KEY_ID: &str = "KEY0000001";
const TOKEN: &str = "5f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";

/// A rendered push whose headers borrow a case leaked for the test's life.
fn case_json(token: &str, text: &str, now: i64, extra_apns: &str) -> String {
    serde_json::json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
            "OfflinePushInfo": {
                "ApnsInfo": serde_json::from_str::<serde_json::Value>(
                    &format!("{{\"Sound\": \"ding.aiff\"{extra_apns}}}")
                ).unwrap()
            },
            "MsgLifeTime": 3600
        },
        "Sender": { "Nick": "Ann" },
        "Recipient": {
            "Account": "bob",
            "Device": { "Channel": "apns", "Token": token, "State": "background" },
            "Badge": 4
        },
        "App": { "BundleId": TOPIC },
        "Now": now
    })
    .to_string()
}

fn render(json: String) -> Rendered {
    render_case(json, 0)
}

fn push(rendered: &Rendered, attempt: u32) -> Push<'_> {
    rendered.push(attempt)
}

struct Bed {
    standin: ApnsStandin,
    client: Arc<ApnsClient>,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

impl Bed {
    /// A bed whose client is made from `config` on `clock` (the stand-in's).
    fn new(
        standin: ApnsStandin,
        config: ApnsConfig,
        clock: ManualClock,
        dir: tempfile::TempDir,
    ) -> Self {
        let client = Arc::new(ApnsClient::new(config, Arc::new(clock.clone())).unwrap());
        Bed {
            standin,
            client,
            clock,
            _dir: dir,
        }
    }

    fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    fn rendered(&self, token: &str) -> Rendered {
        render(case_json(token, "Lunch at 12?", self.now(), ""))
    }

    async fn send(&self, rendered: &Rendered, attempt: u32) -> (Push<'static>, Delivery) {
        let leaked: &'static Rendered = Box::leak(Box::new(Rendered {
            body: rendered.body.clone(),
            headers: rendered.headers,
        }));
        let p = push(leaked, attempt);
        (p, self.client.send(&p).await)
    }
}

fn key() -> ApnsSigningKey {
    generate_signing_key(TEAM, KEY_ID).unwrap()
}

/// Token auth (`.p8`) with `key`, for `TEAM` and `KEY_ID`.
fn token_auth(key: &ApnsSigningKey) -> ApnsAuth {
    ApnsAuth::Token {
        team_id: TEAM.into(),
        key_id: KEY_ID.into(),
        key: Box::new(Es256Key::from_pkcs8_pem(key.p8_pem.as_bytes()).unwrap()),
    }
}

async fn bed(
    standin: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder,
    pool: PoolConfig,
    request_timeout: Duration,
) -> Bed {
    let key = key();
    let clock = ManualClock::starting_now();
    let standin = standin(
        ApnsStandin::builder()
            .signing_key_from(&key)
            .topic(TOPIC)
            .clock(Arc::new(clock.clone())),
    )
    .start()
    .await
    .unwrap();
    let (dir, ca) = common::ca_file(standin.ca_pem());
    let config = ApnsConfig {
        endpoint: standin.url(),
        auth: token_auth(&key),
        ca_file: Some(ca),
        pool,
        request_timeout,
    };
    Bed::new(standin, config, clock, dir)
}

async fn default_bed(standin: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder) -> Bed {
    bed(standin, PoolConfig::default(), Duration::from_secs(10)).await
}

#[tokio::test]
async fn delivers_the_rendered_bytes_and_headers_as_they_are() {
    let bed = default_bed(|b| b).await;
    let rendered = render(case_json(
        TOKEN,
        "Lunch \"at\" 12? 🍜",
        bed.now(),
        ", \"CollapseId\": \"thread-7\"",
    ));
    let (push, delivery) = bed.send(&rendered, 0).await;
    assert_eq!(
        delivery.outcome,
        Outcome::Delivered {
            id: push.id.to_string()
        }
    );
    assert_eq!(delivery.status, Some(200));
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 1);
    let got = &accepted[0];
    assert_eq!(got.body.as_ref(), rendered.body.as_slice());
    assert_eq!(got.token, TOKEN);
    assert_eq!(got.apns_id, push.id.to_string());
    assert!(got.apns_id_from_request);
    assert_eq!(got.topic.as_deref(), Some(TOPIC));
    assert_eq!(got.priority, Some(10));
    assert_eq!(got.collapse_id.as_deref(), Some("thread-7"));
    let expected_expiration = u64::try_from(bed.now() + 3600).unwrap();
    assert_eq!(got.expiration, Some(expected_expiration));
    assert!(matches!(&got.auth, Auth::Token { key_id, .. } if &**key_id == KEY_ID));
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_outcome_class_from_the_table() {
    let bed = default_bed(|b| b).await;
    let now = bed.clock.now();
    let too_many = |retry_after| Reply::TooManyRequests { retry_after };
    let unregistered = Reply::Unregistered {
        timestamp_ms: Some(1_700_000_000_123),
    };
    let since = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let rows = vec![
        row(
            unregistered,
            0,
            Outcome::TokenInvalid {
                reason: "Unregistered".into(),
                since: Some(since),
            },
        ),
        row(Reply::BadDeviceToken, 0, token_invalid("BadDeviceToken")),
        row(
            Reply::InternalServerError,
            0,
            retry("InternalServerError", now + SERVER_BACKOFF.base),
        ),
        // Retry-After wins over the policy.
        row(
            too_many(Some(120)),
            0,
            retry("TooManyRequests", now + 120 * SECOND),
        ),
        row(
            too_many(None),
            0,
            retry("TooManyRequests", now + 60 * SECOND),
        ),
        row(Reply::PayloadTooLarge, 0, rejected("PayloadTooLarge")),
        // The backoff grows with the attempt.
        row(
            Reply::ServiceUnavailable,
            2,
            retry("ServiceUnavailable", now + SERVER_BACKOFF.base * 4),
        ),
        row(Reply::TopicDisallowed, 0, refused("TopicDisallowed")),
    ];
    let sent = run_rows(
        rows,
        |i| format!("{i:02x}{}", &TOKEN[2..]),
        |token, reply| bed.standin.script(token, reply),
        async |token, attempt| bed.send(&bed.rendered(token), attempt).await.1,
    )
    .await;
    assert_eq!(sent[0].1.status, Some(410));
    assert_eq!(sent[5].1.status, Some(413));
    // Shutdown is resent on a fresh connection; when every connection
    // says so, it is a retry.
    let shutdown = format!("ff{}", &TOKEN[2..]);
    bed.standin.script(&shutdown, Reply::Shutdown);
    let opened = bed.client.connections_opened();
    let (_, d) = bed.send(&bed.rendered(&shutdown), 0).await;
    assert!(matches!(d.outcome, Outcome::Retry { reason, .. } if reason == "Shutdown"));
    assert!(bed.client.connections_opened() > opened);
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_shutdown_or_idle_timeout_is_resent_on_a_new_connection() {
    let other = format!("ab{}", &TOKEN[2..]);
    let bed = default_bed(|b| {
        b.reply_next(TOKEN, 1, Reply::Shutdown)
            .reply_next(&other, 1, Reply::IdleTimeout)
    })
    .await;
    for token in [TOKEN, other.as_str()] {
        let (push, d) = bed.send(&bed.rendered(token), 0).await;
        assert_eq!(
            d.outcome,
            Outcome::Delivered {
                id: push.id.to_string()
            }
        );
    }
    assert_eq!(bed.client.connections_opened(), 3);
    assert_eq!(bed.standin.accepted().len(), 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_provider_token_for_a_thousand_sends() {
    let bed = default_bed(|b| b).await;
    let rendered = Arc::new(bed.rendered(TOKEN));
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (client, rendered) = (Arc::clone(&bed.client), Arc::clone(&rendered));
        sends.spawn(async move { client.send(&push(&rendered, 0)).await });
    }
    let mut delivered = 0;
    while let Some(d) = sends.join_next().await {
        delivered += usize::from(matches!(d.unwrap().outcome, Outcome::Delivered { .. }));
    }
    assert_eq!(delivered, 1000);
    assert_eq!(bed.client.token_mints(), 1);
    assert_eq!(bed.standin.stats().distinct_jwts, 1);
    assert_eq!(bed.standin.accepted().len(), 1000);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn expired_provider_token_is_renewed_once_and_the_push_resent() {
    let bed = default_bed(|b| b.reply_next(TOKEN, 1, Reply::ExpiredProviderToken)).await;
    let rendered = bed.rendered(TOKEN);
    let (_, d) = bed.send(&rendered, 0).await;
    // Minted just now: the floor forbids a new token for 20 minutes.
    assert_eq!(
        d.outcome,
        Outcome::Retry {
            reason: "ExpiredProviderToken".into(),
            not_before: bed.clock.now() + TOKEN_RENEW_FLOOR
        }
    );
    assert_eq!(bed.client.token_mints(), 1);

    bed.clock.advance(Duration::from_secs(30 * 60));
    bed.standin
        .script_next(TOKEN, 1, Reply::ExpiredProviderToken);
    let (push, d) = bed.send(&rendered, 1).await;
    assert_eq!(
        d.outcome,
        Outcome::Delivered {
            id: push.id.to_string()
        }
    );
    assert_eq!(bed.client.token_mints(), 2);
    assert_eq!(bed.standin.stats().distinct_jwts, 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn expired_again_after_a_fresh_provider_token_is_credentials_refused() {
    let bed = default_bed(|b| b.reply_next(TOKEN, 2, Reply::ExpiredProviderToken)).await;
    let rendered = bed.rendered(TOKEN);
    // A token old enough to renew: the first refusal mints a fresh one…
    bed.send(&bed.rendered(&format!("ab{}", &TOKEN[2..])), 0)
        .await;
    bed.clock.advance(Duration::from_secs(30 * 60));
    let (_, d) = bed.send(&rendered, 0).await;
    // … and APNs calls that one expired too: the clock or key is wrong.
    assert_eq!(d.status, Some(403));
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "ExpiredProviderToken".into()
        }
    );
    assert_eq!(bed.client.token_mints(), 2, "one fresh token, no loop");
    assert_eq!(bed.standin.stats().distinct_jwts, 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_credential_refusal_is_credentials_refused() {
    let refusals = [
        (Reply::InvalidProviderToken, 403, "InvalidProviderToken"),
        (Reply::MissingProviderToken, 403, "MissingProviderToken"),
        (Reply::BadCertificate, 403, "BadCertificate"),
        (
            Reply::BadCertificateEnvironment,
            403,
            "BadCertificateEnvironment",
        ),
        (
            Reply::BadEnvironmentKeyIdInToken,
            403,
            "BadEnvironmentKeyIdInToken",
        ),
        (Reply::TopicDisallowed, 400, "TopicDisallowed"),
        (Reply::BadTopic, 400, "BadTopic"),
        (Reply::MissingTopic, 400, "MissingTopic"),
    ];
    let token = |i: usize| format!("{i:02x}{}", &TOKEN[2..]);
    let scripts = refusals.clone();
    let bed = default_bed(move |mut b| {
        for (i, (reply, _, _)) in scripts.into_iter().enumerate() {
            b = b.reply_always(&token(i), reply);
        }
        b.reply_always(&token(99), Reply::Forbidden)
    })
    .await;
    for (i, (_, status, reason)) in refusals.iter().enumerate() {
        let (_, d) = bed.send(&bed.rendered(&token(i)), 0).await;
        assert_eq!(
            (d.outcome, d.status),
            (
                Outcome::CredentialsRefused {
                    reason: (*reason).into()
                },
                Some(*status)
            )
        );
    }
    // `Forbidden` may depend on the push: it stays the push's rejection.
    let (_, d) = bed.send(&bed.rendered(&token(99)), 0).await;
    assert_eq!(d.outcome.name(), "rejected");
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn provider_token_is_renewed_after_50_minutes_not_before() {
    let bed = default_bed(|b| b).await;
    let rendered = bed.rendered(TOKEN);
    bed.send(&rendered, 0).await;
    bed.clock.advance(Duration::from_secs(49 * 60));
    let (_, d) = bed.send(&rendered, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }));
    assert_eq!(bed.client.token_mints(), 1);
    bed.clock.advance(Duration::from_secs(60));
    let (_, d) = bed.send(&rendered, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }));
    assert_eq!(bed.client.token_mints(), 2);
    // An hour on the stand-in's clock without a send: the old token would
    // be refused; the client's is fresh.
    bed.clock.advance(Duration::from_secs(61 * 60));
    let (_, d) = bed.send(&rendered, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }));
    assert_eq!(bed.client.token_mints(), 3);
    assert!(!bed.standin.stats().answers.contains_key(&403));
    bed.standin.shutdown().await.unwrap();
}

/// Sends `n` pushes at once; returns each push's id and delivery.
async fn burst(bed: &Bed, n: usize) -> Vec<(String, Delivery)> {
    let rendered = Arc::new(bed.rendered(TOKEN));
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, rendered) = (Arc::clone(&bed.client), Arc::clone(&rendered));
        sends.spawn(async move {
            let p = push(&rendered, 0);
            (p.id.to_string(), client.send(&p).await)
        });
    }
    let mut results = Vec::with_capacity(n);
    while let Some(r) = sends.join_next().await {
        results.push(r.unwrap());
    }
    results
}

#[tokio::test]
async fn goaway_mid_burst_loses_nothing_and_sends_nothing_twice() {
    let bed = bed(
        |b| b.goaway_after(40),
        PoolConfig {
            max_connections: 2,
            ..PoolConfig::default()
        },
        Duration::from_secs(20),
    )
    .await;
    let results = burst(&bed, 400).await;
    let not_delivered: Vec<_> = results
        .iter()
        .filter(|(_, d)| !matches!(d.outcome, Outcome::Delivered { .. }))
        .collect();
    assert!(not_delivered.is_empty(), "{not_delivered:?}");
    let accepted: Vec<String> = bed
        .standin
        .accepted()
        .into_iter()
        .map(|a| a.apns_id)
        .collect();
    let unique: HashSet<&String> = accepted.iter().collect();
    assert_eq!(accepted.len(), 400, "every push recorded once");
    assert_eq!(unique.len(), 400, "no push recorded twice");
    let sent: HashSet<&String> = results.iter().map(|(id, _)| id).collect();
    assert_eq!(sent, unique);
    let stats = bed.standin.stats();
    assert!(stats.goaways >= 400 / 40 - 1, "{stats:?}");
    assert!(bed.client.connections_opened() >= 10);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_is_reported_and_never_claimed_delivered() {
    let bed = default_bed(|b| b.drop_after(25)).await;
    let results = burst(&bed, 100).await;
    let accepted: HashSet<String> = bed
        .standin
        .accepted()
        .into_iter()
        .map(|a| a.apns_id)
        .collect();
    let mut lost = 0;
    for (id, d) in &results {
        match &d.outcome {
            Outcome::Delivered { .. } => assert!(accepted.contains(id), "{id} claimed delivered"),
            Outcome::Retry { reason, .. } => {
                assert_eq!(reason, "ConnectionLost");
                assert_eq!(d.status, None);
                lost += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(lost > 0, "the fault cut no stream");
    assert!(bed.standin.stats().connections_cut > 0);
    // The client goes on over new connections: the fault cuts each one at
    // its 26th stream, so each of the pool's connections (four at most)
    // loses at most one more push before five are delivered in a row.
    let (mut delivered_after, mut tries) = (0, 0);
    while delivered_after < 5 && tries < 5 + 5 {
        tries += 1;
        let (push, d) = bed.send(&bed.rendered(TOKEN), 0).await;
        match d.outcome {
            Outcome::Delivered { id } => {
                assert_eq!(id, push.id.to_string());
                delivered_after += 1;
            }
            Outcome::Retry { reason, .. } => assert_eq!(reason, "ConnectionLost"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delivered_after, 5);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_deadline_bounds_every_send() {
    let bed = bed(
        |b| b.delay(Duration::from_secs(30)),
        PoolConfig::default(),
        Duration::from_millis(300),
    )
    .await;
    let (_, d) = bed.send(&bed.rendered(TOKEN), 2).await;
    assert_eq!(d.status, None);
    assert_eq!(
        d.outcome,
        Outcome::Retry {
            reason: "Timeout".into(),
            not_before: bed.clock.now() + 4 * TRANSPORT_BACKOFF.base
        }
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_backs_off_by_attempt() {
    let clock = ManualClock::starting_now();
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ApnsConfig {
        endpoint: format!("https://127.0.0.1:{port}"),
        auth: token_auth(&key()),
        ca_file: None,
        pool: PoolConfig::default(),
        request_timeout: Duration::from_secs(5),
    };
    let client = ApnsClient::new(config, Arc::new(clock.clone())).unwrap();
    let rendered = render(case_json(TOKEN, "hi", clock.unix_seconds(), ""));
    common::assert_unreachable_backs_off_by_attempt(clock.now(), async |attempt| {
        client.send(&push(&rendered, attempt)).await
    })
    .await;
}

async fn certificate_bed(
    identity_file: PathBuf,
    password: Option<&str>,
    dir: tempfile::TempDir,
    standin: ApnsStandin,
    clock: ManualClock,
) -> Bed {
    let ca = dir.path().join("ca.pem");
    standin.write_ca_pem(&ca).unwrap();
    let config = ApnsConfig {
        endpoint: standin.url(),
        auth: ApnsAuth::Certificate(ClientIdentity::load(&identity_file, password).unwrap()),
        ca_file: Some(ca),
        pool: PoolConfig::default(),
        request_timeout: Duration::from_secs(10),
    };
    Bed::new(standin, config, clock, dir)
}

#[tokio::test]
async fn certificate_auth_from_pem_and_from_pkcs12() {
    for pkcs12 in [false, true] {
        let clock = ManualClock::starting_now();
        let standin = ApnsStandin::builder()
            .topic(TOPIC)
            .clock(Arc::new(clock.clone()))
            .start()
            .await
            .unwrap();
        let identity = standin.issue_client_identity(TOPIC).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (file, password) = if pkcs12 {
            let file = dir.path().join("apns.p12");
            std::fs::write(&file, &identity.pkcs12).unwrap();
            (file, Some(identity.pkcs12_password.clone()))
        } else {
            let file = dir.path().join("apns.pem");
            std::fs::write(&file, identity.identity_pem()).unwrap();
            (file, None)
        };
        let bed = certificate_bed(file, password.as_deref(), dir, standin, clock).await;
        let (push, d) = bed.send(&bed.rendered(TOKEN), 0).await;
        assert_eq!(
            d.outcome,
            Outcome::Delivered {
                id: push.id.to_string()
            },
            "pkcs12: {pkcs12}"
        );
        assert_eq!(bed.client.token_mints(), 0);
        assert_eq!(bed.standin.accepted()[0].auth, Auth::Certificate);
        bed.standin.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_pkcs12_password_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apns.p12");
    let standin = ApnsStandin::builder().start().await.unwrap();
    let identity = standin.issue_client_identity(TOPIC).unwrap();
    std::fs::write(&file, &identity.pkcs12).unwrap();
    let e = ClientIdentity::load(&file, Some("wrong")).unwrap_err();
    assert!(e.to_string().contains("apns.p12"), "{e}");
    assert!(!e.to_string().contains(&identity.pkcs12_password));
    standin.shutdown().await.unwrap();
}
