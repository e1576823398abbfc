//! The `tidings` binary as a user runs it.

use std::process::{Command, Output};

mod common;
use common::{assert_no_secrets, example, run, standin, standin_for, tidings, Standin};

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

fn send(standin: &Standin, case: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
    command
        .args([
            "send",
            "--config",
            standin.info["Config"].as_str().unwrap(),
            "-",
        ])
        .env("TIDINGS_LOG", "trace")
        .env_remove("TIDINGS_CONFIG");
    run(command, case)
}

/// What a `send` the stand-in took printed: its JSON report, stderr and
/// stdout.
struct Sent {
    report: serde_json::Value,
    stderr: String,
    stdout: String,
}

impl Sent {
    fn id(&self) -> &str {
        self.report["Delivery"]["Id"].as_str().unwrap()
    }
}

/// `send`, which must exit 0 with the push delivered (status 200, an id);
/// `what` names the case in a failure.
fn send_delivered(standin: &Standin, case: &[u8], what: &str) -> Sent {
    let out = send(standin, case);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["Delivery"]["Outcome"], "delivered",
        "{what}: {report}"
    );
    assert_eq!(report["Delivery"]["Status"], 200, "{what}");
    assert!(report["Delivery"]["Id"].is_string(), "{what}: {report}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Sent {
        report,
        stderr,
        stdout,
    }
}

#[test]
fn send_delivers_the_rendered_bytes_to_the_standin_without_leaking_secrets() {
    let standin = standin(&[]);
    let case = std::fs::read(example("c2c-apns.json")).unwrap();
    let sent = send_delivered(&standin, &case, "apns");
    let id = sent.id();
    assert_eq!(id.len(), 36);
    assert!(
        sent.stderr.contains("minted an APNs provider token"),
        "trace logging was on"
    );
    assert_no_secrets(&standin, &sent.stderr);
    assert_no_secrets(&standin, &sent.stdout);

    // The stand-in got exactly the bytes `tidings render --raw` prints.
    let raw = tidings(&["render", "--raw", &example("c2c-apns.json")], None);
    let accepted = first_record(&standin);
    assert_eq!(accepted["apns_id"], id);
    let payload: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(accepted["payload"], payload);
}

#[test]
fn send_exits_3_when_the_provider_refuses_and_0_when_suppressed() {
    let token = "00ff00ff";
    let standin = standin(&["--reply", &format!("{token}=Unregistered")]);
    let mut case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example("c2c-apns.json")).unwrap()).unwrap();
    case["Recipient"]["Device"]["Token"] = token.into();
    let out = send(&standin, case.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Delivery"]["Outcome"], "token_invalid");
    assert_eq!(report["Delivery"]["Status"], 410);
    assert_eq!(report["Delivery"]["Reason"], "Unregistered");
    assert!(report["Delivery"]["InvalidSince"].is_u64());

    case["Recipient"]["Device"]["State"] = "foreground".into();
    let out = send(&standin, case.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Decision"], "suppress");
    assert!(report.get("Delivery").is_none());
}

#[test]
fn send_names_the_missing_key_file_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tidings.toml");
    std::fs::write(
        &config,
        "[apns]\nteam_id = \"TEAM000001\"\nkey_id = \"KEY0000001\"\nkey_file = \"nowhere.p8\"\n",
    )
    .unwrap();
    let out = tidings(
        &[
            "send",
            "--config",
            config.to_str().unwrap(),
            &example("c2c-apns.json"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: apns.key_file: "), "{stderr}");
    assert!(stderr.contains("nowhere.p8"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}

/// `tidings standin huawei|honor|vivo` + `tidings send`: delivered, exit 0,
/// the stand-in got the core's body, no secret or token at trace level.
#[test]
fn send_delivers_to_the_huawei_honor_and_vivo_standins_without_leaking_secrets() {
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example("group-huawei.json")).unwrap()).unwrap();
    for provider in ["huawei", "honor", "vivo"] {
        let standin = standin_for(provider, &[]);
        let mut case = case.clone();
        case["Recipient"]["Device"]["Channel"] = provider.into();
        case["Recipient"]["Device"]["Token"] = format!("{provider}-device-token-0001").into();
        let case = case.to_string();
        let sent = send_delivered(&standin, case.as_bytes(), provider);
        assert!(
            sent.stderr.contains("fetched a token"),
            "{provider}: trace logging was on"
        );
        assert_no_secrets(&standin, &sent.stderr);
        assert_no_secrets(&standin, &sent.stdout);

        let accepted = first_record(&standin);
        let mut payload = accepted["payload"].clone();
        if provider == "vivo" {
            // The adapter's `appId`, beside the core's fields.
            assert_eq!(payload["appId"], standin.info["AppId"]);
            payload.as_object_mut().unwrap().remove("appId");
        }
        assert_eq!(payload, sent.report["Payload"], "{provider}");
    }
}

/// None of `secrets` (a stand-in's credentials, tokens it issued) in `text`.
fn assert_no_secret_values(text: &str, secrets: &[&str]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!text.contains(secret), "a secret in the output");
    }
}

/// The example case, sent to `channel` and `token`.
fn android_case(channel: &str, token: &str) -> Vec<u8> {
    let mut case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example("c2c-apns.json")).unwrap()).unwrap();
    case["Recipient"]["Device"]["Channel"] = channel.into();
    case["Recipient"]["Device"]["Token"] = token.into();
    case.to_string().into_bytes()
}

