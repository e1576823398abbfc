//! Property tests: arbitrary names, texts and knobs through decide + render.
//!
//! Texts mix ASCII, CJK, emoji with skin-tone modifiers and ZWJ, control
//! characters, quotes, backslashes and U+2028/U+2029 — everything that
//! stresses escaping, form encoding and cutting.

use proptest::prelude::*;
use serde_json::Value;
use tidings_core::model::*;
use tidings_core::recall::MSG_KEY_LIMIT;
use tidings_core::{decide, render, Decision, Error, Field};
use tidings_std::conform::decoded_payload;
use unicode_segmentation::UnicodeSegmentation;

const TRICKY: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '"',
    '\\',
    '/',
    '\n',
    '\t',
    '\u{1}',
    '\u{1f}',
    '\u{7f}',
    '&',
    '=',
    '+',
    '%',
    'é',
    'ß',
    '中',
    '文',
    '字',
    '😀',
    '👍',
    '\u{1F3FD}',
    '\u{200D}',
    '👩',
    '\u{2028}',
    '\u{2029}',
    '…',
    '\u{FEFF}',
    '𝄞',
];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..max).prop_map(String::from_iter)
}

#[derive(Debug, Clone)]
struct Input {
    nick: String,
    card: String,
    group_name: Option<String>,
    body: String,
    title: String,
    desc: String,
    ext: String,
    sub_title: String,
    badge: u32,
    life_time: Option<u32>,
}

fn input() -> impl Strategy<Value = Input> {
    (
        (text(20), text(20), prop::option::of(text(20))),
        (
            prop_oneof![text(40), text(6000)],
            text(60),
            prop_oneof![Just(String::new()), text(300)],
        ),
        (
            text(200),
            text(20),
            any::<u32>(),
            prop::option::of(any::<u32>()),
        ),
    )
        .prop_map(
            |(
                (nick, card, group_name),
                (body, title, desc),
                (ext, sub_title, badge, life_time),
            )| {
                Input {
                    nick,
                    card,
                    group_name,
                    body,
                    title,
                    desc,
                    ext,
                    sub_title,
                    badge,
                    life_time,
                }
            },
        )
}

fn render_case(input: &Input, channel: Channel, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    render_keyed(input, channel, buf, &Keyed::default())
}

/// What [`render_keyed`] sets beyond an [`Input`]: the message key and the
/// HarmonyOS categories.
#[derive(Debug, Default)]
struct Keyed<'k> {
    msg_key: &'k str,
    msg_seq: Option<u64>,
    message_category: &'k str,
    app_category: &'k str,
}

/// [`render_case`] with `keyed` set in the case.
fn render_keyed(
    input: &Input,
    channel: Channel,
    buf: &mut [u8],
    keyed: &Keyed<'_>,
) -> Result<Option<usize>, Error> {
    let elems = [Elem::Text(&input.body), Elem::Image];
    let conversation = match &input.group_name {
        Some(name) => Conversation::Group(Group {
            id: "g-1",
            name,
            kind: GroupType::Work,
        }),
        None => Conversation::C2c { to_account: "bob" },
    };
    let push_info = PushInfo {
        title: &input.title,
        desc: &input.desc,
        ext: &input.ext,
        android: AndroidInfo {
            harmony_category: keyed.message_category,
            ..AndroidInfo::default()
        },
        apns: ApnsInfo {
            sub_title: &input.sub_title,
            ..ApnsInfo::default()
        },
        ..PushInfo::default()
    };
    let case = Case {
        message: Message {
            push_info: Some(push_info),
            life_time: input.life_time.filter(|t| *t > 0),
            msg_key: keyed.msg_key,
            msg_seq: keyed.msg_seq,
            ..Message::new(
                Sender {
                    account: "ann",
                    nick: &input.nick,
                    name_card: &input.card,
                },
                conversation,
                &elems,
            )
        },
        recipient: Recipient {
            badge: input.badge,
            ..Recipient::new(
                "bob",
                Device {
                    channel,
                    token: "0a1b2c3d",
                    state: DeviceState::Background,
                },
            )
        },
        app: App {
            bundle_id: "com.example.chat",
            package_name: "com.example.chat",
            badge_class: "",
            harmony_category: keyed.app_category,
        },
        now: 1_795_236_000,
    };
    match decide(&case)? {
        Decision::Suppress(_) => Ok(None),
        Decision::Push(n) => render(&n, buf).map(|r| Some(r.len)),
    }
}

/// Whether `at` is an extended grapheme cluster boundary of `text`, by the
/// reference (`unicode-segmentation`; the alphabets here have no viramas,
/// the one rule, GB9c, the core does not cover).
fn is_cluster_boundary(text: &str, at: usize) -> bool {
    at == text.len() || text.grapheme_indices(true).any(|(i, _)| i == at)
}

