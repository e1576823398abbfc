//! The no_std ingest (`tidings_core::ingest`, feature `json`) against the
//! std ingest (`tidings_std::ingest`, the reference), and every vector's
//! case through the postcard job format (`tidings_core::wire`).
//!
//! On every vector in `tests/vectors/`, as written and with its strings
//! escaped two ways (non-ASCII as `\uXXXX` with surrogate pairs; every
//! character of every string and key as `\uXXXX`), both ingests give the
//! same case, the same decision and the same payload bytes, or both refuse.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{json, Value};
use tidings_core::decide::relevant_mention;
use tidings_core::error::Field;
use tidings_core::ingest::{self, Defaults, IngestError};
use tidings_core::model::{App, Case, Mention, Message, MAX_ELEMS};
use tidings_core::{decide, render, wire, Decision, Error, Reason};
use tidings_std::ingest::{parse_case, AppDoc};

const NOW: i64 = 1_795_236_000;
const BUNDLE_ID: &str = "com.example.default";
const PACKAGE_NAME: &str = "com.example.default.android";
/// As the std report's buffer: only provider limits ever cut text.
const RENDER_BUFFER: usize = 64 * 1024;

fn defaults() -> Defaults<'static> {
    Defaults {
        now: NOW,
        app: App {
            bundle_id: BUNDLE_ID,
            package_name: PACKAGE_NAME,
            badge_class: "",
            harmony_category: "",
        },
    }
}

/// The same defaults for the std side.
fn std_app(defaults: &Defaults<'_>) -> AppDoc {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    AppDoc {
        bundle_id: some(defaults.app.bundle_id),
        package_name: some(defaults.app.package_name),
        badge_class: some(defaults.app.badge_class),
        harmony_category: some(defaults.app.harmony_category),
    }
}

/// What the core makes of a case.
#[derive(Debug, PartialEq)]
enum Outcome {
    Refused(Error),
    Suppress(Reason),
    Push(Vec<u8>),
}

fn run(case: &Case<'_>) -> Outcome {
    match decide(case) {
        Err(e) => Outcome::Refused(e),
        Ok(Decision::Suppress(reason)) => Outcome::Suppress(reason),
        Ok(Decision::Push(n)) => {
            let mut buf = vec![0u8; RENDER_BUFFER];
            match render(&n, &mut buf) {
                Ok(r) => Outcome::Push(buf[..r.len].to_vec()),
                Err(e) => Outcome::Refused(e),
            }
        }
    }
}

/// Both ingests on `json` with `defaults` for what it leaves out: `None`
/// when both refuse it (at ingest or in the core), else the one outcome
/// both give. Panics on any difference.
fn both_with(name: &str, json: &[u8], defaults: Defaults<'_>) -> Option<Outcome> {
    let mut scratch = vec![0u8; json.len()];
    let nostd = ingest::parse(json, &mut scratch, defaults);
    let app = std_app(&defaults);
    let doc = parse_case(json);
    let lent = doc.as_ref().map_err(Clone::clone).and_then(|d| d.lend());
    let std_case = lent
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|l| l.case(defaults.now, &app));
    match (&std_case, &nostd) {
        (Ok(std_case), Ok(nostd)) => {
            let case = nostd.case();
            let kept = relevant_mention(std_case.message.mentions, std_case.recipient.account);
            let reduced = with_mentions(std_case, kept.as_slice());
            assert_eq!(
                reduced, case,
                "{name}: the two ingests read different cases"
            );
            let outcome = run(&case);
            assert_eq!(run(std_case), outcome, "{name}");
            round_trip(name, &case, &outcome);
            match outcome {
                Outcome::Refused(_) => None,
                other => Some(other),
            }
        }
        // One side refuses while reading, the other only in the core
        // (capacities): still both refuse.
        (Err(e), Ok(nostd)) => {
            let outcome = run(&nostd.case());
            assert!(
                matches!(outcome, Outcome::Refused(_)),
                "{name}: std refuses ({e}), no_std gives {outcome:?}"
            );
            None
        }
        (Ok(std_case), Err(e)) => {
            let outcome = run(std_case);
            assert!(
                matches!(outcome, Outcome::Refused(_)),
                "{name}: no_std refuses ({e}), std gives {outcome:?}"
            );
            None
        }
        (Err(_), Err(_)) => None,
    }
}

fn both(name: &str, json: &[u8]) -> Option<Outcome> {
    both_with(name, json, defaults())
}

