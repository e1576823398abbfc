//! Regression (found by `fuzz/` target `case_json`): a C2C message with no
//! `From_Account`, no nickname and no push title has no Android title at
//! all. FCM, Huawei and Honor used to send `"title":""`; now FCM leaves the
//! optional title out and Huawei and Honor, which require one, refuse it
//! naming the field, as Xiaomi, OPPO, vivo and Meizu already did.

use serde_json::Value;
use tidings_std::report::{run_case, RunConfig};

/// The fuzzer's input, minimised by hand: everything but the names is a
/// plain C2C text push.
fn case(channel: &str) -> Vec<u8> {
    format!(
        r#"{{"Message":{{"To_Account":"bob","MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"hi"}}}}]}},
            "Sender":{{"Nick":""}},
            "Recipient":{{"Account":"bob","Device":{{"Channel":"{channel}","Token":"a1b2c3d4","State":"background"}}}},
            "App":{{"BundleId":"com.example.chat","PackageName":"com.example.chat"}},"Now":1795236000}}"#
    )
    .into_bytes()
}

#[test]
fn fcm_leaves_an_absent_title_out() {
    let outcome = run_case(&case("fcm"), &RunConfig::default()).expect("FCM pushes");
    let notification = &outcome.report["Payload"]["message"]["notification"];
    assert_eq!(notification.get("title"), None);
    assert_eq!(notification["body"], Value::from("hi"));
    assert_eq!(outcome.report["Title"], Value::Null);
}

#[test]
fn huawei_and_honor_refuse_an_absent_title() {
    for channel in ["huawei", "honor"] {
        let error = run_case(&case(channel), &RunConfig::default()).unwrap_err();
        assert_eq!(error.key, "OfflinePushInfo.Title", "{channel}");
    }
}

#[test]
fn a_title_from_any_source_is_still_sent() {
    let with_nick = String::from_utf8(case("huawei"))
        .unwrap()
        .replace(r#""Nick":"""#, r#""Nick":"Ann""#);
    let outcome = run_case(with_nick.as_bytes(), &RunConfig::default()).expect("pushes");
    assert_eq!(
        outcome.report["Payload"]["message"]["android"]["notification"]["title"],
        Value::from("Ann")
    );
}