/// `tidings standin PROVIDER` + `tidings send`: delivered, exit 0, the
/// stand-in recorded the form fields `tidings render --raw` prints, and no
/// credential (the secrets of the `[provider]` table written for `send`, an
/// `Authorization: key=` value, an `auth_token`) in stdout or stderr at
/// `TIDINGS_LOG=trace`.
fn sends_through_a_form_standin(provider: &str, token: &str) {
    let standin = standin_for(provider, &[]);
    let case = android_case(provider, token);
    let sent = send_delivered(&standin, &case, provider);
    let (id, stderr, stdout) = (sent.id(), &sent.stderr, &sent.stdout);
    assert!(!id.is_empty());
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "trace logging was on"
    );

    let config = std::fs::read_to_string(standin.info["Config"].as_str().unwrap()).unwrap();
    let mut all: Vec<String> = Vec::new();
    for line in config.lines() {
        if let Some((key, value)) = line.split_once(" = ") {
            if ["app_secret", "master_secret"].contains(&key) {
                all.push(serde_json::from_str::<String>(value).unwrap());
            }
        }
    }
    assert!(!all.is_empty());
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_no_secret_values(stderr, &all);
    assert_no_secret_values(stdout, &all);
    assert!(
        // OPPO's app_key is an identifier and may be logged; an
        // `Authorization: key=<AppSecret>` value may not.
        !stderr.replace("app_key=", "").contains("key="),
        "an authorization value in the output"
    );
    assert!(
        !stderr.contains("auth_token="),
        "an auth token in the output"
    );
    assert!(
        !stderr.contains("\"auth_token\""),
        "an auth token in the output"
    );

    // The stand-in recorded the fields of `tidings render --raw`'s body.
    let raw = raw_render(&case);
    let accepted = first_record(&standin);
    assert_eq!(accepted["token"], token);
    assert_eq!(accepted["message_id"], id);
    for pair in String::from_utf8(raw).unwrap().split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        let decoded = form_decode(value);
        assert_eq!(accepted["fields"][name], decoded.as_str(), "{name}");
    }
}

fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn send_delivers_through_the_xiaomi_standin_without_leaking_secrets() {
    sends_through_a_form_standin("xiaomi", "xm-reg-cli-1");
}

#[test]
fn send_delivers_through_the_oppo_standin_without_leaking_secrets() {
    sends_through_a_form_standin("oppo", "CN_oppo-reg-cli-1");
}