/// The cluster of `text` starting at `at` (empty at the end).
fn next_cluster(text: &str, at: usize) -> &str {
    text[at..].graphemes(true).next().unwrap_or("")
}

/// Bytes `s` takes JSON-escaped the way the core escapes (U+2028/9 too).
fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            '\0'..='\u{1f}' | '\u{2028}' | '\u{2029}' => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Units of the cluster of `text` starting at `at`, counted `limit`'s way.
fn next_cluster_units(text: &str, at: usize, limit: CharLimit) -> usize {
    limit.counter.count(next_cluster(text, at))
}

fn full_body(input: &Input) -> String {
    full_body_where(input, |desc| !desc.is_empty())
}

/// The body when `Desc` counts only where `shown` says so (Xiaomi: a
/// blank `Desc` gives way to the composed body).
fn full_body_where(input: &Input, shown: fn(&str) -> bool) -> String {
    if shown(&input.desc) {
        return input.desc.clone();
    }
    let name = match &input.group_name {
        Some(_) if !input.card.is_empty() => input.card.as_str(),
        _ => input.nick.as_str(),
    };
    let group = input.group_name.as_deref().unwrap_or("");
    let prefix = match (name.is_empty(), group.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("{name}:"),
        _ => format!("{name}({group}):"),
    };
    format!("{prefix}{}[image]", input.body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
    ))]

    /// APNs: valid JSON, within the limit, body cut only at a char boundary
    /// and only as far as needed, identical when rendered twice.
    #[test]
    fn apns_payload_is_valid_bounded_and_deterministic(input in input(), voip in any::<bool>()) {
        let channel = if voip { Channel::ApnsVoip } else { Channel::Apns };
        let limit = if voip { 5120 } else { 4096 };
        let mut buf = vec![0u8; 8192];
        let len = match render_case(&input, channel, &mut buf) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(()),
            // Only an uncuttable field (ext, subtitle) may fail to fit.
            Err(Error::TooLong(_)) => {
                prop_assert!(input.ext.len() + input.sub_title.len() > 1000);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        prop_assert!(len <= limit);
        let payload: Value = serde_json::from_slice(&buf[..len])
            .map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
        let alert = &payload["aps"]["alert"];
        let body = alert.get("body").unwrap_or(alert).as_str().unwrap().to_owned();
        let full = full_body(&input);
        if body != full {
            let kept = body.strip_suffix('…').expect("a cut body ends with …");
            prop_assert!(full.starts_with(kept), "cut body is not a prefix");
            prop_assert!(is_cluster_boundary(&full, kept.len()), "cut inside a cluster: {kept:?}");
            // Cut only as far as needed: the next whole cluster would not fit.
            let next = next_cluster(&full, kept.len());
            prop_assert!(len + escaped_len(next) > limit, "cut to {len} bytes, limit {limit}");
        }
        let mut again = vec![0u8; 8192];
        let len_again = render_case(&input, channel, &mut again).unwrap().unwrap();
        prop_assert_eq!(&buf[..len], &again[..len_again]);
    }

    /// Any buffer size: a payload that fits the buffer, or a typed error —
    /// never a panic, never a byte past the buffer.
    #[test]
    fn small_buffers_never_panic(input in input(), size in 0usize..400, channel in prop::sample::select(Channel::ALL.to_vec())) {
        let mut buf = vec![0u8; size];
        if let Ok(Some(len)) = render_case(&input, channel, &mut buf) {
            prop_assert!(len <= size);
            if let Ok(report) = serde_json::from_slice::<Value>(&buf[..len]) {
                prop_assert!(report.is_object());
            }
        }
    }

    /// Every channel: rendering twice gives the same bytes, and JSON
    /// providers give JSON, form providers a form whose JSON fields parse.
    #[test]
    fn every_channel_renders_valid_deterministic_bytes(input in input(), channel in prop::sample::select(Channel::ALL.to_vec())) {
        let mut first = vec![0u8; 65536];
        let mut second = vec![0u8; 65536];
        let (Ok(Some(a)), Ok(Some(b))) = (
            render_case(&input, channel, &mut first),
            render_case(&input, channel, &mut second),
        ) else {
            return Ok(());
        };
        prop_assert_eq!(&first[..a], &second[..b]);
        let text = core::str::from_utf8(&first[..a]).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let payload = if tidings_std::report::is_form_channel(channel) {
            Value::String(text.to_owned())
        } else {
            serde_json::from_str(text).map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?
        };
        let report = serde_json::json!({ "Channel": channel.name(), "Payload": payload });
        let decoded = decoded_payload(&report).map_err(TestCaseError::fail)?;
        prop_assert!(decoded.is_some_and(|p| p.is_object()));
    }
}

