//! What an edge relay sends the gateway, for the tests of its wire path.

#![allow(dead_code)] // each test binary uses its part

use serde_json::json;

/// A postcard job (the core's `wire`) as an edge relay sends it: a
/// one-to-one text `text` from Ann to `token`, an APNs device of the app
/// `topic` in the background.
pub fn wire_job(token: &str, text: &str, topic: &str) -> Vec<u8> {
    let case = json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }]
        },
        "Sender": { "Nick": "Ann" },
        "Recipient": { "Account": "bob", "Device": { "Channel": "apns", "Token": token, "State": "background" } },
        "App": { "BundleId": topic },
        "Now": 1
    })
    .to_string();
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
