//! Property: whatever the message, Tidings never sends APNs a body the
//! stand-in (checking Apple's 4096/5120-byte limits and JSON) refuses.
//! Random texts, titles and ext of every size, heavy in escapes, CJK and
//! emoji, for alert and VoIP pushes, rendered by the core and sent.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proptest::prelude::*;
use tidings_core::{decide, Decision};
use tidings_deliver::apns::{ApnsAuth, ApnsClient, ApnsConfig};
use tidings_deliver::http2::PoolConfig;
use tidings_deliver::jwt::Es256Key;
use tidings_deliver::{Outcome, Push};
use tidings_standin::apns::{generate_signing_key, ApnsStandin};
use tidings_std::clock::{Clock, SystemClock};
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::push_report;

const TOPIC: &str = "com.example.chat";

struct Shared {
    runtime: tokio::runtime::Runtime,
    client: ApnsClient,
    standin: ApnsStandin,
    _dir: tempfile::TempDir,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = generate_signing_key("TEAM000001", "KEY0000001").unwrap();
        let standin = runtime
            .block_on(
                ApnsStandin::builder()
                    .signing_key_from(&key)
                    .topic(TOPIC)
                    .start(),
            )
            .unwrap();
        let (dir, ca) = common::ca_file(standin.ca_pem());
        let config = ApnsConfig {
            endpoint: standin.url(),
            auth: ApnsAuth::Token {
                team_id: key.team_id.clone(),
                key_id: key.key_id.clone(),
                key: Box::new(Es256Key::from_pkcs8_pem(key.p8_pem.as_bytes()).unwrap()),
            },
            ca_file: Some(ca),
            pool: PoolConfig::default(),
            request_timeout: Duration::from_secs(10),
        };
        let client = runtime
            .block_on(async { ApnsClient::new(config, Arc::new(SystemClock)) })
            .unwrap();
        Shared {
            runtime,
            client,
            standin,
            _dir: dir,
        }
    })
}

/// Characters that cost the most bytes once escaped or encoded.
fn heavy_text(max: usize) -> impl Strategy<Value = String> {
    let alphabet = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('\n'),
        Just('\u{1}'),
        Just('\u{2028}'),
        Just('中'),
        Just('😀'),
        Just('e'),
        Just('\u{301}'),
        Just('\u{200d}'),
        any::<char>(),
    ];
    proptest::collection::vec(alphabet, 0..max).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_rendered_body_is_refused_by_the_standin(
        text in heavy_text(6000),
        title in heavy_text(300),
        nick in heavy_text(80),
        ext_len in 0usize..2500,
        voip in any::<bool>(),
    ) {
        let s = shared();
        let ext = serde_json::json!({ "pad": "x".repeat(ext_len) }).to_string();
        let case = serde_json::json!({
            "Message": {
                "From_Account": "ann", "To_Account": "bob",
                "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
                "OfflinePushInfo": { "Ext": ext, "ApnsInfo": { "Title": title } }
            },
            "Sender": { "Nick": nick },
            "Recipient": {
                "Account": "bob",
                "Device": {
                    "Channel": if voip { "apns_voip" } else { "apns" },
                    "Token": "5f2b9c0d", "State": "background"
                }
            },
            "App": { "BundleId": TOPIC },
            "Now": SystemClock.unix_seconds()
        })
        .to_string();
        let doc = parse_case(case.as_bytes()).unwrap();
        let lent = doc.lend().unwrap();
        let app = AppDoc::default();
        let case = lent.case(0, &app).unwrap();
        let Ok(Decision::Push(n)) = decide(&case) else {
            return Err(TestCaseError::reject("not a push"));
        };
        // A push whose fixed parts alone do not fit is refused by the core
        // with the field named; it is never sent.
        let Ok((report, rendered)) = push_report(&n) else {
            return Err(TestCaseError::reject("refused by the core"));
        };
        let body = report.payload.unwrap();
        let push = Push { body: &body, headers: rendered.headers, id: uuid::Uuid::new_v4(), attempt: 0, action: tidings_deliver::Action::Send };
        let delivery = s.runtime.block_on(s.client.send(&push));
        prop_assert_eq!(
            delivery.outcome,
            Outcome::Delivered { id: push.id.to_string() },
            "{} bytes, voip {}", body.len(), voip
        );
        prop_assert!(!s.standin.stats().answers.contains_key(&413));
    }
}