/// Where each Android provider puts title and body in the decoded payload,
/// and the limits it enforces on them.
struct AndroidShape {
    channel: Channel,
    title: &'static str,
    body: &'static str,
    limits: Option<(CharLimit, CharLimit)>,
    byte_limit: Option<usize>,
}

use tidings_core::render::{fcm, harmony, honor, huawei, meizu, oppo, vivo, xiaomi};
use tidings_core::write::CharLimit;

const ANDROID: [AndroidShape; 8] = [
    AndroidShape {
        channel: Channel::Fcm,
        title: "message.notification.title",
        body: "message.notification.body",
        limits: None,
        byte_limit: Some(fcm::PAYLOAD_LIMIT),
    },
    AndroidShape {
        channel: Channel::Huawei,
        title: "message.android.notification.title",
        body: "message.android.notification.body",
        limits: None,
        // The token array is not counted: `"token":["0a1b2c3d"]` plus a comma.
        byte_limit: Some(huawei::PAYLOAD_LIMIT + 21),
    },
    AndroidShape {
        channel: Channel::Honor,
        title: "android.notification.title",
        body: "android.notification.body",
        limits: None,
        byte_limit: Some(honor::PAYLOAD_LIMIT + 21),
    },
    AndroidShape {
        channel: Channel::Xiaomi,
        title: "title",
        body: "description",
        limits: Some((xiaomi::TITLE_LIMIT, xiaomi::DESCRIPTION_LIMIT)),
        byte_limit: None,
    },
    AndroidShape {
        channel: Channel::Oppo,
        title: "message.notification.title",
        body: "message.notification.content",
        limits: Some((oppo::TITLE_LIMIT, oppo::CONTENT_LIMIT)),
        byte_limit: None,
    },
    AndroidShape {
        channel: Channel::Vivo,
        title: "title",
        body: "content",
        limits: Some((vivo::TITLE_LIMIT, vivo::CONTENT_LIMIT)),
        byte_limit: None,
    },
    AndroidShape {
        channel: Channel::Meizu,
        title: "messageJson.noticeBarInfo.title",
        body: "messageJson.noticeBarInfo.content",
        limits: Some((meizu::TITLE_LIMIT, meizu::CONTENT_LIMIT)),
        byte_limit: None,
    },
    AndroidShape {
        channel: Channel::Harmony,
        title: "payload.notification.title",
        body: "payload.notification.body",
        limits: None,
        // The token array is not counted: `"token":["0a1b2c3d"]`, the
        // first member of `target`.
        byte_limit: Some(harmony::PAYLOAD_LIMIT + 20),
    },
];

fn at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// `sent` is `full`, or a prefix of it cut at a cluster boundary plus `…`.
fn is_whole_or_cut(sent: &str, full: &str) -> bool {
    sent == full
        || sent
            .strip_suffix('…')
            .is_some_and(|kept| full.starts_with(kept) && is_cluster_boundary(full, kept.len()))
}

