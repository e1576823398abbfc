//! Tidings beside the libraries a gateway team would use instead, in one run:
//! `cargo bench -p tidings-benches --bench compare`.
//!
//! Rules that keep the comparison honest:
//! - Every side starts from the same borrowed inputs, prepared outside the
//!   timed loop (the tidings `Case` is plain borrowed data, as the peers'
//!   `&str` inputs are). Inside the loop tidings runs `decide` and `render`;
//!   a peer composes the texts (`format!`), builds its structure and
//!   serialises it. The peers make no push decision at all.
//! - Before anything is timed, each peer's output is parsed and compared
//!   with tidings' (`assert_eq!` on `serde_json::Value`s, or on decoded form
//!   pairs), so both sides produce the same content. Differences a peer
//!   cannot avoid are stated where they are normalised (`a2` has no
//!   `thread-id` and always writes `"mutable-content":0`).
//! - Peers skip the validation tidings does (token format, ext limits), which
//!   favours them.
//! - Allocations per operation are counted once, outside timing, by a
//!   counting allocator that is off (one relaxed load per allocation) while
//!   criterion measures.
//!
//! After criterion's own output the run prints a Markdown summary: medians,
//! ratios, allocations and the goals (tidings ≥ 4x faster than a2, ≤ 25x a
//! memcpy of its own output, every serde_json peer ≥ 2x slower, the long cut
//! ≥ 20x faster than the re-serialise loop, zero allocations).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use a2::request::notification::{DefaultNotificationBuilder, NotificationBuilder};
use a2::request::payload::PayloadLike;
use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion};
use serde::Serialize;
use serde_json::{json, Value};
// The inputs, shared by every side (and by `benches/instructions.rs`).
use tidings_benches::*;
use tidings_core::model::{Case, Channel, DndWindow, Elem, ReceiveOpt};
use tidings_core::render::vivo::Fnv1a128;
use tidings_core::{decide, render, Decision, Reason};

/// Counts heap allocations while switched on. `GlobalAlloc` is an unsafe
/// trait, so this module is the crate's only unsafe code; it forwards every
/// call to the system allocator unchanged.
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

    static ON: AtomicBool = AtomicBool::new(false);
    static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

    pub struct Counting;

    impl Counting {
        #[inline]
        fn note(&self) {
            if ON.load(Relaxed) {
                ALLOCATIONS.fetch_add(1, Relaxed);
            }
        }
    }

    // SAFETY: every method forwards to `System` with the caller's arguments.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.note();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            self.note();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            self.note();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Allocations (alloc, alloc_zeroed, realloc) made by one call of `f`.
    pub fn allocations<R>(f: impl FnOnce() -> R) -> usize {
        ALLOCATIONS.store(0, Relaxed);
        ON.store(true, Relaxed);
        let result = f();
        ON.store(false, Relaxed);
        drop(std::hint::black_box(result));
        ALLOCATIONS.load(Relaxed)
    }
}

/// What a peer gets for the C2C message: the same borrowed strings.
#[derive(Clone, Copy)]
struct C2cInput<'a> {
    from: &'a str,
    nick: &'a str,
    text: &'a str,
    badge: u32,
    sound: &'a str,
    ext: &'a str,
    token: &'a str,
    package: &'a str,
    now: i64,
    to: &'a str,
}

impl C2cInput<'_> {
    /// The notification body every peer shows: `nick:text`.
    fn body(&self) -> String {
        format!("{}:{}", self.nick, self.text)
    }

    /// The collapse tag / thread id of the conversation: `c2c:from`.
    fn tag(&self) -> String {
        format!("c2c:{}", self.from)
    }
}

const C2C_INPUT: C2cInput<'static> = C2cInput {
    from: FROM,
    nick: NICK,
    text: C2C_TEXT,
    badge: BADGE,
    sound: SOUND,
    ext: EXT,
    token: TOKEN,
    package: BUNDLE,
    now: NOW,
    to: TO,
};

// ---------------------------------------------------------------------------
// Tidings.

