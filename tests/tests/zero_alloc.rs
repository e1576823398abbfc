//! Zero allocation, measured: a counting global allocator around `decide`
//! and `render` (and the traced `explain`, the lints and the cut) for every conformance vector in `tests/vectors/`, re-run on
//! every channel, plus a 6000-char CJK/emoji body cut to each limit.
//!
//! Ingest (serde_json, std) runs first and outside the count; only the core
//! calls are counted. The counter is process-wide, so any allocation by any
//! thread while a core call runs counts against it: this binary holds this
//! one test so nothing else runs beside it.

use std::alloc::System;
use std::path::PathBuf;

use serde_json::{json, Value};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tidings_core::model::{Case, Channel, Device};
use tidings_core::{decide, render, Decision};
use tidings_std::ingest::{parse_case, IngestError};
use tidings_std::report::{RunConfig, RENDER_BUFFER};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// An APNs token must be hex; vectors for Android devices carry other tokens.
const HEX_TOKEN: &str = "7b3fa9c0e1d24f6a8b5c3e2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

/// Every case of every vector file, as JSON, and whether it must be refused.
fn vector_cases() -> Vec<(String, Value, bool)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "vector files missing from {}",
        dir.display()
    );
    let mut cases = Vec::new();
    for file in files {
        let vectors: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for v in vectors.as_array().unwrap() {
            let name = format!("{}: {}", file.display(), v["Name"]);
            let refused = v["Expect"]["Error"] == Value::Bool(true);
            cases.push((name, v["Case"].clone(), refused));
        }
    }
    cases
}

/// A C2C text message of 6000 chars of CJK and emoji, far over every limit.
fn long_cjk_emoji_case() -> Value {
    let text: String = "消息🚀中文😀".chars().cycle().take(6000).collect();
    json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
            "OfflinePushInfo": {
                "Title": "群聊🚀".repeat(100),
                "Ext": "{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"
            }
        },
        "Sender": { "Nick": "安😀" },
        "Recipient": { "Account": "bob", "Device": { "Channel": "apns", "Token": HEX_TOKEN, "State": "background" } },
        "App": { "BundleId": "com.example.chat", "PackageName": "com.example.chat", "BadgeClass": "com.example.chat.Main" },
        "Now": 1_795_236_000
    })
}

/// What one core run did, for the test's own coverage checks.
#[derive(Default)]
struct Tally {
    calls: usize,
    rendered: [usize; Channel::ALL.len()],
}

/// Decides and renders `case`, counting allocations around the core calls
/// only; panics naming `name` if any was made.
fn run_counted(name: &str, case: &Case<'_>, buf: &mut [u8], tally: &mut Tally) {
    let region = Region::new(GLOBAL);
    let decision = decide(case);
    let rendered = match &decision {
        Ok(Decision::Push(n)) => Some(render(n, buf).map(|r| {
            // The lints and the cut, as `explain` and `render` report them.
            core::hint::black_box((
                tidings_core::lint::lints(n, &r),
                tidings_core::explain::cuts(n, &r),
            ));
            r.len
        })),
        _ => None,
    };
    // The traced decision: the same, in fixed storage.
    let explained = tidings_core::explain::explain(case);
    assert_eq!(
        explained.as_ref().map(|e| e.decision).ok(),
        decision.as_ref().ok().copied(),
        "{name}"
    );
    core::hint::black_box(&explained);
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "{name} on {}: the core allocated ({stats:?})",
        case.recipient.device.channel.name()
    );
    tally.calls += 1;
    if let Some(Ok(_)) = rendered {
        let channel = case.recipient.device.channel;
        let i = Channel::ALL.iter().position(|c| *c == channel).unwrap();
        tally.rendered[i] += 1;
    }
}

#[test]
fn decide_and_render_allocate_nothing() {
    // The counter is live: an allocation inside a region is seen.
    let region = Region::new(GLOBAL);
    drop(core::hint::black_box(vec![0u8; 16]));
    assert_eq!(region.change().allocations, 1);

    let config = RunConfig::default();
    let mut buf = vec![0u8; RENDER_BUFFER];
    let mut tally = Tally::default();
    let mut cases = vector_cases();
    cases.push(("6000 CJK/emoji chars".into(), long_cjk_emoji_case(), false));
    let mut ingested = 0;
    for (name, json, refused) in &cases {
        let bytes = serde_json::to_vec(json).unwrap();
        // Cases the ingest refuses never reach the core; only vectors that
        // expect a refusal may be refused.
        let refuse = |e: IngestError| assert!(refused, "{name}: refused: {e}");
        let doc = match parse_case(&bytes) {
            Ok(doc) => doc,
            Err(e) => {
                refuse(e);
                continue;
            }
        };
        let lent = match doc.lend() {
            Ok(lent) => lent,
            Err(e) => {
                refuse(e);
                continue;
            }
        };
        let case = match lent.case(config.now, &config.app) {
            Ok(case) => case,
            Err(e) => {
                refuse(e);
                continue;
            }
        };
        ingested += 1;
        run_counted(name, &case, &mut buf, &mut tally);
        // A pushed case again on every channel: every renderer sees it.
        if !matches!(decide(&case), Ok(Decision::Push(_))) {
            continue;
        }
        for channel in Channel::ALL {
            let token = if channel.is_apple() {
                HEX_TOKEN
            } else {
                case.recipient.device.token
            };
            let mut other: Case<'_> = case;
            other.recipient.device = Device {
                channel,
                token,
                ..case.recipient.device
            };
            run_counted(name, &other, &mut buf, &mut tally);
        }
    }
    // The run covered what it claims: every renderer produced payloads,
    // not only errors.
    for (channel, n) in Channel::ALL.iter().zip(tally.rendered) {
        assert!(n >= 20, "{}: only {n} payloads rendered", channel.name());
    }
    println!(
        "{} core runs over {ingested} cases, 0 allocations; payloads per channel: {:?}",
        tally.calls, tally.rendered
    );
}
