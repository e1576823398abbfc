//! What the Xiaomi, OPPO and Meizu client tests share: a case rendered by
//! the core (ingest → decide → push_report) for a channel, as a `Push`.

#![allow(dead_code)]

use tidings_core::render::Headers;
use tidings_core::{decide, Decision};
use tidings_deliver::Push;
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::push_report;

pub const PACKAGE: &str = "com.example.chat";

/// A rendered push: the core's body, exactly.
pub struct Rendered {
    pub body: Vec<u8>,
    pub headers: Headers<'static>,
}

impl Rendered {
    pub fn push(&self, attempt: u32) -> Push<'_> {
        Push {
            body: &self.body,
            headers: self.headers,
            id: uuid::Uuid::new_v4(),
            attempt,
        }
    }

    /// The decoded value of a form field of the body.
    pub fn field(&self, name: &str) -> String {
        let v = tidings_deliver::form::field(&self.body, name).expect("field");
        String::from_utf8(v).expect("utf-8")
    }
}

pub fn case_json(channel: &str, token: &str, text: &str, now: i64) -> String {
    serde_json::json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
            "OfflinePushInfo": {
                "Ext": "{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}",
                "AndroidInfo": { "XiaoMiChannelID": "im", "OPPOChannelID": "im" }
            },
            "MsgLifeTime": 3600
        },
        "Sender": { "Nick": "Ann" },
        "Recipient": {
            "Account": "bob",
            "Device": { "Channel": channel, "Token": token, "State": "background" }
        },
        "App": { "PackageName": PACKAGE },
        "Now": now
    })
    .to_string()
}

/// Renders a case the way `tidings send` does. The case is leaked for the
/// test's life (the headers borrow it).
pub fn render(json: String) -> Rendered {
    let doc = Box::leak(Box::new(parse_case(json.as_bytes()).unwrap()));
    let lent = Box::leak(Box::new(doc.lend().unwrap()));
    let app = Box::leak(Box::new(AppDoc::default()));
    let case = Box::leak(Box::new(lent.case(0, app).unwrap()));
    let Decision::Push(n) = decide(case).unwrap() else {
        panic!("suppressed")
    };
    let (outcome, rendered) = push_report(&n).unwrap();
    Rendered {
        body: outcome.payload.unwrap(),
        headers: rendered.headers,
    }
}

/// Writes a stand-in's CA into a temp folder; answers the folder and path.
pub fn ca_file(pem: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    (dir, path)
}

/// Issue 26: a success without the vendor's message id (or with an empty
/// one) reports the push's own id, as every other provider does; the
/// delivery's `id` (the vendor's) stays empty.
pub async fn assert_an_idless_success_reports_the_push_id(
    client: &dyn tidings_deliver::Provider,
    rendered: &Rendered,
) {
    let push = rendered.push(0);
    let d = client.send(&push).await;
    assert_eq!(
        d.outcome,
        tidings_deliver::Outcome::Delivered {
            id: push.id.to_string()
        }
    );
    assert_eq!(d.status, Some(200));
    assert!(d.id.as_deref().unwrap_or("").is_empty(), "{d:?}");
}