/// Decides and renders `case` into `buf`; the payload's length.
#[inline]
fn tidings(case: &Case<'_>, buf: &mut [u8]) -> usize {
    match decide(case) {
        Ok(Decision::Push(n)) => match render(&n, buf) {
            Ok(rendered) => rendered.len,
            Err(e) => panic!("render: {e}"),
        },
        other => panic!("expected a push, got {other:?}"),
    }
}

/// Tidings' side of a group: decide and render `case` into a stack buffer.
fn bench_tidings(g: &mut BenchmarkGroup<'_, WallTime>, case: &Case<'_>) {
    let mut buf = [0u8; 4096];
    g.bench_function("tidings", |b| {
        b.iter(|| {
            let len = tidings(black_box(case), &mut buf);
            black_box(&buf[..len]);
        })
    });
}

fn tidings_bytes(case: &Case<'_>) -> Vec<u8> {
    let mut buf = [0u8; 8192];
    let len = tidings(case, &mut buf);
    buf[..len].to_vec()
}

// ---------------------------------------------------------------------------
// Peers.

/// `a2` 0.10, as its README builds a notification.
fn a2_payload(i: &C2cInput<'_>) -> String {
    let body = i.body();
    let mut payload = DefaultNotificationBuilder::new()
        .set_body(&body)
        .set_badge(i.badge + 1)
        .set_sound(i.sound)
        .build(i.token, Default::default());
    payload.add_custom_data("ext", &i.ext).expect("ext");
    payload.to_json_string().expect("a2 json")
}

/// The APNs body as derived structs: the fastest way serde offers.
#[derive(Serialize)]
struct ApnsBody<'a> {
    aps: Aps<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    ext: &'a str,
}

#[derive(Serialize)]
struct Aps<'a> {
    alert: &'a str,
    badge: u32,
    sound: &'a str,
    #[serde(rename = "thread-id")]
    thread_id: &'a str,
}

fn placeholder<'a>(elem: &Elem<'a>) -> &'a str {
    match *elem {
        Elem::Text(text) => text,
        Elem::File => "[file]",
        Elem::Image => "[image]",
        Elem::Face => "[Face]",
        _ => unreachable!("not in the bench's message"),
    }
}

/// serde_json for the group message: `Card(Group):` and the placeholders.
fn serde_group(elems: &[Elem<'_>]) -> Vec<u8> {
    let mut body = String::with_capacity(128);
    let _ = write!(body, "{NAME_CARD}({GROUP_NAME}):");
    for elem in elems {
        body.push_str(placeholder(elem));
    }
    let thread = format!("group:{GROUP_ID}");
    serde_json::to_vec(&ApnsBody {
        aps: Aps {
            alert: &body,
            badge: BADGE + 1,
            sound: SOUND,
            thread_id: &thread,
        },
        ext: EXT,
    })
    .expect("json")
}

/// The sygnal way to fit a body: serialise, and while the payload is over
/// the limit, drop the body's last character and serialise again. (The
/// ellipsis is added so that the content matches tidings' cut.)
fn sygnal_cut(i: &C2cInput<'_>) -> Vec<u8> {
    let mut alert = i.body();
    let thread = i.tag();
    let mut cut = false;
    loop {
        let out = serde_json::to_vec(&ApnsBody {
            aps: Aps {
                alert: &alert,
                badge: i.badge + 1,
                sound: i.sound,
                thread_id: &thread,
            },
            ext: i.ext,
        })
        .expect("json");
        if out.len() <= APNS_LIMIT {
            return out;
        }
        if cut {
            alert.truncate(alert.len() - ELLIPSIS.len());
        }
        assert!(alert.pop().is_some(), "nothing left to cut");
        alert.push_str(ELLIPSIS);
        cut = true;
    }
}

/// A text cut to `max` units (counted by `units`) with an ellipsis of
/// `ellipsis` units, as each Android provider's char limit requires.
fn cut_chars(
    text: &str,
    max: usize,
    ellipsis: usize,
    units: impl Fn(char) -> usize,
) -> Cow<'_, str> {
    let total: usize = text.chars().map(&units).sum();
    if total <= max {
        return Cow::Borrowed(text);
    }
    let mut used = 0;
    let mut end = 0;
    for (at, c) in text.char_indices() {
        if used + units(c) + ellipsis > max {
            break;
        }
        used += units(c);
        end = at + c.len_utf8();
    }
    Cow::Owned(format!("{}{ELLIPSIS}", &text[..end]))
}

