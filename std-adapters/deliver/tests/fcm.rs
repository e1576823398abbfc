//! The FCM client against the FCM stand-in (token endpoint and
//! `messages:send`), really started on loopback: every outcome class, the
//! access token's life (fetched once, refreshed early, refreshed once on
//! 401), a wrong key refused, HTTP/2 multiplexing. Time moves on a
//! `ManualClock` shared by client and stand-in; nothing sleeps.

mod common;

use common::{render_case, Rendered};
use std::sync::Arc;
use std::time::Duration;

use tidings_deliver::fcm::{
    FcmClient, FcmConfig, QUOTA_BACKOFF, SERVER_BACKOFF, TOKEN_REFRESH_BEFORE,
};
use tidings_deliver::{Delivery, Outcome};
use tidings_standin::fcm::{
    FcmStandin, FcmStandinBuilder, Reply, ServiceAccount, TokenFault, ACCESS_TOKEN_LIFETIME_SECS,
    OTHER_TEST_KEY_PEM,
};
use tidings_std::clock::{Clock, ManualClock};
use tidings_std::config::FcmSection;

const PROJECT: &str = "tidings-test";
const TOKEN: &str = "dXNlcjE6APA91bH-fcm-registration-token-0001";

fn case_json(token: &str, text: &str, now: i64) -> String {
    let info = serde_json::json!({
        "Ext": "{\"entity\":{\"sender\":\"ann\"}}",
        "AndroidInfo": { "GoogleChannelID": "im" }
    });
    let mut case = common::text_case("fcm", token, text, now, info);
    case["Message"]["MsgLifeTime"] = 3600.into();
    case.to_string()
}

struct Bed {
    standin: FcmStandin,
    client: Arc<FcmClient>,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

impl Bed {
    fn rendered(&self, token: &str) -> Rendered {
        let json = case_json(token, "Lunch at 12? 🍜", self.clock.unix_seconds());
        render_case(json, 0)
    }

    async fn send(&self, rendered: &Rendered, attempt: u32) -> Delivery {
        self.client.send(&rendered.push(attempt)).await
    }

    /// The `[fcm]` table of this bed's client: its key file, the stand-in's
    /// send endpoint, its CA. Tests change what they test.
    fn section(&self) -> FcmSection {
        FcmSection {
            service_account_file: Some(self._dir.path().join("service-account.json")),
            endpoint: Some(self.standin.url()),
            ca_file: Some(self._dir.path().join("ca.pem")),
            ..FcmSection::default()
        }
    }

