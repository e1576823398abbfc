//! The message key on the wire of every provider: arbitrary C2C `MsgKey`s
//! and group `GroupId` + `MsgSeq`s, read from the case format, decided and
//! rendered, carry on every channel the one replace key their message
//! derives; C2C and group identities never share a collapse key.

use proptest::prelude::*;
use serde_json::{json, Value};
use tidings_core::explain::{replace_fields, KeyValue};
use tidings_core::model::Channel;
use tidings_core::recall::Replacement;
use tidings_core::recall::{MessageKey, ReplaceKey, MSG_KEY_LIMIT};
use tidings_core::{decide, Decision};
use tidings_std::conform::decoded_payload;
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::{push_report, run_case, RunConfig};

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

/// Every replace field `channel`'s push carries (the core's own table,
/// [`replace_fields`], read back from the payload as the provider gets
/// it), with the value the message's key gives that field; both as text.
fn replace_fields_sent(
    channel: Channel,
    report: &Value,
    key: &ReplaceKey,
) -> Vec<(String, String)> {
    let payload = decoded_payload(report).unwrap().expect("a payload");
    replace_fields(channel)
        .iter()
        .map(|&(path, part)| {
            let sent = if channel.is_apple() {
                &report["Headers"][path]
            } else {
                path.split('.')
                    .try_fold(&payload, |v, k| v.get(k))
                    .unwrap_or_else(|| panic!("{channel:?}: no {path} in {payload}"))
            };
            let sent = match sent {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let want = match part.of(key) {
                KeyValue::Text(text) => text.to_owned(),
                KeyValue::Number(number) => number.to_string(),
            };
            (sent, want)
        })
        .collect()
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
            let fields = replace_fields_sent(channel, &outcome.report, &key);
            prop_assert!(!fields.is_empty());
            for (sent, want) in fields {
                prop_assert_eq!(sent, want, "{:?}", channel);
            }
        }
    }

    /// A recall's and an edit's replacement of the message carry the same
    /// replace key as its push, on every channel.
    #[test]
    fn a_replacement_carries_the_key_of_the_push_it_replaces(identity in identity()) {
        let key = identity.key().replace_key();
        let app = AppDoc::default();
        for channel in Channel::ALL {
            let doc = parse_case(&case_json(&identity, channel)).unwrap();
            let lent = doc.lend().unwrap();
            let case = lent.case(0, &app).unwrap();
            let Ok(Decision::Push(n)) = decide(&case) else {
                panic!("{channel:?}: not pushed")
            };
            for with in [Replacement::Recalled, Replacement::Edited { text: "ok" }] {
                let (outcome, _) = push_report(&n.replaced(with)).unwrap();
                for (sent, want) in replace_fields_sent(channel, &outcome.report, &key) {
                    prop_assert_eq!(sent, want, "{:?}", channel);
                }
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