fn utf16(c: char) -> usize {
    c.len_utf16()
}

fn weighted(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::with_capacity(512));
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn peer_fcm(i: &C2cInput<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "message": {
            "token": i.token,
            "notification": { "title": i.nick, "body": i.body() },
            "android": { "priority": "HIGH", "notification": { "tag": i.tag() } },
            "data": { "ext": i.ext },
        }
    }))
    .expect("json")
}

fn peer_huawei(i: &C2cInput<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "message": {
            "data": i.ext,
            "android": {
                "urgency": "HIGH",
                "notification": {
                    "title": i.nick, "body": i.body(), "click_action": { "type": 3 },
                    "importance": "NORMAL", "default_sound": true, "tag": i.tag(),
                },
            },
            "token": [i.token],
        }
    }))
    .expect("json")
}

fn peer_honor(i: &C2cInput<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "data": i.ext,
        "android": {
            "notification": { "title": i.nick, "body": i.body(), "clickAction": { "type": 3 }, "tag": i.tag() },
        },
        "token": [i.token],
    }))
    .expect("json")
}

fn peer_xiaomi(i: &C2cInput<'_>) -> Vec<u8> {
    let body = i.body();
    let title = cut_chars(i.nick, 49, 1, |_| 1);
    let description = cut_chars(&body, 127, 1, |_| 1);
    form(&[
        ("registration_id", i.token),
        ("restricted_package_name", i.package),
        ("pass_through", "0"),
        ("notify_type", "-1"),
        ("title", &title),
        ("description", &description),
        ("payload", i.ext),
        ("extra.notify_effect", "1"),
    ])
    .into_bytes()
}

fn peer_oppo(i: &C2cInput<'_>) -> Vec<u8> {
    let body = i.body();
    // OPPO takes `action_parameters` only when ext is one JSON object.
    let ext_is_object = i.ext.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(i.ext).is_ok();
    let mut notification = json!({
        "title": cut_chars(i.nick, 50, 1, utf16),
        "content": cut_chars(&body, 50, 1, utf16),
    });
    if ext_is_object {
        notification["action_parameters"] = Value::from(i.ext);
    }
    notification["off_line"] = Value::from(true);
    let message = serde_json::to_string(&json!({
        "target_type": 2,
        "target_value": i.token,
        "notification": notification,
    }))
    .expect("json");
    form(&[("message", &message)]).into_bytes()
}

fn peer_vivo(i: &C2cInput<'_>) -> Vec<u8> {
    let body = i.body();
    // requestId: the same FNV-1a 128 inputs tidings hashes (vivo.rs docs).
    let mut h = Fnv1a128::default();
    for field in [i.from.as_bytes(), format!("c2c:{}", i.to).as_bytes()] {
        h.write(field);
        h.end_field();
    }
    h.write(&i.now.to_le_bytes());
    h.end_field();
    h.write(body.as_bytes());
    h.end_field();
    h.write(i.token.as_bytes());
    h.end_field();
    serde_json::to_vec(&json!({
        "regId": i.token,
        "notifyType": 4,
        "title": cut_chars(i.nick, 40, 2, weighted),
        "content": cut_chars(&body, 100, 2, weighted),
        "skipType": 1,
        "classification": 1,
        "clientCustomMap": { "ext": i.ext },
        "requestId": format!("{:032x}", h.finish()),
        "pushMode": 0,
    }))
    .expect("json")
}

fn peer_meizu(i: &C2cInput<'_>) -> Vec<u8> {
    let body = i.body();
    let message = serde_json::to_string(&json!({
        "noticeBarInfo": {
            "title": cut_chars(i.nick, 32, 1, utf16),
            "content": cut_chars(&body, 100, 1, utf16),
        },
        "clickTypeInfo": { "clickType": 0, "parameters": { "ext": i.ext } },
        "pushTimeInfo": { "offLine": 1 },
    }))
    .expect("json");
    form(&[("pushIds", i.token), ("messageJson", &message)]).into_bytes()
}

