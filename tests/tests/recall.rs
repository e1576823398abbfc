//! The message key on the wire of every provider: arbitrary C2C `MsgKey`s
//! and group `GroupId` + `MsgSeq`s, read from the case format, decided and
//! rendered, carry on every channel the one replace key their message
//! derives; C2C and group identities never share a collapse key.

use proptest::prelude::*;
use serde_json::{json, Value};
use tidings_core::model::Channel;
use tidings_core::recall::{MessageKey, ReplaceKey, MSG_KEY_LIMIT};
use tidings_std::conform::decoded_payload;
use tidings_std::report::{run_case, RunConfig};

/// Characters that stress header values, escaping and form encoding.
const TRICKY: &[char] = &[
    'a', 'Z', '0', '_', '-', ':', '#', '@', ' ', '"', '\\', '&', '=', '+', '%', '\n', '中', '😀',
];

fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), min..max).prop_map(String::from_iter)
}

/// A message identity: a C2C `MsgKey`, or a group id and sequence.
#[derive(Debug, Clone)]
enum Identity {
    C2c(String),
    Group(String, u64),
}

impl Identity {
    fn key(&self) -> MessageKey<'_> {
        match self {
            Identity::C2c(msg_key) => MessageKey::C2c { msg_key },
            Identity::Group(group_id, msg_seq) => MessageKey::Group {
                group_id,
                msg_seq: *msg_seq,
            },
        }
    }
}

fn identity() -> impl Strategy<Value = Identity> {
    prop_oneof![
        // Up to 32 chars of at most 4 bytes: within MSG_KEY_LIMIT.
        text(1, 33).prop_map(Identity::C2c),
        (text(1, 20), any::<u64>()).prop_map(|(id, seq)| Identity::Group(id, seq)),
    ]
}

/// The case-format case of `identity` for `channel`'s device.
fn case_json(identity: &Identity, channel: Channel) -> Vec<u8> {
    let token = if channel.is_apple() { "a1b2" } else { "t-1" };
    let mut message = json!({
        "From_Account": "ann",
        "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": "hi" } }],
    });
    let mut case = json!({
        "Sender": { "Nick": "Ann" },
        "Recipient": {
            "Account": "bob",
            "Device": { "Channel": channel.name(), "Token": token, "State": "background" },
        },
        "App": { "BundleId": "com.example.chat", "PackageName": "com.example.chat" },
        "Now": 1_795_236_000,
    });
    match identity {
        Identity::C2c(msg_key) => {
            message["To_Account"] = json!("bob");
            message["MsgKey"] = json!(msg_key);
        }
        Identity::Group(id, seq) => {
            message["GroupId"] = json!(id);
            message["MsgSeq"] = json!(seq);
            case["Group"] = json!({ "Name": "Dev", "Type": "Work" });
        }
    }
    case["Message"] = message;
    serde_json::to_vec(&case).unwrap()
}

/// Every replace field `channel`'s push carries, as (name, value); the
/// values as their text, numbers and form strings alike.
fn replace_fields(channel: Channel, report: &Value) -> Vec<(&'static str, String)> {
    let payload = decoded_payload(report).unwrap().expect("a payload");
    let at = |path: &str| -> String {
        let value = path
            .split('.')
            .try_fold(&payload, |v, key| v.get(key))
            .unwrap_or_else(|| panic!("{channel:?}: no {path} in {payload}"));
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    match channel {
        Channel::Apns | Channel::ApnsVoip => {
            let header = report["Headers"]["apns-collapse-id"].as_str();
            vec![("collapse", header.expect("apns-collapse-id").to_owned())]
        }
        Channel::Fcm => vec![("collapse", at("message.android.notification.tag"))],
        Channel::Huawei => vec![
            ("collapse", at("message.android.notification.tag")),
            ("notify_id", at("message.android.notification.notify_id")),
        ],
        Channel::Honor => vec![
            ("collapse", at("android.notification.tag")),
            ("notify_id", at("android.notification.notifyId")),
        ],
        Channel::Xiaomi => vec![("notify_id", at("notify_id"))],
        Channel::Oppo => vec![("notify_id", at("message.notification.notify_id"))],
        Channel::Vivo => vec![("notify_id", at("notifyId"))],
        Channel::Meizu => vec![("meizu", at("messageJson.advanceInfo.notifyKey"))],
        Channel::Tpns => vec![("notify_id", at("message.android.n_id"))],
    }
}

fn expected(key: &ReplaceKey, field: &str) -> String {
    match field {
        "collapse" => key.collapse().to_owned(),
        "notify_id" => key.notify_id().to_string(),
        _ => key.meizu_key().to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every channel's push of one message carries that message's replace
    /// key, read back from the payload as the provider gets it.
    #[test]
    fn every_push_of_a_message_carries_its_one_replace_key(identity in identity()) {
        let key = identity.key().replace_key();
        for channel in Channel::ALL {
            let outcome = run_case(&case_json(&identity, channel), &RunConfig::default())
                .unwrap_or_else(|e| panic!("{channel:?}: {e}"));
            prop_assert_eq!(&outcome.report["Decision"], "push");
            for (field, value) in replace_fields(channel, &outcome.report) {
                prop_assert_eq!(&value, &expected(&key, field), "{:?} {}", channel, field);
            }
        }
    }

    /// A C2C identity and a group identity never share a collapse key,
    /// whatever the `MsgKey` spells (even `group:<id>:<seq>` itself).
    #[test]
    fn c2c_and_group_collapse_keys_never_meet(
        msg_key in text(1, 33),
        group_id in text(1, 20),
        msg_seq in any::<u64>(),
    ) {
        let group = MessageKey::Group { group_id: &group_id, msg_seq };
        let spoof = group.to_string();
        let group_key = group.replace_key();
        for msg_key in [msg_key.as_str(), spoof.as_str(), &spoof["group:".len()..]] {
            let c2c = MessageKey::C2c { msg_key }.replace_key();
            prop_assert_ne!(c2c.collapse(), group_key.collapse());
        }
    }
}

/// The longest `MsgKey` a case takes, and one byte more refused, naming
/// the key.
#[test]
fn a_msg_key_over_128_bytes_is_refused_by_name() {
    let at_limit = Identity::C2c("k".repeat(MSG_KEY_LIMIT));
    let json = case_json(&at_limit, Channel::Fcm);
    assert!(run_case(&json, &RunConfig::default()).is_ok());
    let over = Identity::C2c("k".repeat(MSG_KEY_LIMIT + 1));
    let error = run_case(&case_json(&over, Channel::Fcm), &RunConfig::default()).unwrap_err();
    assert_eq!(error.key, "Message.MsgKey");
}
