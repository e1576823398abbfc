//! The core's JSON string escaper (which checks 32-byte blocks)
//! against a plain char-by-char reference: the same bytes for any text,
//! wherever an escape falls relative to the blocks and their words.

use core::fmt::Write as _;

use proptest::prelude::*;
use tidings_core::write::{Plan, Writer};
use tidings_core::Field;

/// JSON-escapes as vendors.md §10.4 says: `"` `\` and controls, short forms
/// where JSON has them, U+2028/U+2029 as `\u` escapes, everything else as is.
fn reference(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if u32::from(c) < 0x20 => write!(out, "\\u{:04X}", u32::from(c)).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `Writer::string` writes, and what a counting run (into a buffer
/// with no room) says it costs.
fn written(s: &str) -> (String, usize) {
    written_into(s, s.len() * 6 + 2)
}

/// As [`written`], into a buffer of `room` bytes (only what fits is kept).
fn written_into(s: &str, room: usize) -> (String, usize) {
    let mut buf = vec![0u8; room];
    let mut plan = Plan::default();
    let mut writer = Writer::new(&mut buf, &mut plan);
    writer.string(Field::Ext, s);
    let len = writer.count();
    let mut plan = Plan::default();
    let mut counter = Writer::new(&mut [], &mut plan);
    counter.string(Field::Ext, s);
    assert_eq!(len, counter.count(), "the count depends on the room");
    (
        String::from_utf8_lossy(&buf[..len.min(room)]).into_owned(),
        counter.count(),
    )
}

/// Chars that exercise every branch: plain ASCII, each escape class, other
/// E2-led chars (`…`, `✅`) that must pass as is, and 2- and 4-byte chars.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => prop::char::range('\0', '\u{1f}'),
        1 => Just('\u{2028}'),
        1 => Just('\u{2029}'),
        1 => Just('\u{2026}'),
        1 => Just('\u{2705}'),
        1 => Just('\u{e9}'),
        1 => Just('\u{4f60}'),
        1 => Just('\u{1f389}'),
    ]
}

/// Text whose only escapes are `"` and `\` (quoted JSON in an `ext`),
/// which the escaper handles on a path of its own.
fn quoted_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => Just('"'),
        1 => Just('\\'),
        1 => Just('\u{e9}'),
        1 => Just('\u{4f60}'),
        1 => Just('\u{1f389}'),
    ]
}

/// The escaper's bytes for `chars`, into a buffer of the exact size plus
/// `spare` (near the buffer's end it switches paths: a 32-byte block needs
/// 72 bytes of room), against the reference.
fn fills_the_exact_size(chars: Vec<char>, spare: usize) -> Result<(), TestCaseError> {
    let s: String = chars.into_iter().collect();
    let expected = reference(&s);
    let (out, cost) = written_into(&s, expected.len() + spare);
    prop_assert_eq!(&out, &expected);
    prop_assert_eq!(cost, expected.len());
    Ok(())
}

proptest! {
    #[test]
    fn quotes_and_backslashes_alone_match_the_reference(
        chars in prop::collection::vec(quoted_char(), 0..160),
        spare in 0usize..80,
    ) {
        fills_the_exact_size(chars, spare)?;
    }

    #[test]
    fn escaper_matches_the_reference(chars in prop::collection::vec(tricky_char(), 0..160)) {
        let s: String = chars.into_iter().collect();
        let (out, cost) = written(&s);
        prop_assert_eq!(&out, &reference(&s));
        prop_assert_eq!(cost, out.len());
    }

    /// A buffer of the exact size, or up to a block's room more, still gets
    /// the same bytes.
    #[test]
    fn escaper_fills_a_buffer_of_the_exact_size(
        chars in prop::collection::vec(tricky_char(), 0..160),
        spare in 0usize..80,
    ) {
        fills_the_exact_size(chars, spare)?;
    }
}

#[test]
fn every_escape_at_every_chunk_offset() {
    let specials = [
        "\"", "\\", "\u{0}", "\u{1f}", "\n", "\u{2028}", "\u{2029}", "\u{2026}", "\u{2705}",
    ];
    // Past 32: escapes at and across the block escaper's block boundary.
    for before in 0..40 {
        for special in specials {
            for after in 0..10 {
                for twice in [false, true] {
                    let mut s = "a".repeat(before);
                    s.push_str(special);
                    if twice {
                        s.push_str(special);
                    }
                    s.push_str(&"b".repeat(after));
                    assert_eq!(written(&s).0, reference(&s), "{s:?}");
                }
            }
        }
    }
}
