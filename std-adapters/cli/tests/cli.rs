//! The `tidings` binary as a user runs it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tidings(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .env_remove("TIDINGS_BUNDLE_ID")
        .env_remove("TIDINGS_PACKAGE_NAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    path.to_string_lossy().into_owned()
}

#[test]
fn renders_the_readme_example() {
    let out = tidings(&["render", &example("c2c-apns.json")], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Decision"], "push");
    assert_eq!(report["Channel"], "apns");
    assert_eq!(report["Body"], "Ann:Lunch at 12? [image]");
    let bytes = report["PayloadBytes"].as_u64().unwrap();
    let raw = tidings(&["render", "--raw", &example("c2c-apns.json")], None);
    assert!(raw.status.success());
    assert_eq!(raw.stdout.len() as u64, bytes);
    let payload: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(payload, report["Payload"]);
}

#[test]
fn reads_standard_input() {
    let case = std::fs::read(example("c2c-apns.json")).unwrap();
    let out = tidings(&["render", "-"], Some(&case));
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Decision"], "push");
}

#[test]
fn fills_app_identity_from_flags() {
    let case = br#"{"Message":{"From_Account":"ann","To_Account":"bob","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]},
        "Recipient":{"Account":"bob","Device":{"Channel":"apns","Token":"ab12","State":"background"}},"Now":1}"#;
    let without = tidings(&["render", "-"], Some(case));
    assert_eq!(without.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&without.stderr).contains("App.BundleId"));
    let with = tidings(
        &["render", "--bundle-id", "com.example.chat", "-"],
        Some(case),
    );
    assert!(with.status.success());
    let report: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(report["Headers"]["apns-topic"], "com.example.chat");
}

#[test]
fn suppression_prints_the_reason() {
    let case = br#"{"Message":{"From_Account":"ann","To_Account":"bob","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]},
        "Recipient":{"Account":"bob","Device":{"Channel":"apns","Token":"ab12","State":"foreground"}},"Now":1}"#;
    let out = tidings(&["render", "-"], Some(case));
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"Decision": "suppress", "Reason": "Foreground"})
    );
    let raw = tidings(&["render", "--raw", "-"], Some(case));
    assert!(raw.status.success());
    assert!(raw.stdout.is_empty());
}

/// Malformed input: non-zero exit, one line on stderr naming the key, no
/// decision on stdout, never a panic (exit 101).
#[test]
fn malformed_cases_are_refused_with_the_key() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "EOF"),
        (b"[]", "JSON object"),
        (b"\xff\xfe{", "JSON object"),
        (br#"{"Message":{"To_Account":"bob","MsgBody":[]},"Recipient":{"Device":{"Channel":"apns","State":"background"}},"Now":"soon"}"#, "Now"),
        (br#"{"Message":{"To_Account":"bob","MsgBody":[],"OfflinePushInfo":{"PushFlag":"1"}},"Recipient":{"Device":{"Channel":"apns","State":"background"}}}"#, "Message.OfflinePushInfo.PushFlag"),
        (br#"{"Message":{"To_Account":"bob","MsgBody":[]},"Recipient":{"Device":{"Channel":"telegraph","State":"background"}}}"#, "Recipient.Device.Channel"),
        (br#"{"Message":{"MsgBody":[]},"Recipient":{"Device":{"Channel":"apns","State":"background"}}}"#, "Message.To_Account"),
        (br#"{"Message":{"GroupId":"g","MsgBody":[]},"Recipient":{"Device":{"Channel":"apns","State":"background"}}}"#, "Group"),
        (br#"{"Message":{"To_Account":"b","MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{}},{"MsgType":"TIMCustomElem","MsgContent":{}}]},"Recipient":{"Device":{"Channel":"apns","Token":"ab","State":"background"}}}"#, "Message.MsgBody"),
        (br#"{"Message":{"To_Account":"b","MsgBody":[]},"Recipient":{"Device":{"Channel":"apns","State":"background"},"GlobalReceiveOpt":2,"Dnd":{"Start":"25:00:00","Duration":1}}}"#, "Recipient.Dnd.Start"),
        (br#"{"Message":{"To_Account":"b","MsgBody":[]}}"#, "Recipient"),
    ];
    for (input, key) in cases {
        let out = tidings(&["render", "-"], Some(input));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{key}: printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(stderr.lines().count(), 1, "{key}: {stderr}");
        assert!(stderr.contains(key), "expected {key:?} in {stderr:?}");
    }
}

#[test]
fn a_missing_file_is_an_error() {
    let out = tidings(&["render", "/nonexistent/case.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/case.json"));
}
