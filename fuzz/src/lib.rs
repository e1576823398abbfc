//! The one invariant checker every fuzz target goes through.
//!
//! A target turns its input into a [`Case`] however its entry point does
//! (std JSON ingest, no_std JSON ingest, postcard job, `arbitrary` model)
//! and hands it to [`check_every_channel`]. A finding is a panic, which
//! libFuzzer reports as a crash. What is checked, for every channel:
//!
//! - deciding twice gives the same answer, and the answer does not depend
//!   on the channel (no rule reads it once a token is set);
//! - a push renders twice to the same bytes (into buffers with different
//!   old contents), or fails twice with the same typed error;
//! - the bytes fit the buffer, are UTF-8, and are one JSON object without
//!   duplicate member names, or a strict `application/x-www-form-urlencoded`
//!   body whose values decode to UTF-8 and whose JSON fields parse;
//! - byte limits: APNs 4096 (VoIP 5120), FCM 4096, Huawei and Honor 4096
//!   without the `token` member;
//! - title and body as sent are the whole text, or a prefix ending on an
//!   extended grapheme cluster boundary plus `…` exactly as `Rendered::cut`
//!   says (the core's boundaries, and `unicode-segmentation`'s where the
//!   text has no Indic virama, GB9c being the one rule the core leaves
//!   out), within the provider's char limits (the consts in
//!   `core/src/render/*.rs`), cut only as far as needed: the next whole
//!   cluster would not have fitted; a title is sent exactly when there is
//!   one;
//! - the texts sent are the notification's, except Xiaomi's blank title or
//!   `Desc`, which fall back along their chains (the first non-blank title
//!   source; the composed body);
//! - the device token is where the provider wants it;
//! - OPPO sends `ext` as `action_parameters` only when it is a JSON object;
//! - the same holds for the push's replacements (a recall, an edit with
//!   the sender's nickname as its text), which render only for a message
//!   with a key; `render::revoke` and `render::removal` answer exactly for
//!   a keyed message on their channels, within the buffer, as a form
//!   (Xiaomi's revoke) or one JSON object.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tidings_core::grapheme;
use tidings_core::json::{is_json_object, MAX_DEPTH};
use tidings_core::model::{Case, Channel, Device, Elem};
use tidings_core::recall::Replacement;
use tidings_core::render::{apns, fcm, harmony, honor, huawei, meizu, oppo, tpns, vivo, xiaomi};
use tidings_core::text::{self, Body};
use tidings_core::write::{CharLimit, ELLIPSIS};
use tidings_core::{decide, render, Decision, Error, Field, Notification, Reason};
use tidings_std::conform::decoded_payload;
use tidings_std::report::is_form_channel;
use unicode_segmentation::UnicodeSegmentation;

pub mod structured;

/// The buffer the CLI renders into: big enough that only provider limits cut.
pub const BIG_BUFFER: usize = tidings_std::report::RENDER_BUFFER;

/// A token every renderer accepts (APNs wants hex; Xiaomi refuses `,`).
pub const VALID_TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// Largest cost of one char in JSON inside a form value: an emoji's four
/// UTF-8 bytes, each `%XX`.
const MAX_FORM_CHAR: usize = 12;

/// `InCB=Linker` (Unicode 17): the viramas GB9c reads. The core does not
/// cover GB9c, so only texts without them are held to the reference.
const INCB_LINKERS: &[char] = &[
    '\u{94d}',
    '\u{9cd}',
    '\u{acd}',
    '\u{b4d}',
    '\u{c4d}',
    '\u{d4d}',
    '\u{1039}',
    '\u{17d2}',
    '\u{1a60}',
    '\u{1b44}',
    '\u{1bab}',
    '\u{a9c0}',
    '\u{aaf6}',
    '\u{10a3f}',
    '\u{11133}',
    '\u{113d0}',
    '\u{1193e}',
    '\u{11a47}',
    '\u{11a99}',
    '\u{11f42}',
];

/// The cluster of `full` starting at `at` (empty at its end), by the core.
fn next_cluster(full: &str, at: usize) -> &str {
    let rest = &full[at..];
    let mut clusters = grapheme::Boundaries::default();
    let end = rest
        .char_indices()
        .find(|&(i, c)| clusters.before(c) && i > 0)
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// Bytes `s` takes JSON-escaped as the core escapes (U+2028/9 too).
fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            '\0'..='\u{1f}' | '\u{2028}' | '\u{2029}' => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// What a case came to, without the borrowed case (so channels compare).
#[derive(Debug, PartialEq, Eq)]
pub enum Summary {
    Refused(Error),
    Suppressed(Reason),
    Pushed(Merged),
}

/// A notification's merged settings: everything but the case itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Merged {
    body: String,
    ios_title: String,
    android_title: String,
    ios_sound: Option<String>,
    android_sound: String,
    badge: Option<u32>,
    ext: String,
    expires_at: Option<i64>,
}