type Peer = fn(&C2cInput<'_>) -> Vec<u8>;

/// Each Android provider: its channel, criterion group and serde_json peer.
const ANDROID: [(Channel, &str, Peer); 7] = [
    (Channel::Fcm, "android_fcm", peer_fcm),
    (Channel::Huawei, "android_huawei", peer_huawei),
    (Channel::Honor, "android_honor", peer_honor),
    (Channel::Xiaomi, "android_xiaomi", peer_xiaomi),
    (Channel::Oppo, "android_oppo", peer_oppo),
    (Channel::Vivo, "android_vivo", peer_vivo),
    (Channel::Meizu, "android_meizu", peer_meizu),
];

// ---------------------------------------------------------------------------
// Equivalence, checked once before timing.

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A form body as its decoded pairs, with JSON-valued fields parsed.
fn parse_form(bytes: &[u8]) -> Vec<(String, Value)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| {
            let value = match k.as_ref() {
                "message" | "messageJson" => parse(v.as_bytes()),
                _ => Value::from(v.as_ref()),
            };
            (k.into_owned(), value)
        })
        .collect()
}

fn same_content(channel: Channel, tidings: &[u8], peer: &[u8]) {
    if matches!(channel, Channel::Xiaomi | Channel::Oppo | Channel::Meizu) {
        assert_eq!(parse_form(tidings), parse_form(peer), "{channel:?}");
    } else {
        assert_eq!(parse(tidings), parse(peer), "{channel:?}");
    }
}

/// Where the run leaves the tidings `apns_c2c_text` payload for
/// `benches/peers/apn.js` to check its own output against.
fn payload_file() -> PathBuf {
    target_dir()
        .join("tidings-benches")
        .join("apns_c2c_text.json")
}

fn verify() {
    let c2c = tidings_bytes(&c2c_case(Channel::Apns, &C2C_ELEMS));
    let mut ours = parse(&c2c);
    let mut theirs = parse(a2_payload(&C2C_INPUT).as_bytes());
    // a2 0.10 cannot set `thread-id`, and always writes mutable-content 0
    // (= absent): the only differences, normalised here.
    let removed = ours["aps"]
        .as_object_mut()
        .and_then(|aps| aps.remove("thread-id"));
    assert_eq!(removed, Some(Value::from("c2c:ann")));
    let removed = theirs["aps"]
        .as_object_mut()
        .and_then(|aps| aps.remove("mutable-content"));
    assert_eq!(removed, Some(Value::from(0)));
    assert_eq!(ours, theirs, "a2");

    let group = tidings_bytes(&group_case());
    assert_eq!(parse(&group), parse(&serde_group(&GROUP_ELEMS)), "group");

    for (channel, _, peer) in ANDROID {
        let ours = tidings_bytes(&c2c_case(channel, &C2C_ELEMS));
        same_content(channel, &ours, &peer(&C2C_INPUT));
    }

    let (ours, theirs) = long_cut(|case, input| (tidings_bytes(case), sygnal_cut(input)));
    assert_eq!(parse(&ours), parse(&theirs), "long cut");
    assert!(
        ours.len() <= APNS_LIMIT && ours.len() > APNS_LIMIT - 4,
        "uses the limit"
    );

    let file = payload_file();
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&file, &c2c);
}

// ---------------------------------------------------------------------------
// The benchmarks.

fn apns_c2c_text(c: &mut Criterion) {
    let case = c2c_case(Channel::Apns, &C2C_ELEMS);
    let output = tidings_bytes(&case);
    let mut g = c.benchmark_group("apns_c2c_text");
    bench_tidings(&mut g, &case);
    g.bench_function("a2", |b| b.iter(|| a2_payload(black_box(&C2C_INPUT))));
    let mut dst = [0u8; 4096];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            let src = black_box(output.as_slice());
            dst[..src.len()].copy_from_slice(src);
            black_box(&dst);
        })
    });
    g.finish();
}

