//! One operation of Tidings, repeated: `instructions OP N` runs OP N times.
//! `benches/instructions.sh` runs it under callgrind at two counts and
//! reports the difference per operation (instructions do not depend on how
//! busy the machine is, unlike criterion's times). The inputs are
//! `compare.rs`'s; run without arguments (as `cargo bench` does) it does
//! every operation once and lists them.

use std::hint::black_box;

use tidings_benches::*;
use tidings_core::model::{Case, Channel, Elem};
use tidings_core::{decide, render, Decision};

/// The operations, each a case to decide and render (`decide` decides only).
const OPS: [&str; 14] = [
    "apns_c2c_text",
    "apns_short",
    "apns_group_placeholders",
    "fcm",
    "huawei",
    "honor",
    "xiaomi",
    "oppo",
    "vivo",
    "meizu",
    "tpns",
    "decide",
    "apns_long_cut",
    "empty",
];

/// `apns_short`'s text: with no ext either, what is left is a render's
/// fixed cost.
static SHORT: [Elem<'static>; 1] = [Elem::Text("hi")];

fn case<'a>(op: &str, long: &'a [Elem<'a>]) -> Option<Case<'a>> {
    let channel = match op {
        "apns_c2c_text" | "decide" | "empty" => Channel::Apns,
        "apns_short" => {
            let mut case = c2c_case(Channel::Apns, &SHORT);
            if let Some(info) = case.message.push_info.as_mut() {
                info.ext = "";
            }
            return Some(case);
        }
        "apns_group_placeholders" => return Some(group_case()),
        "apns_long_cut" => return Some(c2c_case(Channel::Apns, long)),
        "fcm" => Channel::Fcm,
        "huawei" => Channel::Huawei,
        "honor" => Channel::Honor,
        "xiaomi" => Channel::Xiaomi,
        "oppo" => Channel::Oppo,
        "vivo" => Channel::Vivo,
        "meizu" => Channel::Meizu,
        "tpns" => Channel::Tpns,
        _ => return None,
    };
    Some(c2c_case(channel, &C2C_ELEMS))
}

/// One operation; the payload's length (0 for `decide` and `empty`).
#[inline(never)]
fn once(op: &str, case: &Case<'_>, buf: &mut [u8]) -> usize {
    match op {
        // The loop and call overhead alone, to compare against.
        "empty" => 0,
        "decide" => usize::from(matches!(decide(case), Ok(Decision::Push(_)))),
        _ => match decide(case) {
            Ok(Decision::Push(n)) => match render(&n, buf) {
                Ok(rendered) => rendered.len,
                Err(e) => panic!("{op}: render: {e}"),
            },
            other => panic!("{op}: expected a push, got {other:?}"),
        },
    }
}

fn main() {
    let text = long_text();
    let long = [Elem::Text(&text)];
    let mut buf = [0u8; 4096];
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [op, n] if !op.starts_with('-') => {
            let n: u64 = n.parse().expect("N: a count");
            let case = case(op, &long).unwrap_or_else(|| panic!("unknown op {op}; ops: {OPS:?}"));
            for _ in 0..n {
                let len = once(black_box(op), black_box(&case), &mut buf);
                black_box(&buf[..len]);
            }
        }
        _ => {
            for op in OPS {
                let case = case(op, &long).expect("listed");
                println!("{op}: {} bytes", once(op, &case, &mut buf));
            }
        }
    }
}