fn summary(decision: &Result<Decision<'_>, Error>) -> Summary {
    match decision {
        Err(e) => Summary::Refused(*e),
        Ok(Decision::Suppress(r)) => Summary::Suppressed(*r),
        Ok(Decision::Push(n)) => Summary::Pushed(Merged {
            body: n.body().segments().collect(),
            ios_title: n.ios_title().to_owned(),
            android_title: n.android_title().to_owned(),
            ios_sound: n.ios_sound().map(str::to_owned),
            android_sound: n.android_sound().to_owned(),
            badge: n.badge(),
            ext: n.ext().to_owned(),
            expires_at: n.expires_at(),
        }),
    }
}

/// Decides `case` twice and, for a push, renders and checks it with a
/// buffer of `buffer` bytes. Returns what it came to.
pub fn check_case(case: &Case<'_>, buffer: usize) -> Summary {
    let decision = decide(case);
    let again = decide(case);
    assert_eq!(decision, again, "deciding twice differs");
    if let Ok(Decision::Push(n)) = &decision {
        assert!(!n.body().is_empty(), "a push with nothing to show");
        check_render(n, buffer);
        check_recall(n, buffer);
    }
    summary(&decision)
}

/// The push's replacements through [`check_render`], and its revoke and
/// removal requests.
fn check_recall(n: &Notification<'_>, buffer: usize) {
    let nick = n.case.message.sender.nick;
    for with in [Replacement::Recalled, Replacement::Edited { text: nick }] {
        let replaced = n.replaced(with);
        if n.message_key().is_none() {
            let mut buf = vec![0u8; buffer];
            let refused = render(&replaced, &mut buf).err();
            assert_eq!(refused, Some(Error::Invalid(Field::MsgKey)));
        }
        check_render(&replaced, buffer);
    }
    let channel = n.case.recipient.device.channel;
    let keyed = n.message_key().is_some();
    let mut buf = vec![0u8; buffer];
    let revoked = tidings_core::render::revoke(n, &mut buf);
    assert_eq!(revoked.is_some(), keyed && channel.revocable());
    if let Some(Ok(r)) = revoked {
        let text = std::str::from_utf8(&buf[..r.len]).expect("revoke is not UTF-8");
        if is_form_channel(channel) {
            check_form(text);
        } else {
            let value: Value = serde_json::from_str(text).expect("revoke is not JSON");
            assert!(value.is_object(), "revoke is not one object");
        }
    }
    let removed = tidings_core::render::removal(n, &mut buf);
    let removable = matches!(channel, Channel::Apns | Channel::Fcm);
    assert_eq!(removed.is_some(), keyed && removable);
    if let Some(Ok(r)) = removed {
        let text = std::str::from_utf8(&buf[..r.len]).expect("removal is not UTF-8");
        let value: Value = serde_json::from_str(text).expect("removal is not JSON");
        assert!(value.is_object(), "removal is not one object");
    }
}

/// Checks `case` as it is, then on every channel with [`VALID_TOKEN`]:
/// every channel must come to the same decision.
pub fn check_every_channel(case: &Case<'_>, buffer: usize) {
    // Once per case, not per channel: the ext texts do not change.
    let custom = case.message.elems.iter().filter_map(|e| match e {
        Elem::Custom(c) => Some(c.ext),
        _ => None,
    });
    for ext in case
        .message
        .push_info
        .map(|p| p.ext)
        .into_iter()
        .chain(custom)
    {
        check_json_classifier(ext);
    }
    check_case(case, buffer);
    let mut first: Option<(Channel, Summary)> = None;
    for channel in Channel::ALL {
        let mut on = *case;
        on.recipient.device = Device {
            channel,
            token: VALID_TOKEN,
            ..case.recipient.device
        };
        let got = check_case(&on, buffer);
        match &first {
            None => first = Some((channel, got)),
            Some((c, want)) => assert_eq!(
                want,
                &got,
                "{} and {} decide differently",
                c.name(),
                channel.name()
            ),
        }
    }
}

/// Where a provider puts title, body and token, and how it limits them.
struct Shape {
    title: &'static str,
    body: &'static str,
    /// `None` for APNs, whose token goes into `:path`, not the body.
    token: Option<&'static str>,
    chars: Option<(CharLimit, CharLimit)>,
    /// Byte limit on the encoded body (exempt bytes not counted).
    bytes: Option<usize>,
}