fn apns_group_placeholders(c: &mut Criterion) {
    let case = group_case();
    let mut g = c.benchmark_group("apns_group_placeholders");
    bench_tidings(&mut g, &case);
    g.bench_function("serde_json", |b| {
        b.iter(|| serde_group(black_box(&GROUP_ELEMS)))
    });
    g.finish();
}

fn android(c: &mut Criterion) {
    for (channel, name, peer) in ANDROID {
        let case = c2c_case(channel, &C2C_ELEMS);
        let mut g = c.benchmark_group(name);
        bench_tidings(&mut g, &case);
        g.bench_function("serde_json", |b| b.iter(|| peer(black_box(&C2C_INPUT))));
        g.finish();
    }
}

/// The decision alone, for a push and two late suppressions.
fn decide_cases() -> [(&'static str, Case<'static>, Option<Reason>); 3] {
    let push = c2c_case(Channel::Apns, &C2C_ELEMS);
    let mut dnd = c2c_case(Channel::Apns, &C2C_ELEMS);
    dnd.recipient.global_receive_opt = ReceiveOpt::NotNotify;
    dnd.recipient.dnd = Some(DndWindow::Daily {
        start_second: 0,
        duration: 86_399,
        utc_offset: 8 * 3600,
    });
    let mut group = group_case();
    group.recipient.receive_opt = ReceiveOpt::NotNotifyExceptAt;
    group.message.mentions = &GROUP_MENTIONS;
    [
        ("push_c2c", push, None),
        ("muted_dnd", dnd, Some(Reason::MutedGlobal)),
        ("not_mentioned", group, Some(Reason::NotMentioned)),
    ]
}

fn decide_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide");
    for (name, case, _) in decide_cases() {
        g.bench_function(name, |b| b.iter(|| decide(black_box(&case))));
    }
    g.finish();
}

/// `f` of the long text's APNs case and the peer's input for it.
fn long_cut<R>(f: impl FnOnce(&Case<'_>, &C2cInput<'_>) -> R) -> R {
    let text = long_text();
    let elems = [Elem::Text(&text)];
    let input = C2cInput {
        text: &text,
        ..C2C_INPUT
    };
    f(&c2c_case(Channel::Apns, &elems), &input)
}

fn apns_long_cut(c: &mut Criterion) {
    long_cut(|case, input| {
        let mut g = c.benchmark_group("apns_long_cut");
        // The loop takes milliseconds: fewer samples keep the run short.
        g.sample_size(30);
        bench_tidings(&mut g, case);
        g.bench_function("sygnal_loop", |b| b.iter(|| sygnal_cut(black_box(input))));
        g.finish();
    });
}

criterion_group!(
    benches,
    apns_c2c_text,
    apns_group_placeholders,
    android,
    decide_only,
    apns_long_cut
);

// ---------------------------------------------------------------------------
// Allocations and the summary.

/// Allocations of one operation of every benchmark, by (group, function).
fn count_allocations() -> Vec<(String, String, usize)> {
    let mut rows = Vec::new();
    let mut buf = [0u8; 4096];
    let case = c2c_case(Channel::Apns, &C2C_ELEMS);
    let c2c = "apns_c2c_text";
    versus(&mut rows, &mut buf, c2c, &case, "a2", || {
        a2_payload(&C2C_INPUT)
    });
    rows.push((c2c.to_owned(), "memcpy".to_owned(), 0));
    let group = group_case();
    let name = "apns_group_placeholders";
    versus(&mut rows, &mut buf, name, &group, "serde_json", || {
        serde_group(&GROUP_ELEMS)
    });
    for (channel, name, peer) in ANDROID {
        let case = c2c_case(channel, &C2C_ELEMS);
        versus(&mut rows, &mut buf, name, &case, "serde_json", || {
            peer(&C2C_INPUT)
        });
    }
    for (name, case, reason) in decide_cases() {
        let decision = decide(&case).expect("decide");
        match reason {
            Some(reason) => assert_eq!(decision, Decision::Suppress(reason)),
            None => assert!(matches!(decision, Decision::Push(_))),
        }
        let n = counting::allocations(|| decide(&case));
        rows.push(("decide".to_owned(), name.to_owned(), n));
    }
    long_cut(|case, input| {
        versus(
            &mut rows,
            &mut buf,
            "apns_long_cut",
            case,
            "sygnal_loop",
            || sygnal_cut(input),
        );
    });
    rows
}

