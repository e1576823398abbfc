//! The core's form encoder (which copies 16-byte blocks of kept bytes
//! whole, and encodes other blocks a table word a byte) against a plain
//! byte-by-byte reference (WHATWG urlencoded: `A-Z a-z 0-9 * - . _` kept,
//! space as `+`, everything else `%XX`).

use core::fmt::Write as _;

use proptest::prelude::*;
use tidings_core::write::{Plan, Writer};
use tidings_core::Field;

fn reference(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `s` as the only pair of a form, into a buffer of `room` bytes: what was
/// stored and what the writer counted.
fn written_into(s: &str, room: usize) -> (String, usize) {
    let mut buf = vec![0u8; room];
    let mut plan = Plan::default();
    let mut writer = Writer::new(&mut buf, &mut plan);
    writer.form_str("&v=", Field::Ext, s);
    let len = writer.count();
    (
        String::from_utf8_lossy(&buf[..len.min(room)]).into_owned(),
        len,
    )
}

/// Bytes in runs: kept ones (letters, digits, the four marks, space) and
/// ones that are encoded (punctuation, controls, multi-byte chars).
fn form_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        2 => prop::char::range('A', 'Z'),
        2 => prop::char::range('0', '9'),
        3 => Just(' '),
        1 => prop::sample::select(vec!['*', '-', '.', '_', '+', '%', '&', '=', '"', ',', '?', '~', '/']),
        1 => prop::char::range('\0', '\u{7f}'),
        1 => Just('\u{4f60}'),
        1 => Just('\u{1f389}'),
    ]
}

proptest! {
    #[test]
    fn form_encoder_matches_the_reference(chars in prop::collection::vec(form_char(), 0..120)) {
        let s: String = chars.into_iter().collect();
        let expected = format!("v={}", reference(&s));
        let (out, count) = written_into(&s, expected.len() + 64);
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(count, expected.len());
    }

    /// Near the buffer's end a kept block no longer fits whole, nor a
    /// block's 48 encoded bytes (with the word stored past them), and the
    /// encoder goes byte by byte: a buffer of the exact size, or up to 80
    /// bytes more, still gets the same bytes.
    #[test]
    fn form_encoder_fills_a_buffer_of_the_exact_size(
        chars in prop::collection::vec(form_char(), 0..120),
        spare in 0usize..80,
    ) {
        let s: String = chars.into_iter().collect();
        let expected = format!("v={}", reference(&s));
        let (out, count) = written_into(&s, expected.len() + spare);
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(count, expected.len());
    }
}