fn shape(channel: Channel) -> Shape {
    let s = |title, body, token, chars, bytes| Shape {
        title,
        body,
        token,
        chars,
        bytes,
    };
    match channel {
        Channel::Apns => s(
            "aps.alert.title",
            "aps.alert.body",
            None,
            None,
            Some(apns::PAYLOAD_LIMIT),
        ),
        Channel::ApnsVoip => s(
            "aps.alert.title",
            "aps.alert.body",
            None,
            None,
            Some(apns::VOIP_PAYLOAD_LIMIT),
        ),
        Channel::Fcm => s(
            "message.notification.title",
            "message.notification.body",
            Some("message.token"),
            None,
            Some(fcm::PAYLOAD_LIMIT),
        ),
        Channel::Huawei => s(
            "message.android.notification.title",
            "message.android.notification.body",
            Some("message.token.0"),
            None,
            Some(huawei::PAYLOAD_LIMIT),
        ),
        Channel::Honor => s(
            "android.notification.title",
            "android.notification.body",
            Some("token.0"),
            None,
            Some(honor::PAYLOAD_LIMIT),
        ),
        Channel::Xiaomi => s(
            "title",
            "description",
            Some("registration_id"),
            Some((xiaomi::TITLE_LIMIT, xiaomi::DESCRIPTION_LIMIT)),
            None,
        ),
        Channel::Oppo => s(
            "message.notification.title",
            "message.notification.content",
            Some("message.target_value"),
            Some((oppo::TITLE_LIMIT, oppo::CONTENT_LIMIT)),
            None,
        ),
        Channel::Vivo => s(
            "title",
            "content",
            Some("regId"),
            Some((vivo::TITLE_LIMIT, vivo::CONTENT_LIMIT)),
            None,
        ),
        Channel::Meizu => s(
            "messageJson.noticeBarInfo.title",
            "messageJson.noticeBarInfo.content",
            Some("pushIds"),
            Some((meizu::TITLE_LIMIT, meizu::CONTENT_LIMIT)),
            None,
        ),
        Channel::Tpns => s(
            "message.title",
            "message.content",
            Some("token_list.0"),
            None,
            Some(tpns::PAYLOAD_LIMIT),
        ),
        Channel::Harmony => s(
            "payload.notification.title",
            "payload.notification.body",
            Some("target.token.0"),
            None,
            Some(harmony::PAYLOAD_LIMIT),
        ),
    }
}

/// The value at a dotted path; a numeric step indexes an array.
fn at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, step| match v {
        Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(step),
    })
}