/// The allocations of tidings rendering `case` and of `peer` doing the
/// same (`theirs`), as `group`'s two rows.
fn versus<R>(
    rows: &mut Vec<(String, String, usize)>,
    buf: &mut [u8],
    group: &str,
    case: &Case<'_>,
    peer: &str,
    theirs: impl FnOnce() -> R,
) {
    let ours = counting::allocations(|| tidings(case, buf));
    rows.push((group.to_owned(), "tidings".to_owned(), ours));
    rows.push((
        group.to_owned(),
        peer.to_owned(),
        counting::allocations(theirs),
    ));
}

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // Benches run in the package directory; the workspace target is beside it.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
}

/// The median (ns) criterion wrote for `group/function` during this run.
fn median_ns(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    let estimates: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    fresh.then(|| estimates["median"]["point_estimate"].as_f64())?
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn summary(allocations: &[(String, String, usize)], since: SystemTime) {
    let medians: Vec<_> = allocations
        .iter()
        .filter_map(|(g, f, n)| Some((g.as_str(), f.as_str(), median_ns(g, f, since)?, *n)))
        .collect();
    if medians.is_empty() {
        return;
    }
    let get = |g: &str, f: &str| {
        medians
            .iter()
            .find(|(mg, mf, _, _)| *mg == g && *mf == f)
            .map(|m| m.2)
    };
    println!("\n| group | function | median | ÷ tidings | allocations/op |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for &(g, f, ns, n) in &medians {
        let ratio = match get(g, "tidings") {
            Some(t) if f != "tidings" && g != "decide" && ns < t => format!("{:.3}x", ns / t),
            Some(t) if f != "tidings" && g != "decide" => format!("{:.1}x", ns / t),
            _ => String::new(),
        };
        println!("| {g} | {f} | {} | {ratio} | {n} |", human(ns));
    }
    let goal = |met: bool| if met { "met" } else { "NOT met" };
    println!();
    if let (Some(t), Some(a), Some(m)) = (
        get("apns_c2c_text", "tidings"),
        get("apns_c2c_text", "a2"),
        get("apns_c2c_text", "memcpy"),
    ) {
        println!(
            "goal: tidings >= 4x faster than a2 (aim 8x): {:.1}x, {}",
            a / t,
            goal(a / t >= 4.0)
        );
        println!(
            "goal: tidings <= 25x memcpy (aim 15x): {:.1}x, {}",
            t / m,
            goal(t / m <= 25.0)
        );
    }
    let peers = ANDROID.iter().map(|(_, name, _)| *name);
    for group in std::iter::once("apns_group_placeholders").chain(peers) {
        if let (Some(t), Some(p)) = (get(group, "tidings"), get(group, "serde_json")) {
            println!(
                "goal: {group} >= 2x faster than serde_json: {:.1}x, {}",
                p / t,
                goal(p / t >= 2.0)
            );
        }
    }
    if let (Some(t), Some(s)) = (
        get("apns_long_cut", "tidings"),
        get("apns_long_cut", "sygnal_loop"),
    ) {
        println!(
            "goal: long cut >= 20x faster than the loop: {:.1}x, {}",
            s / t,
            goal(s / t >= 20.0)
        );
    }
    let tidings_allocs: usize = allocations
        .iter()
        .filter(|(g, f, _)| f == "tidings" || g == "decide")
        .map(|r| r.2)
        .sum();
    println!(
        "goal: zero allocations in tidings: {tidings_allocs}, {}",
        goal(tidings_allocs == 0)
    );
}

fn main() {
    verify();
    let allocations = count_allocations();
    let start = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary(&allocations, start);
}
