//! The bodies the gateway's tests send: JSON pushes as an app server
//! posts them, postcard jobs as an edge relay sends them.

#![allow(dead_code)] // each test binary uses its part

use serde_json::{json, Value};

/// A text push `text` from Ann (a 600 s `MsgLifeTime`) of the app `topic`
/// to `recipients`; `to` is the message's addressee key and value
/// (`To_Account` or `GroupId`), `extra` more top-level keys.
pub fn text_push(
    to: (&str, &str),
    text: &str,
    topic: &str,
    recipients: Value,
    extra: Value,
) -> Value {
    let mut body = json!({
        "Message": {
            "From_Account": "ann",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
            "MsgLifeTime": 600
        },
        "Sender": { "Nick": "Ann" },
        "App": { "BundleId": topic },
        "Recipients": recipients
    });
    body["Message"][to.0] = to.1.into();
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

/// A postcard job (the core's `wire`) as an edge relay sends it: a
/// one-to-one text `text` from Ann to `token`, an APNs device of the app
/// `topic` in the background.
pub fn wire_job(token: &str, text: &str, topic: &str) -> Vec<u8> {
    wire_job_with(token, text, topic, json!({}))
}

/// [`wire_job`] with `message` (more `Message` keys: `MsgKey`…).
pub fn wire_job_with(token: &str, text: &str, topic: &str, message: Value) -> Vec<u8> {
    let mut case = json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }]
        },
        "Sender": { "Nick": "Ann" },
        "Recipient": { "Account": "bob", "Device": { "Channel": "apns", "Token": token, "State": "background" } },
        "App": { "BundleId": topic },
        "Now": 1
    });
    if let (Value::Object(m), Value::Object(extra)) = (&mut case["Message"], message) {
        m.extend(extra);
    }
    let case = case.to_string();
    let doc = tidings_std::ingest::parse_case(case.as_bytes()).unwrap();
    let lent = doc.lend().unwrap();
    let app = tidings_std::ingest::AppDoc::default();
    let case = lent.case(0, &app).unwrap();
    // Room for the longest text a test sends (a job over the server's limit).
    let mut buffer = vec![0u8; 64 * 1024];
    let len = tidings_core::wire::encode(&case, &mut buffer).unwrap();
    buffer.truncate(len);
    buffer
}