/// Renders `n` twice into `buffer`-byte buffers and checks the payload.
pub fn check_render(n: &Notification<'_>, buffer: usize) {
    let channel = n.case.recipient.device.channel;
    let mut first = vec![0u8; buffer];
    let mut second = vec![0xa5u8; buffer];
    let rendered = match (render(n, &mut first), render(n, &mut second)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "rendering twice gives different results");
            a
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "rendering twice gives different errors");
            return;
        }
        (a, b) => panic!("rendering twice: {a:?}, then {b:?}"),
    };
    let len = rendered.len;
    assert!(
        len <= buffer,
        "{len} bytes written into a {buffer}-byte buffer"
    );
    let (bytes, again) = (&first[..len], &second[..len]);
    assert_eq!(bytes, again, "rendering twice gives different bytes");
    let text = std::str::from_utf8(bytes).expect("payload is not UTF-8");

    let payload = if is_form_channel(channel) {
        check_form(text);
        Value::String(text.to_owned())
    } else {
        let mut de = serde_json::Deserializer::from_str(text);
        let Unique(value) = Unique::deserialize(&mut de).expect("payload is not JSON");
        de.end().expect("payload has trailing bytes");
        assert!(value.is_object(), "payload is not a JSON object");
        value
    };
    let report = serde_json::json!({ "Channel": channel.name(), "Payload": payload });
    let decoded = decoded_payload(&report)
        .expect("form payload does not decode")
        .expect("no payload");

    let shape = shape(channel);
    let exempt = match channel {
        Channel::Huawei | Channel::Honor | Channel::Harmony => token_member_len(text),
        _ => 0,
    };
    if let Some(limit) = shape.bytes {
        assert!(
            len - exempt <= limit,
            "{} payload of {len} bytes ({exempt} exempt) is over {limit}",
            channel.name()
        );
    }
    if let Some(path) = shape.token {
        let token = at(&decoded, path).and_then(Value::as_str);
        assert_eq!(
            token,
            Some(n.case.recipient.device.token),
            "token at {path}"
        );
    }

    // APNs sends a bare string alert when there is no title or subtitle.
    let alert = at(&decoded, "aps.alert");
    let body_path = match alert {
        Some(Value::String(_)) => "aps.alert",
        _ => shape.body,
    };
    let body = at(&decoded, body_path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} sends no body", channel.name()));
    let full_body: String = render::body(n).segments().collect();
    let full_title = render::title(n);
    check_sent_texts(n, full_title, render::body(n));
    let limits = shape.chars;
    let spare = buffer - len;
    check_text(
        &format!("{} body", channel.name()),
        body,
        &full_body,
        rendered.cut.body,
        limits.map(|l| l.1),
        spare,
    );

    let title = at(&decoded, shape.title);
    if full_title.is_empty() {
        assert!(
            title.is_none(),
            "{} sends a title without one: {title:?}",
            channel.name()
        );
    } else {
        let title = title
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{} title {full_title:?} not sent", channel.name()));
        check_text(
            &format!("{} title", channel.name()),
            title,
            full_title,
            rendered.cut.title,
            limits.map(|l| l.0),
            spare,
        );
    }

    // Cut only as far as needed: the next whole cluster of the text cut
    // last (the title once the body is down to `…`) must not have fitted.
    // Form bodies are bounded by the buffer only, so this is checked on
    // the byte-limited JSON providers.
    let last_cut = match (rendered.cut.title, rendered.cut.body) {
        (Some(kept), _) => Some(next_cluster(full_title, kept)),
        (None, Some(kept)) => Some(next_cluster(&full_body, kept)),
        (None, None) => None,
    };
    if let (Some(next), Some(limit)) = (last_cut, shape.bytes) {
        let allowed = buffer.min(limit + exempt);
        assert!(
            len + escaped_len(next) > allowed,
            "{} cut to {len} bytes though {allowed} are allowed and {next:?} would fit",
            channel.name()
        );
    }

    if channel == Channel::Oppo {
        let sent = at(&decoded, "message.notification.action_parameters");
        let object = !n.ext().is_empty() && is_json_object(n.ext());
        assert_eq!(
            sent.is_some(),
            object,
            "OPPO action_parameters for {:?}",
            n.ext()
        );
        assert_eq!(
            rendered.warnings.ext_not_json_object,
            !n.ext().is_empty() && !object
        );
    }
}

/// The texts a channel is sent are the notification's, except that Xiaomi
/// (which refuses blank ones) takes the first non-blank title source and
/// the composed body for a blank `Desc`.
fn check_sent_texts(n: &Notification<'_>, title: &str, body: Body<'_>) {
    let channel = n.case.recipient.device.channel;
    if channel == Channel::Xiaomi {
        let chain = text::android_title_chain(n.message());
        let want = chain.into_iter().find(|t| !text::is_blank(t)).unwrap_or("");
        assert_eq!(title, want, "Xiaomi title");
        if !text::is_blank(n.android_title()) {
            assert_eq!(
                title,
                n.android_title(),
                "Xiaomi replaced a title it accepts"
            );
        }
        let composed = Body::composed(n.message(), n.case.recipient.locale);
        let want = match n.body() {
            Body::Desc(desc) if text::is_blank(desc) => composed,
            other => other,
        };
        assert_eq!(body, want, "Xiaomi description");
    } else {
        let want = if channel.is_apple() {
            n.ios_title()
        } else {
            n.android_title()
        };
        assert_eq!(title, want, "{} title", channel.name());
        assert_eq!(body, n.body(), "{} body", channel.name());
    }
}