/// A cut by a char limit went no further than needed: the next whole
/// cluster and the ellipsis would have been over `limit`.
fn cut_only_as_needed(sent: &str, full: &str, limit: CharLimit) -> bool {
    let Some(kept) = sent.strip_suffix('…').filter(|_| sent != full) else {
        return true;
    };
    limit.counter.count(kept)
        + next_cluster_units(full, kept.len(), limit)
        + limit.counter.count("…")
        > limit.max
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// The Android title and body a channel is sent: the first set of the
/// title chain (for Xiaomi, which refuses blank texts, the first non-blank)
/// and the body (for Xiaomi, a blank `Desc` gives way to the composed body).
fn android_texts(input: &Input, channel: Channel) -> (String, String) {
    let shown: fn(&str) -> bool = if channel == Channel::Xiaomi {
        |s| !is_blank(s)
    } else {
        |s| !s.is_empty()
    };
    let chain = match &input.group_name {
        Some(name) => [input.title.as_str(), name, "g-1"],
        None => [input.title.as_str(), &input.nick, "ann"],
    };
    let title = chain.into_iter().find(|t| shown(t)).unwrap_or("");
    (title.to_owned(), full_body_where(input, shown))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
    ))]

    /// Android: title and body are the full text or a char-boundary prefix
    /// plus `…`, within the provider's char limits (counted its way) and
    /// byte limit, never empty.
    #[test]
    fn android_text_within_provider_limits(input in input(), which in 0usize..ANDROID.len()) {
        let shape = &ANDROID[which];
        let mut buf = vec![0u8; 65536];
        let len = match render_case(&input, shape.channel, &mut buf) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(()),
            // Only an uncuttable field (ext) or an empty title/body a
            // provider refuses may fail.
            Err(Error::TooLong(_) | Error::Invalid(_)) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        if let Some(limit) = shape.byte_limit {
            prop_assert!(len <= limit, "{} bytes over {}", len, limit);
        }
        let text = core::str::from_utf8(&buf[..len]).unwrap();
        let payload = if tidings_std::report::is_form_channel(shape.channel) {
            Value::String(text.to_owned())
        } else {
            serde_json::from_str(text).unwrap()
        };
        let report = serde_json::json!({ "Channel": shape.channel.name(), "Payload": payload });
        let decoded = decoded_payload(&report).map_err(TestCaseError::fail)?.unwrap();
        let title = at(&decoded, shape.title).and_then(Value::as_str).unwrap();
        let body = at(&decoded, shape.body).and_then(Value::as_str).unwrap();
        prop_assert!(!title.is_empty() && !body.is_empty());
        let (full_title, full_body) = android_texts(&input, shape.channel);
        prop_assert!(is_whole_or_cut(title, &full_title), "title {title:?}");
        prop_assert!(is_whole_or_cut(body, &full_body), "body {body:?}");
        if let Some((title_limit, body_limit)) = shape.limits {
            prop_assert!(title_limit.counter.count(title) <= title_limit.max);
            prop_assert!(body_limit.counter.count(body) <= body_limit.max);
            // A 64 KiB buffer never cuts these form/JSON bodies: only the
            // char limits do, and only as far as needed.
            prop_assert!(cut_only_as_needed(title, &full_title, title_limit), "title {title:?}");
            prop_assert!(cut_only_as_needed(body, &full_body, body_limit), "body {body:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
    ))]

    /// HarmonyOS: whatever the message key, `notifyId` is in 1…2³¹−1 and
    /// `appMessageId` 1–64 visible ASCII chars (both there exactly when the
    /// message has a key); the category sent is a documented one, else the
    /// push is refused naming where it came from; `ttl` is at most 15 days.
    #[test]
    fn harmony_keys_category_and_ttl_in_range(
        input in input(),
        msg_key in text(100),
        msg_seq in prop::option::of(any::<u64>()),
        category in prop_oneof![
            Just(String::new()),
            prop::sample::select(harmony::CATEGORIES.to_vec()).prop_map(String::from),
            "[A-Z_]{1,16}",
        ],
        in_app in any::<bool>(),
    ) {
        let mut buf = vec![0u8; 65536];
        let (message_category, app_category) = if in_app { ("", category.as_str()) } else { (category.as_str(), "") };
        let result = render_keyed(&input, Channel::Harmony, &mut buf, &Keyed {
            msg_key: &msg_key,
            msg_seq,
            message_category,
            app_category,
        });
        // MessageKey::of: a C2C message is keyed by MsgKey, a group one by MsgSeq.
        let keyed = if input.group_name.is_some() { msg_seq.is_some() } else { !msg_key.is_empty() };
        let documented = category.is_empty() || harmony::CATEGORIES.contains(&category.as_str());
        let len = match result {
            // A MsgKey over 128 bytes is refused first, naming it.
            Err(Error::Invalid(Field::MsgKey)) if msg_key.len() > MSG_KEY_LIMIT => return Ok(()),
            Err(Error::Invalid(field)) if !documented => {
                let named = if in_app { Field::AppHarmonyCategory } else { Field::HarmonyCategory };
                prop_assert_eq!(field, named);
                return Ok(());
            }
            Ok(Some(len)) => len,
            Ok(None) | Err(Error::TooLong(_) | Error::Invalid(_)) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        prop_assert!(documented, "undocumented category {:?} sent", category);
        let payload: Value = serde_json::from_slice(&buf[..len]).unwrap();
        let notification = &payload["payload"]["notification"];
        let sent = notification["category"].as_str().unwrap();
        prop_assert_eq!(sent, if category.is_empty() { harmony::DEFAULT_CATEGORY } else { &category });
        let notify_id = notification.get("notifyId").and_then(Value::as_u64);
        let app_message_id = notification.get("appMessageId").and_then(Value::as_str);
        prop_assert_eq!(notify_id.is_some(), keyed);
        prop_assert_eq!(app_message_id.is_some(), keyed);
        if let (Some(id), Some(app_id)) = (notify_id, app_message_id) {
            prop_assert!((1..=0x7fff_ffff).contains(&id));
            prop_assert!((1..=64).contains(&app_id.len()));
            prop_assert!(app_id.bytes().all(|b| b.is_ascii_graphic()), "{app_id:?}");
        }
        if let Some(ttl) = payload.get("pushOptions").map(|o| o["ttl"].as_u64().unwrap()) {
            prop_assert!(ttl <= u64::from(harmony::MAX_TTL_SECONDS));
        }
    }
}