#[test]
fn send_delivers_through_the_meizu_standin_without_leaking_secrets() {
    sends_through_a_form_standin("meizu", "mz-push-cli-1");
}

#[test]
fn send_exits_3_when_a_form_vendor_names_the_token_dead() {
    for (provider, token, code) in [
        ("xiaomi", "xm-dead", "bad_regids"),
        ("oppo", "oppo-dead", "10000"),
        ("meizu", "mz-dead", "110003"),
    ] {
        let standin = standin_for(provider, &["--reply", &format!("{token}={code}")]);
        let out = send(&standin, &android_case(provider, token));
        assert_eq!(out.status.code(), Some(3), "{provider}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["Delivery"]["Outcome"], "token_invalid", "{provider}");
        assert!(
            report["Delivery"]["Reason"]
                .as_str()
                .unwrap()
                .starts_with(code),
            "{provider}: {report}"
        );
    }
}

/// No line of a PEM key in `text`.
fn assert_no_key_lines(key_pem: &str, text: &str) {
    for line in key_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
    {
        assert!(!text.contains(line), "key material in the output");
    }
}

/// What `tidings render --raw` prints for `case`.
fn raw_render(case: &[u8]) -> Vec<u8> {
    tidings(&["render", "--raw", "-"], Some(case)).stdout
}

/// The first push the stand-in recorded.
fn first_record(standin: &Standin) -> serde_json::Value {
    let record = std::fs::read_to_string(standin.dir.path().join("record.jsonl")).unwrap();
    serde_json::from_str(record.lines().next().unwrap()).unwrap()
}

#[test]
fn send_delivers_to_the_fcm_standin_without_leaking_the_key_or_access_token() {
    let standin = standin_for("fcm", &[]);
    let case = android_case("fcm", "fcm-cli-token-1");
    let sent = send_delivered(&standin, &case, "fcm");
    let (id, stderr, stdout) = (sent.id(), &sent.stderr, &sent.stdout);
    assert!(id.starts_with("projects/tidings-standin/messages/"), "{id}");
    assert!(stderr.contains("fetched a token"), "trace logging was on");
    let account: serde_json::Value = serde_json::from_slice(
        &std::fs::read(standin.info["ServiceAccountFile"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    for text in [stderr, stdout] {
        assert_no_key_lines(account["private_key"].as_str().unwrap(), text);
        // The stand-in's access tokens start `ya29.` as Google's do; an RS256
        // assertion starts with base64url('{"alg":"RS256"').
        assert!(!text.contains("ya29."), "an access token in the output");
        assert!(
            !text.contains("eyJhbGciOiJSUzI1NiI"),
            "an assertion in the output"
        );
        assert!(
            !text.to_ascii_lowercase().contains("bearer "),
            "an authorization value in the output"
        );
    }
    let accepted = first_record(&standin);
    assert_eq!(accepted["name"], id);
    assert_eq!(accepted["token"], "fcm-cli-token-1");
    let payload: serde_json::Value = serde_json::from_slice(&raw_render(&case)).unwrap();
    assert_eq!(accepted["payload"], payload);
}

#[test]
fn send_delivers_to_the_tpns_standin_without_leaking_the_secret_or_signature() {
    let standin = standin_for("tpns", &[]);
    let case = android_case("tpns", "0b3f1a2c-6d7e-4f80-9a1b-2c3d4e5f6a7b");
    let sent = send_delivered(&standin, &case, "tpns");
    let (id, stderr, stdout) = (sent.id(), &sent.stderr, &sent.stdout);
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert!(stderr.contains("TRACE"), "trace logging was on");
    let secret = std::fs::read_to_string(standin.info["SecretKeyFile"].as_str().unwrap()).unwrap();
    assert!(secret.len() >= 16);
    for text in [stderr, stdout] {
        assert!(!text.contains(&secret), "the SecretKey in the output");
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.contains("sign: ") && !lower.contains("\"sign\""),
            "a signature in the output"
        );
    }
    let accepted = first_record(&standin);
    assert_eq!(accepted["push_id"], id);
    assert_eq!(accepted["auth"], "sign");
    let payload: serde_json::Value = serde_json::from_slice(&raw_render(&case)).unwrap();
    assert_eq!(accepted["payload"], payload);
}

/// `tidings standin harmony` + `tidings send`: the stand-in verified the
/// PS256 JWT with the account's public key and recorded the core's body;
/// neither the private key nor the JWT shows at `TIDINGS_LOG=trace`.
#[test]
fn send_delivers_to_the_harmony_standin_without_leaking_the_key_or_jwt() {
    let standin = standin_for("harmony", &[]);
    let token = "MAAALgE4G98BAAAAst-harmony-cli-1";
    let case = android_case("harmony", token);
    let sent = send_delivered(&standin, &case, "harmony");
    let (id, stderr, stdout) = (sent.id(), &sent.stderr, &sent.stdout);
    assert!(!id.is_empty());
    assert!(stderr.contains("TRACE"), "trace logging was on");
    let account: serde_json::Value = serde_json::from_slice(
        &std::fs::read(standin.info["ServiceAccountFile"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    for text in [stderr, stdout] {
        assert_no_key_lines(account["private_key"].as_str().unwrap(), text);
        // Every JWT the client mints starts with base64url('{"kid":').
        assert!(!text.contains("eyJraWQiOi"), "a JWT in the output");
        assert!(
            !text.to_ascii_lowercase().contains("bearer "),
            "an authorization value in the output"
        );
    }
    let accepted = first_record(&standin);
    assert_eq!(accepted["app_id"], standin.info["ProjectId"]);
    assert_eq!(accepted["tokens"], serde_json::json!([token]));
    let payload: serde_json::Value = serde_json::from_slice(&raw_render(&case)).unwrap();
    assert_eq!(accepted["payload"], payload);
    assert_eq!(payload["payload"]["notification"]["category"], "IM");
}

/// `tidings explain`: the readable report by default, JSON with `--json`,
/// exit codes as `render` (0 decided, 2 unusable).
#[test]
fn explain_prints_the_rule_table_sources_and_lints() {
    let case = br#"{"Message":{"From_Account":"ann","To_Account":"bob","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]},
        "Sender":{"Nick":"Ann"},"App":{"PackageName":"com.example.chat"},
        "Recipient":{"Account":"bob","Device":{"Channel":"huawei","Token":"hw1","State":"background"}},"Now":1}"#;
    let out = tidings(&["explain", "-"], Some(case));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Decision: push on huawei\n"), "{text}");
    assert!(text.contains("MutedGlobal"), "{text}");
    assert!(text.contains("\"Ann\" from Sender.Nick"), "{text}");
    assert!(text.contains("warning  HuaweiNoCategory"), "{text}");

    let out = tidings(&["explain", "--json", "-"], Some(case));
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Rules"].as_array().unwrap().len(), 15);
    assert_eq!(report["Lints"][0]["Code"], "HuaweiNoCategory");

    let render = tidings(&["render", "-"], Some(case));
    let rendered: serde_json::Value = serde_json::from_slice(&render.stdout).unwrap();
    assert_eq!(rendered["Lints"], report["Lints"]);

    let foreground = String::from_utf8_lossy(case).replace("background", "foreground");
    let out = tidings(&["explain", "-"], Some(foreground.as_bytes()));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Decision: suppress (Foreground, push-rules §2.1 row 13)"));
    assert!(text.contains("not reached"), "{text}");

    let out = tidings(&["explain", "-"], Some(b"{}"));
    assert_eq!(out.status.code(), Some(2));
    let out = tidings(&["explain", "/nonexistent/case.json"], None);
    assert_eq!(out.status.code(), Some(2));
}