/// `case` with only `mentions`: the no_std ingest and the job format keep
/// only the mention that decides (`relevant_mention`).
fn with_mentions<'a>(case: &Case<'a>, mentions: &'a [Mention<'a>]) -> Case<'a> {
    Case {
        message: Message {
            mentions,
            ..case.message
        },
        ..*case
    }
}

/// The case through a postcard job: the same case, decision and bytes.
fn round_trip(name: &str, case: &Case<'_>, outcome: &Outcome) {
    let mut buf = vec![0u8; RENDER_BUFFER];
    let len = wire::encode(case, &mut buf).unwrap_or_else(|e| panic!("{name}: encode: {e}"));
    let job = wire::decode(&buf[..len]).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
    let kept = relevant_mention(case.message.mentions, case.recipient.account);
    let reduced = with_mentions(case, kept.as_slice());
    assert_eq!(job.case(), reduced, "{name}: job changed the case");
    assert_eq!(
        run(&job.case()),
        *outcome,
        "{name}: job changed the outcome"
    );
}

/// JSON text for `value` with string characters written as `\uXXXX`:
/// every character when `all` (keys too), else only non-ASCII ones.
fn escaped(value: &Value, all: bool) -> String {
    fn string(s: &str, all: bool, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            if all || !c.is_ascii() || c < ' ' || c == '"' || c == '\\' {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            } else {
                out.push(c);
            }
        }
        out.push('"');
    }
    fn write(value: &Value, all: bool, out: &mut String) {
        match value {
            Value::String(s) => string(s, all, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, all, out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (key, item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(key, all, out);
                    out.push(':');
                    write(item, all, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, all, &mut out);
    out
}

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_vector_gives_the_same_case_decision_and_bytes() {
    let (mut compared, mut refused) = (0, 0);
    for file in vector_files() {
        let vectors: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let vectors = vectors.as_array().expect("a vector file is an array");
        assert!(!vectors.is_empty(), "{}", file.display());
        for vector in vectors {
            let name = format!("{}: {}", file.display(), vector["Name"]);
            let case = &vector["Case"];
            let must_refuse = vector["Expect"]["Error"] == json!(true);
            // The conformance runner's configuration: `Now` 0, no app identity.
            let config = Defaults::default();
            let json = serde_json::to_vec(case).unwrap();
            let plain = both_with(&name, &json, config);
            assert_eq!(plain.is_none(), must_refuse, "{name}: refused = {plain:?}");
            for all in [false, true] {
                let text = escaped(case, all);
                let again = both_with(
                    &format!("{name} (escaped, all = {all})"),
                    text.as_bytes(),
                    config,
                );
                assert_eq!(again, plain, "{name}: escaping changed the outcome");
            }
            // And with a clock and app identity for cases that leave them out.
            both(&name, &json);
            if must_refuse {
                refused += 1;
            } else {
                compared += 1;
            }
        }
    }
    // The vectors exist and include both kinds.
    assert!(
        compared > 100 && refused > 10,
        "{compared} compared, {refused} refused"
    );
}

/// A C2C case with the message text `text` (JSON source, quotes included).
fn case_with_text(text: &str) -> String {
    format!(
        r#"{{"Message":{{"From_Account":"ann","To_Account":"bob","MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":{text}}}}}]}},
           "Sender":{{"Nick":"Ann"}},
           "Recipient":{{"Account":"bob","Device":{{"Channel":"apns","Token":"a1b2","State":"background"}}}}}}"#
    )
}

fn message_text(json: &str, scratch: &mut [u8]) -> Result<String, IngestError> {
    let ingested = ingest::parse(json.as_bytes(), scratch, defaults())?;
    let case = ingested.case();
    match case.message.elems {
        [tidings_core::model::Elem::Text(text)] => Ok((*text).to_owned()),
        other => panic!("unexpected elems {other:?}"),
    }
}

#[test]
fn escapes_and_surrogate_pairs_unescape_into_the_scratch() {
    let json = case_with_text(r#""say \"hi\"\n\u00e9\u4e2d \uD83D\uDE00 \/\\""#);
    let mut scratch = [0u8; 64];
    assert_eq!(
        message_text(&json, &mut scratch).unwrap(),
        "say \"hi\"\né中 😀 /\\"
    );
    assert!(both("escapes", json.as_bytes()).is_some());
}

#[test]
fn a_string_that_does_not_fit_the_scratch_is_an_error_naming_its_key() {
    // "é😀" unescapes to 2 + 4 = 6 bytes.
    let json = case_with_text(r#""\u00e9\uD83D\uDE00""#);
    assert_eq!(message_text(&json, &mut [0u8; 6]).unwrap(), "é😀");
    for short in 0..6 {
        assert_eq!(
            message_text(&json, &mut vec![0u8; short]),
            Err(IngestError::ScratchFull(Field::ElemText)),
            "scratch of {short}"
        );
    }
    // Strings without escapes are borrowed and need no scratch at all.
    assert_eq!(
        message_text(&case_with_text(r#""é😀""#), &mut []).unwrap(),
        "é😀"
    );
}

#[test]
fn lone_surrogates_and_bad_escapes_are_refused_by_both() {
    for text in [
        r#""\uD83D""#,
        r#""\uDE00\uD83D""#,
        r#""\uD83Dx""#,
        r#""\x41""#,
    ] {
        let json = case_with_text(text);
        assert_eq!(
            message_text(&json, &mut [0u8; 64]),
            Err(IngestError::Syntax),
            "{text}"
        );
        assert_eq!(both(text, json.as_bytes()), None, "{text}");
    }
}

/// `base` with the value at `path` (keys, `null` removing) replaced.
fn with(base: &Value, path: &[&str], value: Value) -> Vec<u8> {
    let mut doc = base.clone();
    let (last, parents) = path.split_last().unwrap();
    let mut at = &mut doc;
    for key in parents {
        at = match key.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*key],
        };
    }
    let object = at.as_object_mut().unwrap();
    if value.is_null() && last.starts_with('-') {
        object.remove(&last[1..]);
    } else {
        object.insert((*last).to_owned(), value);
    }
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn errors_name_the_key_and_both_sides_agree() {
    let base: Value = serde_json::from_str(&case_with_text(r#""hi""#)).unwrap();
    let cases: Vec<(&str, Vec<u8>, IngestError)> = vec![
        ("not JSON", b"{\"Message\":".to_vec(), IngestError::Syntax),
        ("an array", b"[]".to_vec(), IngestError::Syntax),
        (
            "missing Recipient",
            with(&base, &["-Recipient"], Value::Null),
            IngestError::Missing(Field::Recipient),
        ),
        (
            "PushFlag as a string",
            with(&base, &["Message", "OfflinePushInfo"], json!({"PushFlag":"1"})),
            IngestError::Type(Field::PushFlag),
        ),
        (
            "PushFlag 2",
            with(&base, &["Message", "OfflinePushInfo"], json!({"PushFlag":2})),
            IngestError::Invalid(Field::PushFlag),
        ),
        (
            "IgnoreHarmonyBadge 2",
            with(
                &base,
                &["Message", "OfflinePushInfo"],
                json!({"AndroidInfo":{"IgnoreHarmonyBadge":2}}),
            ),
            IngestError::Invalid(Field::IgnoreHarmonyBadge),
        ),
        (
            "HarmonyCategory as a number",
            with(
                &base,
                &["Message", "OfflinePushInfo"],
                json!({"AndroidInfo":{"HarmonyCategory":1}}),
            ),
            IngestError::Type(Field::HarmonyCategory),
        ),
        (
            "App.HarmonyCategory as a number",
            with(&base, &["App"], json!({"HarmonyCategory":1})),
            IngestError::Type(Field::AppHarmonyCategory),
        ),
        (
            "unknown channel",
            with(&base, &["Recipient", "Device", "Channel"], json!("pigeon")),
            IngestError::Invalid(Field::Channel),
        ),
        (
            "ReceiveOpt 300",
            with(&base, &["Recipient", "ReceiveOpt"], json!(300)),
            IngestError::Invalid(Field::ReceiveOpt),
        ),
        (
            "Badge negative",
            with(&base, &["Recipient", "Badge"], json!(-1)),
            IngestError::Invalid(Field::Badge),
        ),
        (
            "Now fractional",
            with(&base, &["Now"], json!(1.5)),
            IngestError::Type(Field::Now),
        ),
        (
            "MsgContent null",
            with(&base, &["Message", "MsgBody", "0", "MsgContent"], Value::Null),
            IngestError::Type(Field::MsgContent),
        ),
        (
            "text elem without Text",
            with(&base, &["Message", "MsgBody", "0", "MsgContent"], json!({})),
            IngestError::Missing(Field::ElemText),
        ),
        (
            "unknown elem type",
            with(&base, &["Message", "MsgBody", "0", "MsgType"], json!("TIMPoll")),
            IngestError::Invalid(Field::MsgType),
        ),
        (
            "both To_Account and GroupId",
            with(&base, &["Message", "GroupId"], json!("g")),
            IngestError::Invalid(Field::ToAccount),
        ),
        (
            "GroupId without Group",
            with(
                &serde_json::from_slice(&with(&base, &["Message", "-To_Account"], Value::Null))
                    .unwrap(),
                &["Message", "GroupId"],
                json!("g"),
            ),
            IngestError::Missing(Field::Group),
        ),
        (
            "bad clock",
            with(&base, &["Recipient", "Dnd"], json!({"Start":"24:00:00","Duration":60})),
            IngestError::Invalid(Field::DndStart),
        ),
        (
            "Dnd with both starts",
            with(
                &base,
                &["Recipient", "Dnd"],
                json!({"Start":"22:00:00","StartTimeStamp":1,"Duration":60}),
            ),
            IngestError::Invalid(Field::Dnd),
        ),
        (
            "mention without account",
            with(&base, &["Message", "GroupAtInfo"], json!([{"GroupAtAllFlag":0}])),
            IngestError::Missing(Field::GroupAtAccount),
        ),
        (
            "duplicate key",
            br#"{"Message":{"MsgBody":[],"MsgBody":[],"To_Account":"b"},"Recipient":{"Device":{"Channel":"fcm","State":"offline"}}}"#
                .to_vec(),
            IngestError::Duplicate(Field::MsgBody),
        ),
    ];
    for (what, json, want) in cases {
        let mut scratch = vec![0u8; json.len()];
        let got = ingest::parse(&json, &mut scratch, defaults()).map(|_| ());
        assert_eq!(got, Err(want), "{what}");
        assert_eq!(both(what, &json), None, "{what}: std accepts it");
    }
}

#[test]
fn unknown_keys_nulls_and_defaults_are_read_as_on_the_std_side() {
    let base: Value = serde_json::from_str(&case_with_text(r#""hi""#)).unwrap();
    let mut doc = base.clone();
    doc["Extra"] = json!({"deep": [[{"x": "\"]}"}], -1.5e3, null, true]});
    doc["Message"]["MsgBody"][0]["MsgContent"]["UUID"] = json!("x");
    doc["Message"]["MsgLifeTime"] = Value::Null;
    doc["Group"] = Value::Null;
    doc["App"] = json!({"BundleId": "", "PackageName": null});
    doc["Now"] = Value::Null;
    let json = serde_json::to_vec(&doc).unwrap();
    let mut scratch = vec![0u8; json.len()];
    let ingested = ingest::parse(&json, &mut scratch, defaults()).unwrap();
    let case = ingested.case();
    assert_eq!(case.now, NOW);
    assert_eq!(case.app, defaults().app);
    assert_eq!(case.message.life_time, None);
    assert!(case.recipient.push_enabled);
    assert!(both("defaults", &json).is_some());
}

const TRICKY: &[char] = &[
    'a', ' ', '"', '\\', '/', '\n', '\t', '\u{1}', '\u{1f}', '\u{7f}', 'é', '中', '😀', '\u{200D}',
    '\u{2028}', '\u{FEFF}', '𝄞',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..16).prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
    ))]

    /// Tricky strings in every string-valued position the rules read,
    /// written three ways: both ingests agree and the case round-trips.
    #[test]
    fn tricky_strings_agree(
        nick in text(), body in text(), desc in text(), ext in text(), title in text(),
        group in prop::option::of(text()), channel in 0usize..9, all in any::<bool>(),
    ) {
        let mut doc = json!({
            "Message": {
                "From_Account": "ann",
                "MsgBody": [
                    {"MsgType": "TIMTextElem", "MsgContent": {"Text": body}},
                    {"MsgType": "TIMCustomElem", "MsgContent": {"Desc": desc, "Ext": ext}}
                ],
                "OfflinePushInfo": {"Title": title, "Ext": ext,
                    "ApnsInfo": {"SubTitle": title}, "AndroidInfo": {"HuaWeiChannelID": nick}}
            },
            "Sender": {"Nick": nick, "NameCard": body},
            "Recipient": {"Account": "bob",
                "Device": {"Channel": tidings_core::model::Channel::ALL[channel].name(),
                           "Token": "0a1b2c3d", "State": "background"}},
            "App": {"BundleId": "com.example.chat", "PackageName": "com.example.chat"},
            "Now": NOW
        });
        match &group {
            None => doc["Message"]["To_Account"] = json!("bob"),
            Some(name) => {
                doc["Message"]["GroupId"] = json!("g-1");
                doc["Group"] = json!({"Name": name, "Type": "Work"});
            }
        }
        let plain = both("plain", &serde_json::to_vec(&doc).unwrap());
        let again = both("escaped", escaped(&doc, all).as_bytes());
        prop_assert_eq!(again, plain);
    }

    /// A valid case with bytes overwritten or cut off: a case or an error,
    /// never a panic.
    #[test]
    fn corrupted_json_never_panics(
        hits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        scratch_len in 0usize..64,
    ) {
        let mut json = case_with_text(r#""a\u00e9\n\uD83D\uDE00""#).into_bytes();
        for (at, byte) in hits {
            let i = at.index(json.len());
            json[i] = byte;
        }
        json.truncate(cut.index(json.len() + 1));
        let mut scratch = vec![0u8; scratch_len];
        if let Ok(ingested) = ingest::parse(&json, &mut scratch, defaults()) {
            let _ = run(&ingested.case());
        }
        // And whatever the bytes became, the std side agrees (this input has
        // no numbers and no deep nesting, where the two may differ).
        both("corrupted", &json);
    }
}

/// Elems beyond the default storage (240, a full 12 KB message) are refused
/// by the no_std ingest alone; a larger capacity of the caller's choosing
/// reads them, and decides as the std side does.
#[test]
fn elems_beyond_the_storage_need_a_larger_capacity() {
    let elem = json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":1}});
    let json = serde_json::to_vec(&json!({
        "Message": {"From_Account":"ann","To_Account":"bob","MsgBody": vec![elem; MAX_ELEMS + 1]},
        "Recipient": {"Account":"bob","Device":{"Channel":"apns","Token":"a1b2","State":"background"}}
    }))
    .unwrap();
    let mut scratch = vec![0u8; json.len()];
    assert_eq!(
        ingest::parse(&json, &mut scratch, defaults()).map(|_| ()),
        Err(IngestError::TooMany(Field::MsgBody))
    );
    let big = ingest::Ingested::<300>::parse(&json, &mut scratch, defaults()).unwrap();
    assert_eq!(big.case().message.elems.len(), MAX_ELEMS + 1);
    let doc = parse_case(&json).unwrap();
    let lent = doc.lend().unwrap();
    let app = std_app(&defaults());
    let std_case = lent.case(NOW, &app).unwrap();
    assert!(matches!(run(&big.case()), Outcome::Push(_)));
    assert_eq!(run(&big.case()), run(&std_case));
}

/// Mentions are folded while read, whatever the key order: `Recipient`
/// before `Message` (matched as read) or after it (found by a skim), any
/// number of entries, escaped accounts on either side.
#[test]
fn mentions_fold_in_either_key_order() {
    let device = r#""Device":{"Channel":"apns","Token":"a1b2","State":"background"}"#;
    let others: Vec<String> = (0..999)
        .map(|i| format!(r#"{{"GroupAt_Account":"member-{i}"}}"#))
        .collect();
    let cases = [
        // (recipient account as written, the last mention, pushed)
        (r#""bob""#, r#"{"GroupAt_Account":"bob"}"#, true),
        (r#""b\u006fb""#, r#"{"GroupAt_Account":"bob"}"#, true),
        (r#""bob""#, r#"{"GroupAt_Account":"\u0062ob"}"#, true),
        (r#""bob""#, r#"{"GroupAt_Account":"bobby"}"#, false),
        (r#""bob""#, r#"{"GroupAtAllFlag":1}"#, true),
        (r#""b\n""#, r#"{"GroupAt_Account":"b\n"}"#, true),
        (r#""b\n""#, r#"{"GroupAt_Account":"b\\n"}"#, false),
    ];
    for (account, last, pushed) in cases {
        let mentions = format!("[{},{last}]", others.join(","));
        let message = format!(
            r#""Message":{{"From_Account":"ann","GroupId":"g","MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"hi"}}}}],"GroupAtInfo":{mentions}}},"Group":{{"Name":"G","Type":"Work"}}"#
        );
        let recipient = format!(r#""Recipient":{{"Account":{account},{device},"ReceiveOpt":3}}"#);
        for json in [
            format!("{{{message},{recipient}}}"),
            format!("{{{recipient},{message}}}"),
        ] {
            let want = if pushed {
                "push".to_owned()
            } else {
                "NotMentioned".to_owned()
            };
            let got = match both(&json, json.as_bytes()) {
                Some(Outcome::Push(_)) => "push".to_owned(),
                Some(Outcome::Suppress(r)) => r.name().to_owned(),
                other => format!("{other:?}"),
            };
            assert_eq!(got, want, "{account} / {last}");
            let mut scratch = vec![0u8; json.len()];
            let ingested = ingest::parse(json.as_bytes(), &mut scratch, defaults()).unwrap();
            assert!(ingested.case().message.mentions.len() <= 1);
        }
    }
}