    /// A second client, read from `section`, on `clock`.
    fn client_of(&self, section: &FcmSection, clock: ManualClock) -> FcmClient {
        FcmClient::new(FcmConfig::from_section(section).unwrap(), Arc::new(clock)).unwrap()
    }
}

/// A stand-in registered for `PROJECT`'s test account, and a client reading
/// a key file for the same account but with `client_key` as its key.
async fn bed_with_key(
    client_key: Option<&str>,
    standin: impl FnOnce(FcmStandinBuilder) -> FcmStandinBuilder,
) -> Bed {
    let clock = ManualClock::starting_now();
    let account = ServiceAccount::test(PROJECT);
    let standin = standin(
        FcmStandin::builder()
            .account(account.clone())
            .clock(Arc::new(clock.clone())),
    )
    .start()
    .await
    .unwrap();
    let (dir, ca) = common::ca_file(standin.ca_pem());
    let key_file = dir.path().join("service-account.json");
    let client_account = match client_key {
        Some(pem) => ServiceAccount::with_key(PROJECT, pem),
        None => account,
    };
    std::fs::write(
        &key_file,
        client_account.key_file_json(&standin.token_url()),
    )
    .unwrap();
    let section = FcmSection {
        service_account_file: Some(key_file),
        endpoint: Some(standin.url()),
        ca_file: Some(ca),
        ..FcmSection::default()
    };
    let config = FcmConfig::from_section(&section).unwrap();
    assert_eq!(config.project_id, PROJECT, "defaults to the key file's");
    assert_eq!(
        config.token_endpoint,
        standin.token_url(),
        "the key file's token_uri"
    );
    let client = Arc::new(FcmClient::new(config, Arc::new(clock.clone())).unwrap());
    Bed {
        standin,
        client,
        clock,
        _dir: dir,
    }
}

async fn bed(standin: impl FnOnce(FcmStandinBuilder) -> FcmStandinBuilder) -> Bed {
    bed_with_key(None, standin).await
}

#[tokio::test]
async fn delivers_the_rendered_bytes_with_one_access_token_for_many_sends() {
    let bed = bed(|b| b).await;
    let rendered = bed.rendered(TOKEN);
    for _ in 0..5 {
        let delivery = bed.send(&rendered, 0).await;
        assert_eq!(delivery.status, Some(200));
        let Outcome::Delivered { id } = &delivery.outcome else {
            panic!("{delivery:?}")
        };
        assert!(
            id.starts_with(&format!("projects/{PROJECT}/messages/0:")),
            "{id}"
        );
        assert_eq!(delivery.id.as_deref(), Some(id.as_str()));
        assert!(delivery.invalid_tokens.is_empty());
    }
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 5);
    for got in &accepted {
        assert_eq!(got.body.as_ref(), rendered.body.as_slice(), "byte for byte");
        assert_eq!(got.token, TOKEN);
        assert_eq!(got.project, PROJECT);
    }
    assert_eq!(bed.client.token_fetches(), 1);
    assert_eq!(bed.standin.stats().token_grants, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_sends_share_one_http2_connection() {
    let bed = bed(|b| b).await;
    let rendered = Arc::new(bed.rendered(TOKEN));
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (client, rendered) = (bed.client.clone(), rendered.clone());
        sends.spawn(async move { client.send(&rendered.push(0)).await });
    }
    while let Some(delivery) = sends.join_next().await {
        let delivery = delivery.unwrap();
        assert!(
            matches!(delivery.outcome, Outcome::Delivered { .. }),
            "{delivery:?}"
        );
    }
    let stats = bed.standin.stats();
    assert_eq!(bed.standin.accepted().len(), 100);
    assert_eq!(stats.token_grants, 1, "one fetch at a time, shared");
    assert_eq!(
        stats.connections, 1,
        "100 sends multiplexed over one connection"
    );
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn dead_tokens_are_token_invalid() {
    let bed = bed(|b| {
        b.reply_always("dead-1", Reply::Unregistered)
            .reply_always("dead-2", Reply::InvalidToken)
            .reply_always("dead-3", Reply::SenderIdMismatch)
    })
    .await;
    for (token, status, reason) in [
        ("dead-1", 404, "UNREGISTERED"),
        ("dead-2", 400, "INVALID_ARGUMENT"),
        ("dead-3", 403, "SENDER_ID_MISMATCH"),
    ] {
        let delivery = bed.send(&bed.rendered(token), 0).await;
        assert_eq!(delivery.status, Some(status));
        assert_eq!(
            delivery.outcome,
            Outcome::TokenInvalid {
                reason: reason.into(),
                since: None
            }
        );
    }
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn retries_honour_retry_after_else_the_policy() {
    let bed = bed(|b| {
        b.reply_always(
            "quota-after",
            Reply::QuotaExceeded {
                retry_after: Some(120),
            },
        )
        .reply_always("quota", Reply::QuotaExceeded { retry_after: None })
        .reply_always(
            "busy-after",
            Reply::Unavailable {
                retry_after: Some(7),
            },
        )
        .reply_always("busy", Reply::Unavailable { retry_after: None })
        .reply_always("internal", Reply::Internal)
    })
    .await;
    let now = bed.clock.now();
    let retry = |reason: &str, after: Duration| Outcome::Retry {
        reason: reason.into(),
        not_before: now + after,
    };
    let d = bed.send(&bed.rendered("quota-after"), 0).await;
    assert_eq!(d.status, Some(429));
    assert_eq!(d.outcome, retry("QUOTA_EXCEEDED", Duration::from_secs(120)));
    let d = bed.send(&bed.rendered("quota"), 0).await;
    assert_eq!(d.outcome, retry("QUOTA_EXCEEDED", QUOTA_BACKOFF.base));
    assert_eq!(
        QUOTA_BACKOFF.base,
        Duration::from_secs(60),
        "§2.4: at least a minute"
    );
    let d = bed.send(&bed.rendered("quota"), 3).await;
    assert_eq!(d.outcome, retry("QUOTA_EXCEEDED", QUOTA_BACKOFF.delay(3)));
    let d = bed.send(&bed.rendered("busy-after"), 0).await;
    assert_eq!(d.status, Some(503));
    assert_eq!(d.outcome, retry("UNAVAILABLE", Duration::from_secs(7)));
    let d = bed.send(&bed.rendered("busy"), 2).await;
    assert_eq!(d.outcome, retry("UNAVAILABLE", SERVER_BACKOFF.delay(2)));
    let d = bed.send(&bed.rendered("internal"), 0).await;
    assert_eq!(d.status, Some(500));
    assert_eq!(d.outcome, retry("INTERNAL", SERVER_BACKOFF.base));
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn permanent_refusals_are_rejected_or_refuse_the_sender() {
    let bed = bed(|b| {
        b.reply_always("apns-broken", Reply::ThirdPartyAuthError)
            .reply_always(
                "bad-ttl",
                Reply::InvalidArgument {
                    field: "message.android.ttl".into(),
                    description: "Invalid value".into(),
                },
            )
    })
    .await;
    let d = bed.send(&bed.rendered("apns-broken"), 0).await;
    assert_eq!(d.status, Some(401));
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "THIRD_PARTY_AUTH_ERROR".into()
        }
    );
    assert_eq!(bed.client.token_fetches(), 1, "not an access-token problem");
    let d = bed.send(&bed.rendered("bad-ttl"), 0).await;
    assert_eq!(d.status, Some(400));
    assert_eq!(
        d.outcome,
        Outcome::Rejected {
            reason: "INVALID_ARGUMENT".into()
        }
    );
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_push_resent() {
    let bed = bed(|b| b).await;
    let rendered = bed.rendered(TOKEN);
    assert!(matches!(
        bed.send(&rendered, 0).await.outcome,
        Outcome::Delivered { .. }
    ));
    bed.standin.expire_access_tokens();
    let d = bed.send(&rendered, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
    let stats = bed.standin.stats();
    assert_eq!(stats.answered(401), 1);
    assert_eq!(stats.token_grants, 2);
    assert_eq!(bed.client.token_fetches(), 2);
    assert_eq!(bed.standin.accepted().len(), 2);

    // Before the token's end (less the margin) it is reused; after, a new
    // one is fetched without a 401.
    let lifetime = u64::try_from(ACCESS_TOKEN_LIFETIME_SECS).unwrap();
    bed.clock
        .advance(Duration::from_secs(lifetime) - TOKEN_REFRESH_BEFORE - Duration::from_secs(1));
    bed.send(&rendered, 0).await;
    assert_eq!(bed.client.token_fetches(), 2);
    bed.clock.advance(Duration::from_secs(2));
    let d = bed.send(&rendered, 0).await;
    assert!(matches!(d.outcome, Outcome::Delivered { .. }));
    assert_eq!(bed.client.token_fetches(), 3);
    assert_eq!(bed.standin.stats().answered(401), 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_second_401_after_a_fresh_token_is_credentials_refused_not_a_loop() {
    let bed = bed(|b| b.reply_next(TOKEN, 2, Reply::Unauthenticated)).await;
    let d = bed.send(&bed.rendered(TOKEN), 0).await;
    assert_eq!(d.status, Some(401));
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "UNAUTHENTICATED".into()
        }
    );
    assert_eq!(bed.standin.stats().sends, 2, "one resend, no more");
    assert_eq!(bed.client.token_fetches(), 2);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_assertion_signed_with_the_wrong_key_is_refused_by_the_token_endpoint() {
    let bed = bed_with_key(Some(OTHER_TEST_KEY_PEM), |b| b).await;
    let d = bed.send(&bed.rendered(TOKEN), 0).await;
    assert_eq!(d.status, Some(400));
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "OAuth2:invalid_grant".into()
        }
    );
    // The refusal is remembered for the token backoff: the next send gets
    // it at once, without asking the token endpoint again.
    bed.clock.advance(Duration::from_millis(500));
    assert_eq!(bed.send(&bed.rendered(TOKEN), 3).await, d);
    let stats = bed.standin.stats();
    assert_eq!(
        (stats.token_refusals, stats.token_grants, stats.sends),
        (1, 0, 0)
    );
    assert!(bed.standin.accepted().is_empty());
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_assertion_from_a_skewed_clock_is_refused() {
    // The client's clock is two hours behind the stand-in's: its assertion
    // expired before it was sent.
    let bed = bed(|b| b).await;
    let rendered = bed.rendered(TOKEN);
    let behind = ManualClock::at(bed.clock.now() - Duration::from_secs(7200));
    let client = bed.client_of(&bed.section(), behind);
    let d = client.send(&rendered.push(0)).await;
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "OAuth2:invalid_grant".into()
        }
    );
    assert_eq!(bed.standin.stats().token_refusals, 1);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_send_endpoint_backs_off_by_attempt() {
    let bed = bed(|b| b).await;
    let rendered = bed.rendered(TOKEN);
    let section = FcmSection {
        endpoint: Some("https://127.0.0.1:1".into()),
        token_endpoint: Some(bed.standin.token_url()),
        ..bed.section()
    };
    let client = bed.client_of(&section, bed.clock.clone());
    common::assert_unreachable_backs_off_by_attempt(bed.clock.now(), async |attempt| {
        client.send(&rendered.push(attempt)).await
    })
    .await;
    assert_eq!(
        client.token_fetches(),
        1,
        "the access token came from the stand-in"
    );
    bed.standin.shutdown().await.unwrap();
}

#[test]
fn config_errors_name_the_key() {
    let e = FcmConfig::from_section(&FcmSection::default()).unwrap_err();
    assert_eq!(e.key, "fcm.service_account_file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sa.json");
    std::fs::write(&file, r#"{"type":"service_account"}"#).unwrap();
    let section = FcmSection {
        service_account_file: Some(file.clone()),
        ..FcmSection::default()
    };
    let e = FcmConfig::from_section(&section).unwrap_err();
    assert_eq!(e.key, "fcm.service_account_file");
    assert!(e.reason.ends_with("no client_email"), "{e}");
    let mut account = ServiceAccount::test(PROJECT);
    account.project_id = String::new();
    std::fs::write(&file, account.key_file_json("https://x/token")).unwrap();
    let e = FcmConfig::from_section(&section).unwrap_err();
    assert_eq!(e.key, "fcm.project_id");
    let section = FcmSection {
        project_id: Some("other".into()),
        endpoint: Some("http://plain".into()),
        ..section
    };
    let e = FcmConfig::from_section(&section).unwrap_err();
    assert_eq!(e.key, "fcm.endpoint");
    let debug = format!(
        "{:?}",
        FcmConfig::from_section(&FcmSection {
            endpoint: None,
            ..section
        })
        .unwrap()
    );
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
}

#[tokio::test]
async fn a_silent_token_endpoint_is_a_timeout_within_the_request_timeout() {
    let bed = bed(|b| b).await;
    bed.standin.set_token_fault(Some(TokenFault::Hang));
    let mut config = FcmConfig::from_section(&bed.section()).unwrap();
    config.request_timeout = Duration::from_millis(300);
    let client = FcmClient::new(config, Arc::new(bed.clock.clone())).unwrap();
    let d = client.send(&bed.rendered(TOKEN).push(0)).await;
    common::assert_token_timeout(&d, bed.clock.now());
    assert_eq!(bed.standin.stats().sends, 0);
    bed.standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_project_is_permission_denied_and_credentials_refused() {
    let bed = bed(|b| b).await;
    let section = FcmSection {
        project_id: Some("someone-else".into()),
        ..bed.section()
    };
    let client = bed.client_of(&section, bed.clock.clone());
    let d = client.send(&bed.rendered(TOKEN).push(0)).await;
    assert_eq!(d.status, Some(403));
    assert_eq!(
        d.outcome,
        Outcome::CredentialsRefused {
            reason: "PERMISSION_DENIED".into()
        }
    );
    assert_eq!(
        client.token_fetches(),
        1,
        "the access token itself was fine"
    );
    bed.standin.shutdown().await.unwrap();
}