/// `sent` is `full`, or `full[..kept]` plus `…`, as `kept` says, `kept`
/// being a cluster boundary; within `limit`; and when the buffer had
/// `spare` bytes for one more cluster, so that only the char limit can have
/// cut, cut only as far as needed.
fn check_text(
    what: &str,
    sent: &str,
    full: &str,
    kept: Option<usize>,
    limit: Option<CharLimit>,
    spare: usize,
) {
    assert!(!sent.is_empty(), "{what} sent empty");
    match kept {
        None => assert_eq!(sent, full, "{what} changed without a cut"),
        Some(k) => {
            assert!(k < full.len(), "{what} 'cut' keeping all {k} bytes");
            let head = full
                .get(..k)
                .unwrap_or_else(|| panic!("{what} cut at {k}, not a char boundary of {full:?}"));
            assert_eq!(
                sent.strip_suffix(ELLIPSIS),
                Some(head),
                "{what} is not its kept prefix plus the ellipsis"
            );
            assert!(
                grapheme::is_boundary(full, k),
                "{what} cut inside a cluster at {k} of {full:?}"
            );
            if !full.contains(INCB_LINKERS) {
                assert!(
                    full.grapheme_indices(true).any(|(i, _)| i == k),
                    "{what} cut at {k}, not a UAX #29 boundary of {full:?}"
                );
            }
        }
    }
    let Some(limit) = limit else { return };
    let count = limit.counter.count(sent);
    assert!(
        count <= limit.max,
        "{what} has {count} units, limit {}",
        limit.max
    );
    let Some(k) = kept else { return };
    let next = next_cluster(full, k);
    if spare >= MAX_FORM_CHAR * next.chars().count() {
        // One more cluster would have gone over the char limit.
        let ellipsis = limit.counter.count(ELLIPSIS);
        assert!(
            limit.counter.count(&full[..k]) + limit.counter.count(next) + ellipsis > limit.max,
            "{what} cut to {count} units, limit {}, though {next:?} would fit",
            limit.max
        );
    }
}

/// Bytes of the `"token":[…]` member and its comma, which Huawei and Honor
/// do not count. Found in the raw text: a `"token":[` there is a member
/// name, since every quote inside a JSON string is escaped.
fn token_member_len(text: &str) -> usize {
    let start = text
        .find("\"token\":[\"")
        .expect("no token member in the payload");
    let bytes = text.as_bytes();
    let mut i = start + "\"token\":[\"".len();
    loop {
        match bytes.get(i) {
            Some(b'\\') => i += 2,
            Some(b'"') => break,
            Some(_) => i += 1,
            None => panic!("token string never ends"),
        }
    }
    assert_eq!(
        bytes.get(i + 1),
        Some(&b']'),
        "token array holds one string"
    );
    let end = i + 2;
    let comma = bytes.get(end) == Some(&b',') || (start > 0 && bytes[start - 1] == b',');
    end - start + usize::from(comma)
}

/// A strict form body: `name=value` pairs joined by `&`, only the bytes the
/// WHATWG serializer emits, `%XX` uppercase, every value UTF-8 once decoded.
fn check_form(text: &str) {
    for pair in text.split('&') {
        let (name, value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("form pair {pair:?} has no '='"));
        assert!(!name.is_empty(), "form field with no name");
        let mut decoded = Vec::new();
        let mut bytes = value.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'%' => {
                    let hex = [bytes.next(), bytes.next()];
                    let digit = |d: Option<u8>| match d {
                        Some(d @ b'0'..=b'9') => d - b'0',
                        Some(d @ b'A'..=b'F') => d - b'A' + 10,
                        other => panic!("bad percent escape in {name}: {other:?}"),
                    };
                    decoded.push(digit(hex[0]) << 4 | digit(hex[1]));
                }
                b'+' => decoded.push(b' '),
                b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => decoded.push(b),
                other => panic!("form field {name} has a raw {:?}", other as char),
            }
        }
        String::from_utf8(decoded)
            .unwrap_or_else(|e| panic!("form field {name} is not UTF-8: {e}"));
    }
}

/// The core's JSON-object validator against serde_json: every text
/// serde_json reads as an object within the validator's depth is an object
/// to the core too. (The converse does not hold: serde_json refuses numbers
/// beyond f64, such as `1e400`, which RFC 8259 allows.)
pub fn check_json_classifier(text: &str) {
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        if json_depth(&value) <= MAX_DEPTH {
            assert!(
                is_json_object(text),
                "core refuses the JSON object {text:?}"
            );
        }
    }
}

/// Nesting depth of a JSON value, counted as `json::MAX_DEPTH` counts it:
/// the outer object or array is 1, a scalar 0.
pub fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Any JSON value, read into a `Value`, failing on an object that repeats
/// a member name (serde_json's own `Value` would keep the last silently).
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(value) = map.next_value()?;
            if members.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "duplicate member {key:?}"
                )));
            }
        }
        Ok(Unique(Value::Object(members)))
    }
}

/// `Now` for cases without one.
pub const NOW: i64 = 1_795_236_000;

/// The runner configuration of the JSON targets: the CLI's, with app
/// identity filled in so cases without `App` reach every renderer.
pub fn run_config() -> tidings_std::report::RunConfig {
    tidings_std::report::RunConfig {
        now: NOW,
        app: tidings_std::ingest::AppDoc {
            bundle_id: Some("com.example.chat".into()),
            package_name: Some("com.example.chat".into()),
            badge_class: None,
            harmony_category: None,
        },
    }
}
