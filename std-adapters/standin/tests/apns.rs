//! The APNs stand-in over real sockets on loopback: every validation row,
//! token and certificate auth, scripted replies, faults, records and counts.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use tidings_standin::apns::{
    ApnsSigningKey, ApnsStandin, ApnsStandinBuilder, Auth, PushType, Reply, MAX_PAYLOAD,
    MAX_PAYLOAD_VOIP,
};
use tidings_std::clock::{Clock, ManualClock, SharedClock};

fn key() -> ApnsSigningKey {
    ApnsSigningKey::generate(TEAM, KID).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn builder(key: &ApnsSigningKey) -> ApnsStandinBuilder {
    ApnsStandin::builder().signing_key_from(key).topic(BUNDLE)
}

fn bearer(key: &ApnsSigningKey, iat: i64) -> String {
    format!("bearer {}", key.jwt(iat).unwrap())
}

#[tokio::test]
async fn every_validation_row_is_answered_with_apples_status_and_reason() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let c = connect(&standin, None).await;
    let auth = bearer(&key, now());
    let a = auth.as_str();
    let other_key = ApnsSigningKey::generate(TEAM, KID).unwrap();
    let forged = bearer(&other_key, now());
    let wrong_team = format!(
        "bearer {}",
        ApnsSigningKey::from_p8("OTHERTEAM1", KID, &key.p8_pem)
            .unwrap()
            .jwt(now())
            .unwrap()
    );
    let unknown_kid = format!(
        "bearer {}",
        ApnsSigningKey::from_p8(TEAM, "NOSUCHKEY0", &key.p8_pem)
            .unwrap()
            .jwt(now())
            .unwrap()
    );
    let future = bearer(&key, now() + 3600);
    let long_collapse = "c".repeat(65);
    let ok_collapse = "c".repeat(64);
    let big = format!(r#"{{"aps":{{}},"x":"{}"}}"#, "a".repeat(MAX_PAYLOAD));
    let big_alert = &big.as_bytes()[..MAX_PAYLOAD + 1];
    let voip_ok = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_PAYLOAD_VOIP - 8));
    assert_eq!(voip_ok.len(), MAX_PAYLOAD_VOIP);
    let voip_big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_PAYLOAD_VOIP - 7));

    let base = [("authorization", a), ("apns-topic", BUNDLE)];
    let with = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        let mut h: Vec<(&'static str, String)> =
            base.iter().map(|(k, v)| (*k, v.to_string())).collect();
        for (k, v) in extra {
            h.retain(|(hk, _)| hk != k);
            h.push((*k, v.to_string()));
        }
        h
    };
    struct Row {
        name: &'static str,
        method: &'static str,
        path: String,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        status: u16,
        reason: &'static str,
    }
    let p = format!("/3/device/{TOKEN}");
    let row = |name, headers: Vec<(&'static str, String)>, body: &[u8], status, reason| Row {
        name,
        method: "POST",
        path: p.clone(),
        headers,
        body: body.to_vec(),
        status,
        reason,
    };
    let mut rows = vec![
        Row {
            method: "GET",
            ..row("GET", with(&[]), b"", 405, "MethodNotAllowed")
        },
        Row {
            method: "PUT",
            ..row("PUT", with(&[]), BODY, 405, "MethodNotAllowed")
        },
        Row {
            path: format!("/3/devices/{TOKEN}"),
            ..row("wrong path", with(&[]), BODY, 404, "BadPath")
        },
        Row {
            path: format!("/4/device/{TOKEN}"),
            ..row("wrong version", with(&[]), BODY, 404, "BadPath")
        },
        Row {
            path: format!("/3/device/{TOKEN}/x"),
            ..row("extra segment", with(&[]), BODY, 404, "BadPath")
        },
        Row {
            path: "/3/device/".into(),
            ..row("no token", with(&[]), BODY, 400, "MissingDeviceToken")
        },
        Row {
            path: "/3/device/xyz0".into(),
            ..row("non-hex token", with(&[]), BODY, 400, "BadDeviceToken")
        },
        Row {
            path: "/3/device/abc".into(),
            ..row("odd-length token", with(&[]), BODY, 400, "BadDeviceToken")
        },
        Row {
            path: format!("/3/device/{TOKEN}?x=1"),
            ..row("query in path", with(&[]), BODY, 400, "BadDeviceToken")
        },
    ];
    let mut dup = with(&[]);
    dup.push(("apns-topic", BUNDLE.to_string()));
    rows.push(row("duplicate topic", dup, BODY, 400, "DuplicateHeaders"));
    let mut dup_id = with(&[]);
    dup_id.push(("apns-priority", "10".into()));
    dup_id.push(("apns-priority", "10".into()));
    rows.push(row(
        "duplicate priority",
        dup_id,
        BODY,
        400,
        "DuplicateHeaders",
    ));
    let mut no_auth = with(&[]);
    no_auth.retain(|(k, _)| *k != "authorization");
    rows.extend([
        row(
            "no authorization",
            no_auth,
            BODY,
            403,
            "MissingProviderToken",
        ),
        row(
            "empty bearer",
            with(&[("authorization", "bearer ")]),
            BODY,
            403,
            "MissingProviderToken",
        ),
        row(
            "not bearer",
            with(&[("authorization", "basic abc")]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "garbage token",
            with(&[("authorization", "bearer a.b.c")]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "signed by another key",
            with(&[("authorization", &forged)]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "wrong iss",
            with(&[("authorization", &wrong_team)]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "unknown kid",
            with(&[("authorization", &unknown_kid)]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "iat an hour ahead",
            with(&[("authorization", &future)]),
            BODY,
            403,
            "InvalidProviderToken",
        ),
        row(
            "expired token",
            with(&[("authorization", &bearer(&key, now() - 3601))]),
            BODY,
            403,
            "ExpiredProviderToken",
        ),
        row(
            "unknown push type",
            with(&[("apns-push-type", "banner")]),
            BODY,
            400,
            "InvalidPushType",
        ),
        row(
            "push type case",
            with(&[("apns-push-type", "Alert")]),
            BODY,
            400,
            "InvalidPushType",
        ),
    ]);
    let mut no_topic = with(&[]);
    no_topic.retain(|(k, _)| *k != "apns-topic");
    rows.extend([
        row("no topic", no_topic, BODY, 400, "MissingTopic"),
        row(
            "voip without suffix",
            with(&[("apns-push-type", "voip")]),
            BODY,
            400,
            "BadTopic",
        ),
        row(
            "alert to voip topic",
            with(&[("apns-topic", "com.example.app.voip")]),
            BODY,
            400,
            "BadTopic",
        ),
        row(
            "topic with space",
            with(&[("apns-topic", "com.example app")]),
            BODY,
            400,
            "BadTopic",
        ),
        row(
            "unregistered bundle",
            with(&[("apns-topic", "com.other.app")]),
            BODY,
            400,
            "TopicDisallowed",
        ),
        row(
            "unregistered voip bundle",
            with(&[
                ("apns-topic", "com.other.app.voip"),
                ("apns-push-type", "voip"),
            ]),
            BODY,
            400,
            "TopicDisallowed",
        ),
        row(
            "priority 7",
            with(&[("apns-priority", "7")]),
            BODY,
            400,
            "BadPriority",
        ),
        row(
            "background at 10",
            with(&[("apns-push-type", "background"), ("apns-priority", "10")]),
            BODY,
            400,
            "BadPriority",
        ),
        row(
            "background without priority",
            with(&[("apns-push-type", "background")]),
            BODY,
            400,
            "BadPriority",
        ),
        row(
            "expiration not integer",
            with(&[("apns-expiration", "soon")]),
            BODY,
            400,
            "BadExpirationDate",
        ),
        row(
            "expiration negative",
            with(&[("apns-expiration", "-1")]),
            BODY,
            400,
            "BadExpirationDate",
        ),
        row(
            "uppercase apns-id",
            with(&[("apns-id", "123E4567-E89B-12D3-A456-426614174000")]),
            BODY,
            400,
            "BadMessageId",
        ),
        row(
            "apns-id not uuid",
            with(&[("apns-id", "42")]),
            BODY,
            400,
            "BadMessageId",
        ),
        row(
            "collapse id 65 bytes",
            with(&[("apns-collapse-id", &long_collapse)]),
            BODY,
            400,
            "BadCollapseId",
        ),
        row("empty body", with(&[]), b"", 400, "PayloadEmpty"),
        row(
            "alert over 4096",
            with(&[]),
            big_alert,
            413,
            "PayloadTooLarge",
        ),
        row(
            "voip over 5120",
            with(&[
                ("apns-push-type", "voip"),
                ("apns-topic", "com.example.app.voip"),
            ]),
            voip_big.as_bytes(),
            413,
            "PayloadTooLarge",
        ),
        row("not JSON", with(&[]), b"hello", 400, "BadPayload"),
        row("JSON array", with(&[]), b"[1,2]", 400, "BadPayload"),
        row(
            "trailing garbage",
            with(&[]),
            b"{\"aps\":{}} x",
            400,
            "BadPayload",
        ),
        // Rows that pass.
        row(
            "voip at 5120",
            with(&[
                ("apns-push-type", "voip"),
                ("apns-topic", "com.example.app.voip"),
            ]),
            voip_ok.as_bytes(),
            200,
            "",
        ),
        row(
            "background at 5",
            with(&[("apns-push-type", "background"), ("apns-priority", "5")]),
            br#"{"aps":{"content-available":1}}"#,
            200,
            "",
        ),
        row(
            "collapse id 64 bytes",
            with(&[("apns-collapse-id", &ok_collapse)]),
            BODY,
            200,
            "",
        ),
        row("uppercase hex token is hex", with(&[]), BODY, 200, ""),
    ]);
    rows.last_mut().unwrap().path = format!("/3/device/{}", TOKEN.to_uppercase());

    let mut accepted = 0;
    for r in &rows {
        let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = c
            .send(request(r.method, &r.path, &headers), &r.body)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", r.name));
        assert_eq!(answer.status, r.status, "{}: {}", r.name, answer.body_str());
        let id = answer.apns_id.as_deref().unwrap();
        assert!(tidings_standin::apns::is_canonical_uuid(id), "{}", r.name);
        if r.status == 200 {
            accepted += 1;
            assert!(answer.body.is_empty(), "{}", r.name);
            assert_eq!(answer.content_type, None);
        } else {
            assert_eq!(
                answer.body_str(),
                format!(r#"{{"reason":"{}"}}"#, r.reason),
                "{}",
                r.name
            );
            assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        }
    }
    assert_eq!(standin.accepted_count(), accepted);
    let stats = standin.stats();
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.streams, rows.len() as u64);
    assert_eq!(stats.total_answers(), rows.len() as u64);
    standin.shutdown().await.unwrap();
}

/// A body far over every limit is answered 413 without being read to the end.
#[tokio::test]
async fn a_huge_body_is_answered_413() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let c = connect(&standin, None).await;
    let auth = bearer(&key, now());
    let huge = vec![b' '; 200_000];
    let answer = c
        .send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            &huge,
        )
        .await
        .unwrap();
    assert_eq!(
        (answer.status, answer.body_str()),
        (413, r#"{"reason":"PayloadTooLarge"}"#)
    );
    // The connection is still good.
    let answer = c
        .send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_good_token_push_is_accepted_and_recorded_exactly() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let c = connect(&standin, None).await;
    let iat = now();
    let auth = bearer(&key, iat);
    let id = "123e4567-e89b-12d3-a456-426614174000";
    let answer = c
        .send(
            push(
                TOKEN,
                &[
                    ("authorization", &auth),
                    ("apns-topic", BUNDLE),
                    ("apns-push-type", "alert"),
                    ("apns-priority", "5"),
                    ("apns-expiration", "1700000000"),
                    ("apns-collapse-id", "thread-7"),
                    ("apns-id", id),
                ],
            ),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        Answer {
            status: 200,
            apns_id: Some(id.into()),
            content_type: None,
            retry_after: None,
            body: vec![],
        }
    );
    // Without apns-id the stand-in makes one and records it.
    let answer = c
        .send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
    let made = answer.apns_id.unwrap();
    assert!(tidings_standin::apns::is_canonical_uuid(&made));
    assert_ne!(made, id);

    let accepted = standin.accepted();
    assert_eq!(accepted.len(), 2);
    let first = &accepted[0];
    assert_eq!(first.connection, 1);
    assert_eq!(first.stream_id, 1);
    assert_eq!(first.token, TOKEN);
    assert_eq!(first.apns_id, id);
    assert!(first.apns_id_from_request);
    assert_eq!(first.push_type, Some(PushType::Alert));
    assert_eq!(first.priority, Some(5));
    assert_eq!(first.topic.as_deref(), Some(BUNDLE));
    assert_eq!(first.expiration, Some(1_700_000_000));
    assert_eq!(first.collapse_id.as_deref(), Some("thread-7"));
    assert_eq!(&first.body[..], BODY);
    assert_eq!(
        first.auth,
        Auth::Token {
            key_id: Arc::from(KID),
            team_id: Arc::from(TEAM),
            iat
        }
    );
    let second = &accepted[1];
    assert_eq!(second.stream_id, 3);
    assert_eq!(second.apns_id, made);
    assert!(!second.apns_id_from_request);
    assert_eq!(
        (second.push_type, second.priority, second.expiration),
        (None, None, None)
    );
    assert_eq!(second.collapse_id, None);
    assert_eq!(standin.stats().distinct_jwts, 1);
    assert_eq!(standin.stats().answered(200), 2);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn token_age_is_judged_by_the_standins_clock() {
    let key = key();
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let standin = builder(&key).clock(shared).start().await.unwrap();
    let c = connect(&standin, None).await;
    let auth = bearer(&key, clock.unix_seconds());
    let req = || push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]);
    assert_eq!(c.send(req(), BODY).await.unwrap().status, 200);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        c.send(req(), BODY).await.unwrap().status,
        200,
        "exactly one hour is still valid"
    );
    clock.advance(Duration::from_secs(1));
    let answer = c.send(req(), BODY).await.unwrap();
    assert_eq!(
        (answer.status, answer.body_str()),
        (403, r#"{"reason":"ExpiredProviderToken"}"#)
    );
    // A fresh token on the same connection (same key) is fine again.
    let fresh = bearer(&key, clock.unix_seconds());
    let answer = c
        .send(
            push(TOKEN, &[("authorization", &fresh), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(standin.stats().distinct_jwts, 2);
    assert_eq!(standin.accepted_count(), 3);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_is_bound_to_its_first_key_id() {
    let a = key();
    let b = ApnsSigningKey::generate(TEAM, "KEYBBBBBBB").unwrap();
    let standin = builder(&a).signing_key_from(&b).start().await.unwrap();
    let c = connect(&standin, None).await;
    let send_with = |k: &ApnsSigningKey| {
        push(
            TOKEN,
            &[("authorization", &bearer(k, now())), ("apns-topic", BUNDLE)],
        )
    };
    assert_eq!(c.send(send_with(&a), BODY).await.unwrap().status, 200);
    let answer = c.send(send_with(&b), BODY).await.unwrap();
    assert_eq!(
        (answer.status, answer.body_str()),
        (403, r#"{"reason":"UnrelatedKeyIdInToken"}"#)
    );
    // A new connection may use the other key.
    let c2 = connect(&standin, None).await;
    assert_eq!(c2.send(send_with(&b), BODY).await.unwrap().status, 200);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn certificate_auth_needs_no_token() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let identity = standin.issue_client_identity(BUNDLE).unwrap();
    let c = connect(&standin, Some(&identity)).await;
    // No authorization, no topic (the certificate's single topic).
    let answer = c.send(push(TOKEN, &[]), BODY).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body_str());
    // An authorization header is ignored, even a bad one.
    let answer = c
        .send(
            push(
                TOKEN,
                &[("authorization", "bearer nonsense"), ("apns-topic", BUNDLE)],
            ),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    // The topic rules still apply.
    let answer = c
        .send(push(TOKEN, &[("apns-topic", "com.other.app")]), BODY)
        .await
        .unwrap();
    assert_eq!(answer.body_str(), r#"{"reason":"TopicDisallowed"}"#);
    let accepted = standin.accepted();
    assert_eq!(accepted.len(), 2);
    assert!(accepted.iter().all(|p| p.auth == Auth::Certificate));
    assert_eq!(accepted[0].topic, None);
    assert_eq!(standin.stats().distinct_jwts, 0);

    // The PKCS#12 carries the same identity.
    let store = p12_keystore::KeyStore::from_pkcs12(
        &identity.pkcs12,
        &identity.pkcs12_password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    assert_eq!(chain.certs()[0].as_der(), identity.cert_der.as_slice());

    // A certificate from another CA fails the handshake.
    let stranger = tidings_standin::CertificateAuthority::generate()
        .unwrap()
        .issue_client_identity(BUNDLE)
        .unwrap();
    let failed = async {
        let mut tls = tls_connect(&standin, Some(&stranger)).await?;
        // TLS 1.3: the server's verdict arrives after the client finishes.
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1];
        tls.read(&mut buf).await
    }
    .await;
    assert!(failed.is_err() || failed.unwrap() == 0);
    eventually(|| standin.stats().handshake_failures == 1).await;
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn certificate_auth_needs_a_topic_when_several_bundles_are_registered() {
    let key = key();
    let standin = builder(&key)
        .topic("com.example.other")
        .start()
        .await
        .unwrap();
    let identity = standin.issue_client_identity(BUNDLE).unwrap();
    let c = connect(&standin, Some(&identity)).await;
    let answer = c.send(push(TOKEN, &[]), BODY).await.unwrap();
    assert_eq!(answer.body_str(), r#"{"reason":"MissingTopic"}"#);
    let answer = c
        .send(push(TOKEN, &[("apns-topic", "com.example.other")]), BODY)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn scripted_replies_answer_exactly_and_are_not_recorded() {
    let key = key();
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_millis(1_800_000_000_250));
    // Most answers are `{"reason":"<reason>"}` without Retry-After.
    let plain = |reply: Reply, status: u16, reason: &str| {
        (reply, status, format!(r#"{{"reason":"{reason}"}}"#), None)
    };
    let unregistered = r#"{"reason":"Unregistered","timestamp":"#;
    let table: Vec<(Reply, u16, String, Option<&str>)> = vec![
        plain(Reply::BadDeviceToken, 400, "BadDeviceToken"),
        (
            Reply::Unregistered {
                timestamp_ms: Some(1_700_000_000_123),
            },
            410,
            format!("{unregistered}1700000000123}}"),
            None,
        ),
        (
            Reply::Unregistered { timestamp_ms: None },
            410,
            format!("{unregistered}1800000000250}}"),
            None,
        ),
        (
            Reply::ExpiredToken { timestamp_ms: None },
            410,
            r#"{"reason":"ExpiredToken","timestamp":1800000000250}"#.into(),
            None,
        ),
        plain(Reply::PayloadTooLarge, 413, "PayloadTooLarge"),
        plain(
            Reply::TooManyRequests { retry_after: None },
            429,
            "TooManyRequests",
        ),
        (
            Reply::TooManyRequests {
                retry_after: Some(30),
            },
            429,
            r#"{"reason":"TooManyRequests"}"#.into(),
            Some("30"),
        ),
        plain(
            Reply::TooManyProviderTokenUpdates,
            429,
            "TooManyProviderTokenUpdates",
        ),
        plain(Reply::InternalServerError, 500, "InternalServerError"),
        plain(Reply::Shutdown, 503, "Shutdown"),
        plain(Reply::ServiceUnavailable, 503, "ServiceUnavailable"),
        plain(Reply::ExpiredProviderToken, 403, "ExpiredProviderToken"),
        plain(Reply::IdleTimeout, 400, "IdleTimeout"),
        plain(Reply::DeviceTokenNotForTopic, 400, "DeviceTokenNotForTopic"),
        plain(
            Reply::Other {
                status: 418,
                reason: "Teapot".into(),
            },
            418,
            "Teapot",
        ),
    ];
    let mut b = builder(&key).clock(Arc::new(clock.clone()));
    let tokens: Vec<String> = (0..table.len())
        .map(|i| format!("{:064x}", i + 1))
        .collect();
    for (token, (reply, ..)) in tokens.iter().zip(&table) {
        b = b.reply_always(token, reply.clone());
    }
    let standin = b.start().await.unwrap();
    let c = connect(&standin, None).await;
    let auth = bearer(&key, clock.unix_seconds());
    for (token, (reply, status, body, retry_after)) in tokens.iter().zip(&table) {
        for _ in 0..2 {
            let answer = c
                .send(
                    push(
                        token,
                        &[
                            ("authorization", &auth),
                            ("apns-topic", BUNDLE),
                            ("apns-id", "00000000-0000-0000-0000-00000000abcd"),
                        ],
                    ),
                    BODY,
                )
                .await
                .unwrap();
            assert_eq!(answer.status, *status, "{reply:?}");
            assert_eq!(answer.body_str(), body.as_str(), "{reply:?}");
            assert_eq!(answer.retry_after.as_deref(), *retry_after, "{reply:?}");
            assert_eq!(
                answer.apns_id.as_deref(),
                Some("00000000-0000-0000-0000-00000000abcd")
            );
        }
    }
    assert_eq!(
        standin.accepted_count(),
        0,
        "scripted answers are not recorded"
    );
    // Another token is untouched.
    let answer = c
        .send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(standin.accepted_count(), 1);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn next_n_scripts_then_normal_and_runtime_changes() {
    let key = key();
    let standin = builder(&key)
        .reply_next(TOKEN, 2, Reply::ServiceUnavailable)
        .start()
        .await
        .unwrap();
    let c = connect(&standin, None).await;
    let auth = bearer(&key, now());
    let req = || push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(c.send(req(), BODY).await.unwrap().status);
    }
    assert_eq!(statuses, [503, 503, 200]);
    // A request that fails validation does not use up a scripted answer.
    standin.script_next(TOKEN, 1, Reply::InternalServerError);
    let bad = c
        .send(
            push(
                TOKEN,
                &[
                    ("authorization", &auth),
                    ("apns-topic", BUNDLE),
                    ("apns-priority", "9"),
                ],
            ),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(bad.body_str(), r#"{"reason":"BadPriority"}"#);
    assert_eq!(c.send(req(), BODY).await.unwrap().status, 500);
    assert_eq!(c.send(req(), BODY).await.unwrap().status, 200);
    // Always, at runtime, until unscripted.
    standin.script(
        TOKEN,
        Reply::Unregistered {
            timestamp_ms: Some(7),
        },
    );
    for _ in 0..3 {
        let a = c.send(req(), BODY).await.unwrap();
        assert_eq!(a.body_str(), r#"{"reason":"Unregistered","timestamp":7}"#);
    }
    standin.unscript(TOKEN);
    assert_eq!(c.send(req(), BODY).await.unwrap().status, 200);
    assert_eq!(standin.accepted_count(), 3);
    let stats = standin.stats();
    assert_eq!(stats.answered(503), 2);
    assert_eq!(stats.answered(500), 1);
    assert_eq!(stats.answered(410), 3);
    assert_eq!(stats.answered(400), 1);
    assert_eq!(stats.answered(200), 3);
    standin.shutdown().await.unwrap();
}

/// Frame by frame: streams 1 and 3 are answered, 5 and 7 (already sent when
/// the GOAWAY started) are refused with REFUSED_STREAM, the final GOAWAY
/// names 7, and stream 9 — opened after it — is never processed.
#[tokio::test]
async fn goaway_after_answers_up_to_n_and_never_processes_streams_above_the_last_id() {
    let key = key();
    let standin = builder(&key)
        .goaway_after(2)
        // Keeps the connection open long enough for stream 9 to arrive.
        .delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let auth = bearer(&key, now());
    let headers = [("authorization", auth.as_str()), ("apns-topic", BUNDLE)];
    let token = |s: u32| format!("{s:064x}");
    let mut io = tls_connect(&standin, None).await.unwrap();
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    for s in [1, 3, 5, 7] {
        out.extend(push_frames(s, &token(s), &headers, BODY));
    }
    write(&mut io, &out).await;

    let mut answered = Vec::new();
    let mut refused = Vec::new();
    let mut goaways = Vec::new();
    let mut sent_nine = false;
    let run = async {
        while let Some(f) = read_frame(&mut io).await {
            match f.ty {
                SETTINGS if f.flags & ACK == 0 => {
                    write(&mut io, &frame(SETTINGS, ACK, 0, &[])).await
                }
                PING if f.flags & ACK == 0 => {
                    write(&mut io, &frame(PING, ACK, 0, &f.payload)).await
                }
                HEADERS => answered.push(f.stream),
                RST_STREAM => refused.push((
                    f.stream,
                    u32::from_be_bytes(f.payload[..4].try_into().unwrap()),
                )),
                GOAWAY => {
                    let last = u32::from_be_bytes(f.payload[..4].try_into().unwrap()) & 0x7fff_ffff;
                    let code = u32::from_be_bytes(f.payload[4..8].try_into().unwrap());
                    goaways.push((last, code));
                    if last != 0x7fff_ffff && !sent_nine {
                        sent_nine = true;
                        write(&mut io, &push_frames(9, &token(9), &headers, BODY)).await;
                    }
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the server closes the connection");
    assert!(sent_nine);
    assert_eq!(goaways, [(0x7fff_ffff, 0), (7, 0)]);
    answered.sort();
    assert_eq!(answered, [1, 3]);
    refused.sort();
    assert_eq!(refused, [(5, REFUSED_STREAM), (7, REFUSED_STREAM)]);
    let recorded: Vec<(u32, String)> = standin
        .accepted()
        .into_iter()
        .map(|p| (p.stream_id, p.token))
        .collect();
    assert_eq!(recorded, [(1, token(1)), (3, token(3))]);
    let stats = standin.stats();
    assert_eq!(stats.goaways, 1);
    assert_eq!(stats.refused_streams, 2);
    assert_eq!(stats.streams, 4, "stream 9 never reached the stand-in");
    assert_eq!(stats.answered(200), 2);
    standin.shutdown().await.unwrap();
}

/// With an h2 client: sequential sends see n answers, then the connection is
/// gone; concurrent sends beyond n fail as "not processed", and a new
/// connection serves the rest.
#[tokio::test]
async fn goaway_after_with_an_h2_client() {
    let key = key();
    let standin = builder(&key).goaway_after(3).start().await.unwrap();
    let auth = bearer(&key, now());
    let req = || push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]);

    let c = connect(&standin, None).await;
    for _ in 0..3 {
        assert_eq!(c.send(req(), BODY).await.unwrap().status, 200);
    }
    // The connection closes by itself once the three are answered.
    let sender = c.send.clone();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.driver)
        .await
        .expect("the connection ends by itself");
    let c = Client {
        send: sender,
        driver: tokio::spawn(async { Ok(()) }),
    };
    assert!(c.send(req(), BODY).await.is_err());

    // Ten at once on a fresh connection: three answered, seven refused.
    let c = connect(&standin, None).await;
    let mut pending = Vec::new();
    let mut not_processed = 0;
    for _ in 0..10 {
        // The client's h2 may already have seen the GOAWAY: then it refuses
        // to open the stream itself.
        let Ok(mut ready) = c.send.clone().ready().await else {
            not_processed += 1;
            continue;
        };
        let Ok((response, mut stream)) = ready.send_request(req(), false) else {
            not_processed += 1;
            continue;
        };
        let _ = stream.send_data(bytes::Bytes::from_static(BODY), true);
        pending.push(tokio::spawn(read_answer(response)));
    }
    let mut ok = 0;
    for p in pending {
        match p.await.unwrap() {
            Ok(a) => {
                assert_eq!(a.status, 200);
                ok += 1;
            }
            Err(e) => {
                let refused = e.reason() == Some(h2::Reason::REFUSED_STREAM);
                let above_goaway = e.is_go_away() && e.is_remote();
                assert!(refused || above_goaway, "{e:?}");
                not_processed += 1;
            }
        }
    }
    assert_eq!((ok, not_processed), (3, 7));
    assert_eq!(standin.accepted_count(), 6);
    let stats = standin.stats();
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.goaways, 2);
    assert_eq!(stats.streams, 6 + stats.refused_streams);
    assert!(stats.refused_streams <= 7);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn drop_after_cuts_the_connection_and_loses_what_was_in_flight() {
    let key = key();
    let standin = builder(&key).drop_after(2).start().await.unwrap();
    let auth = bearer(&key, now());
    let req = |t: &str| push(t, &[("authorization", &auth), ("apns-topic", BUNDLE)]);
    let c = connect(&standin, None).await;
    assert_eq!(c.send(req("01"), BODY).await.unwrap().status, 200);
    assert_eq!(c.send(req("02"), BODY).await.unwrap().status, 200);
    let lost = c.send(req("03"), BODY).await.unwrap_err();
    // Not a refusal: the client cannot know whether it was processed.
    assert_ne!(lost.reason(), Some(h2::Reason::REFUSED_STREAM), "{lost:?}");
    let tokens: Vec<String> = standin.accepted().into_iter().map(|p| p.token).collect();
    assert_eq!(tokens, ["01", "02"]);
    // The client reconnects and resends.
    let c = connect(&standin, None).await;
    assert_eq!(c.send(req("03"), BODY).await.unwrap().status, 200);
    let stats = standin.stats();
    assert_eq!(stats.connections_cut, 1);
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.streams, 4);
    assert_eq!(stats.answered(200), 3);

    // drop_after(0): in-flight pushes are lost, none recorded.
    let standin = builder(&key).drop_after(0).start().await.unwrap();
    let c = connect(&standin, None).await;
    assert!(c.send(req("04"), BODY).await.is_err());
    assert_eq!(standin.accepted_count(), 0);
    assert_eq!(standin.stats().total_answers(), 0);
}

#[tokio::test]
async fn delay_holds_every_answer() {
    let key = key();
    let standin = builder(&key)
        .delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let auth = bearer(&key, now());
    let c = connect(&standin, None).await;
    let started = std::time::Instant::now();
    let a = c
        .send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Rejections wait too; a client deadline shorter than the delay fires.
    let late = tokio::time::timeout(
        Duration::from_millis(100),
        c.send(push(TOKEN, &[("apns-topic", BUNDLE)]), BODY),
    )
    .await;
    assert!(late.is_err());
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn max_concurrent_streams_is_advertised() {
    let key = key();
    for (configured, expected) in [(None, 1000), (Some(2), 2)] {
        let mut b = builder(&key);
        if let Some(n) = configured {
            b = b.max_concurrent_streams(n);
        }
        let standin = b.start().await.unwrap();
        let c = connect(&standin, None).await;
        // One round trip so the server's SETTINGS have been applied.
        let auth = bearer(&key, now());
        c.send(
            push(TOKEN, &[("authorization", &auth), ("apns-topic", BUNDLE)]),
            BODY,
        )
        .await
        .unwrap();
        assert_eq!(c.send.current_max_send_streams(), expected);
        standin.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn one_token_for_many_sends_is_counted_once() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let auth = bearer(&key, now());
    let c1 = connect(&standin, None).await;
    let c2 = connect(&standin, None).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let send = if i % 2 == 0 {
            c1.send.clone()
        } else {
            c2.send.clone()
        };
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let c = Client {
                send,
                driver: tokio::spawn(async { Ok(()) }),
            };
            c.send(
                push(
                    &format!("{i:064x}"),
                    &[("authorization", &auth), ("apns-topic", BUNDLE)],
                ),
                BODY,
            )
            .await
            .unwrap()
            .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let stats = standin.stats();
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.streams, 200);
    assert_eq!(stats.distinct_jwts, 1);
    assert_eq!(stats.answered(200), 200);
    assert_eq!(standin.accepted_count(), 200);
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn record_to_appends_one_json_line_per_accepted_push() {
    let key = key();
    let dir = std::env::temp_dir().join(format!("tidings-standin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("accepted.jsonl");
    let standin = builder(&key).record_to(&path).start().await.unwrap();
    let iat = now();
    let auth = bearer(&key, iat);
    let c = connect(&standin, None).await;
    for (t, status) in [("0a", 200), ("zz", 400), ("0b", 200)] {
        let a = c
            .send(
                push(
                    t,
                    &[
                        ("authorization", &auth),
                        ("apns-topic", BUNDLE),
                        ("apns-push-type", "alert"),
                    ],
                ),
                b"{\n \"aps\": {\"alert\": \"hi\"}\n}",
            )
            .await
            .unwrap();
        assert_eq!(a.status, status);
    }
    standin.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["token"], "0a");
    assert_eq!(lines[1]["token"], "0b");
    assert_eq!(lines[0]["push_type"], "alert");
    assert_eq!(lines[0]["key_id"], KID);
    assert_eq!(lines[0]["iat"], iat);
    assert_eq!(lines[0]["payload"]["aps"]["alert"], "hi");
    assert!(!text.contains(auth.trim_start_matches("bearer ")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_users_p8_file_is_accepted_through_its_derived_public_key() {
    let issued = key();
    // What `tidings standin apns --key-file AuthKey.p8 --team-id X --key-id Y` does.
    let public = tidings_standin::public_key_from_p8(&issued.p8_pem).unwrap();
    let standin = ApnsStandin::builder()
        .signing_key(TEAM, KID, &public)
        .start()
        .await
        .unwrap();
    let c = connect(&standin, None).await;
    let a = c
        .send(
            push(
                TOKEN,
                &[
                    ("authorization", &bearer(&issued, now())),
                    ("apns-topic", "any.bundle.id"),
                ],
            ),
            BODY,
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "no bundle ids registered: any is allowed");
    standin.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_and_drop_stop_serving() {
    let key = key();
    let standin = builder(&key).start().await.unwrap();
    let addr = standin.addr();
    assert_eq!(standin.url(), format!("https://127.0.0.1:{}", addr.port()));
    let c = connect(&standin, None).await;
    standin.shutdown().await.unwrap();
    // The open connection is closed and the port no longer accepts.
    let ended = tokio::time::timeout(Duration::from_secs(5), c.driver).await;
    assert!(ended.is_ok());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let standin = builder(&key).start().await.unwrap();
    let addr = standin.addr();
    drop(standin);
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
}

#[tokio::test]
async fn start_rejects_a_public_key_that_is_not_p256() {
    let err = ApnsStandin::builder()
        .signing_key(TEAM, KID, &[1, 2, 3])
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, tidings_standin::Error::Config(_)), "{err}");
}
