//! A small JSON validator: answers "is this text one JSON object?" without
//! allocating, without recursion and without panicking.
//!
//! Used by the OPPO renderer, which may send `ext` as
//! `notification.action_parameters` only when it is a JSON object
//! (vendors.md §6.2, push-rules OQ-19).
//!
//! The grammar is RFC 8259 exactly: `ws value ws`, whitespace only
//! space/tab/LF/CR, no byte-order mark, no comments, no trailing commas,
//! no single quotes, no `NaN`/`Infinity`, no leading zeros or `+` on
//! numbers, control characters (U+0000–U+001F) only as escapes, and only
//! the escapes `\" \\ \/ \b \f \n \r \t \uXXXX`. Two choices go beyond the
//! grammar:
//! - An unpaired surrogate escape (`\uD800` alone, or a low surrogate first)
//!   is rejected: RFC 8259 §8.2 says such text has unpredictable behaviour,
//!   and the app that receives `action_parameters` must decode it (I-JSON,
//!   RFC 7493 §2.1, forbids it too).
//! - Nesting deeper than [`MAX_DEPTH`] is rejected (RFC 8259 §9 lets a
//!   parser limit nesting depth), which also bounds this validator's state.
//!
//! Duplicate member names are not detected (RFC 8259 says names SHOULD be
//! unique; detecting them needs storage this module does not have).

/// The deepest nesting of objects and arrays accepted; the outer object is
/// depth 1.
pub const MAX_DEPTH: usize = 32;

// The open containers, one bit per level: 1 = object, 0 = array.
type Stack = u32;
const _: () = assert!(MAX_DEPTH <= Stack::BITS as usize);

/// Whether `s` is exactly one JSON object (RFC 8259), optionally surrounded
/// by whitespace, nested at most [`MAX_DEPTH`] deep.
pub fn is_json_object(s: &str) -> bool {
    let mut p = Parser {
        bytes: s.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return false;
    }
    p.document() && {
        p.skip_ws();
        p.pos == p.bytes.len()
    }
}

struct Parser<'s> {
    bytes: &'s [u8],
    pos: usize,
}

/// What the parser expects next.
#[derive(Clone, Copy)]
enum State {
    /// A value (after `:`, `,` in an array, or at the start).
    Value,
    /// Just after `{`: a member name or `}`.
    ObjectStart,
    /// Just after `[`: a value or `]`.
    ArrayStart,
    /// After a complete value inside a container: `,` or the closer.
    AfterValue,
    /// After `,` in an object: a member name.
    Name,
}

impl Parser<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Parses one value with an explicit container stack; true when it is
    /// well formed and within the depth cap.
    fn document(&mut self) -> bool {
        let mut stack: Stack = 0;
        let mut depth = 0usize;
        let mut state = State::Value;
        loop {
            self.skip_ws();
            match state {
                State::Value | State::ArrayStart => {
                    let Some(b) = self.peek() else {
                        return false;
                    };
                    match b {
                        b']' if matches!(state, State::ArrayStart) => {
                            self.pos += 1;
                            if !Self::close(&mut stack, &mut depth, false) {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        b'{' | b'[' => {
                            self.pos += 1;
                            let object = b == b'{';
                            if depth >= MAX_DEPTH {
                                return false;
                            }
                            stack = (stack << 1) | Stack::from(object);
                            depth += 1;
                            state = if object {
                                State::ObjectStart
                            } else {
                                State::ArrayStart
                            };
                            continue;
                        }
                        b'"' => {
                            if !self.string() {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        b'-' | b'0'..=b'9' => {
                            if !self.number() {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        b't' => {
                            if !self.literal(b"true") {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        b'f' => {
                            if !self.literal(b"false") {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        b'n' => {
                            if !self.literal(b"null") {
                                return false;
                            }
                            state = State::AfterValue;
                        }
                        _ => return false,
                    }
                }
                State::ObjectStart | State::Name => match self.peek() {
                    Some(b'}') if matches!(state, State::ObjectStart) => {
                        self.pos += 1;
                        if !Self::close(&mut stack, &mut depth, true) {
                            return false;
                        }
                        state = State::AfterValue;
                    }
                    Some(b'"') => {
                        if !self.string() {
                            return false;
                        }
                        self.skip_ws();
                        if self.bump() != Some(b':') {
                            return false;
                        }
                        state = State::Value;
                        continue;
                    }
                    _ => return false,
                },
                State::AfterValue => {
                    let in_object = stack & 1 == 1;
                    match self.bump() {
                        Some(b',') => {
                            state = if in_object { State::Name } else { State::Value };
                            continue;
                        }
                        Some(b'}') if in_object => {
                            if !Self::close(&mut stack, &mut depth, true) {
                                return false;
                            }
                        }
                        Some(b']') if !in_object => {
                            if !Self::close(&mut stack, &mut depth, false) {
                                return false;
                            }
                        }
                        _ => return false,
                    }
                }
            }
            // A value just completed: done when no container is open.
            if depth == 0 {
                return true;
            }
        }
    }

    /// Pops a container; false when the closer does not match the opener.
    fn close(stack: &mut Stack, depth: &mut usize, object: bool) -> bool {
        if *depth == 0 || (*stack & 1 == 1) != object {
            return false;
        }
        *stack >>= 1;
        *depth -= 1;
        true
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let end = self.pos.saturating_add(word.len());
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> bool {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.bump() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return false,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.some_digits() {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.some_digits() {
                return false;
            }
        }
        true
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// One or more digits.
    fn some_digits(&mut self) -> bool {
        let start = self.pos;
        self.digits();
        self.pos > start
    }

    /// A string starting at the opening quote. The input is `&str`, so it
    /// is valid UTF-8 already; only control characters and escapes matter.
    fn string(&mut self) -> bool {
        if self.bump() != Some(b'"') {
            return false;
        }
        loop {
            match self.bump() {
                None => return false,
                Some(b'"') => return true,
                Some(0x00..=0x1f) => return false,
                Some(b'\\') => {
                    if !self.escape() {
                        return false;
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// The escape after a backslash.
    fn escape(&mut self) -> bool {
        match self.bump() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
            Some(b'u') => match self.hex4() {
                Some(0xd800..=0xdbff) => {
                    // A high surrogate must be followed by `\u` + low surrogate.
                    self.literal(b"\\u") && matches!(self.hex4(), Some(0xdc00..=0xdfff))
                }
                Some(0xdc00..=0xdfff) | None => false,
                Some(_) => true,
            },
            _ => false,
        }
    }

    fn hex4(&mut self) -> Option<u16> {
        let mut value = 0u16;
        for _ in 0..4 {
            let digit = match self.bump()? {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                b @ b'A'..=b'F' => b - b'A' + 10,
                _ => return None,
            };
            value = (value << 4) | u16::from(digit);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_objects() {
        for s in [
            "{}",
            " { } ",
            "\t\r\n{}\n",
            r#"{"a":1}"#,
            r#"{"entity":{"sender":"ann","chatType":1}}"#,
            r#"{ "a" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E9 , -0 ] , "b" : { } , "c" : [ ] }"#,
            r#"{"t":true,"f":false,"n":null}"#,
            r#"{"s":"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \uD83D\uDE00"}"#,
            r#"{"cjk":"你好","emoji":"😀","":""}"#,
            r#"{"a":[[[[{"b":[{}]}]]]]}"#,
            r#"{"n":123456789012345678901234567890e-400}"#,
            r#"{"a":"x","a":"y"}"#,
        ] {
            assert!(is_json_object(s), "should accept {s:?}");
        }
    }

    #[test]
    fn rejects_other_values() {
        for s in [
            "", " ", "[]", "[{}]", r#""{}""#, "1", "-0", "true", "false", "null", r#""a""#,
        ] {
            assert!(!is_json_object(s), "should reject {s:?}");
        }
    }

    #[test]
    fn rejects_truncated_input() {
        let full = r#"{"a":[1,{"b":"c\u0041"},true],"d":-1.5e3}"#;
        assert!(is_json_object(full));
        for end in 0..full.len() {
            let prefix = &full[..end];
            assert!(!is_json_object(prefix), "should reject {prefix:?}");
        }
    }

    #[test]
    fn rejects_bad_strings_and_escapes() {
        for s in [
            r#"{"a":"\x41"}"#,
            r#"{"a":"\'"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u12G4"}"#,
            r#"{"a":"\U0041"}"#,
            r#"{"a":"\"}"#,
            r#"{"a":"\uD83D"}"#,
            r#"{"a":"\uD83Dx"}"#,
            r#"{"a":"\uD83D\u0041"}"#,
            r#"{"a":"\uDE00\uD83D"}"#,
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"line\nbreak\"}",
            "{\"a\":\"nul\u{0}\"}",
            "{'a':1}",
            "{a:1}",
            r#"{"a":'b'}"#,
        ] {
            assert!(!is_json_object(s), "should reject {s:?}");
        }
    }

    #[test]
    fn rejects_bad_numbers_and_literals() {
        for s in [
            r#"{"a":01}"#,
            r#"{"a":+1}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":1e+}"#,
            r#"{"a":-}"#,
            r#"{"a":0x10}"#,
            r#"{"a":NaN}"#,
            r#"{"a":Infinity}"#,
            r#"{"a":True}"#,
            r#"{"a":nul}"#,
            r#"{"a":undefined}"#,
        ] {
            assert!(!is_json_object(s), "should reject {s:?}");
        }
    }

    #[test]
    fn rejects_bad_structure() {
        for s in [
            "{",
            "}",
            "{]",
            "[}",
            r#"{"a":[1}"#,
            r#"{"a":{]}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{,"a":1}"#,
            r#"{"a" 1}"#,
            r#"{"a":}"#,
            r#"{"a"}"#,
            r#"{1:2}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a"::1}"#,
            "\u{feff}{}",
            "{}\u{a0}",
            "{\u{b}}",
            "/*c*/{}",
        ] {
            assert!(!is_json_object(s), "should reject {s:?}");
        }
    }

    #[test]
    fn rejects_trailing_garbage() {
        for s in ["{}x", "{} {}", "{}}", "{},", r#"{"a":1}]"#, "{}\0", "{} //"] {
            assert!(!is_json_object(s), "should reject {s:?}");
        }
    }

    fn nested(depth: usize, open: &str, close: &str, buf: &mut [u8; 512]) -> usize {
        // `{"a":` repeated, innermost `{}`, then closers.
        let mut len = 0;
        let mut put = |s: &str, len: &mut usize| {
            buf[*len..*len + s.len()].copy_from_slice(s.as_bytes());
            *len += s.len();
        };
        put("{\"a\":", &mut len);
        for _ in 1..depth {
            put(open, &mut len);
        }
        put("0", &mut len);
        for _ in 1..depth {
            put(close, &mut len);
        }
        put("}", &mut len);
        len
    }

    #[test]
    fn caps_nesting_depth() {
        let mut buf = [0u8; 512];
        for (open, close) in [("[", "]"), ("{\"b\":", "}")] {
            let len = nested(MAX_DEPTH, open, close, &mut buf);
            let at_cap = core::str::from_utf8(&buf[..len]).unwrap();
            assert!(is_json_object(at_cap), "{at_cap}");
            let len = nested(MAX_DEPTH + 1, open, close, &mut buf);
            let over = core::str::from_utf8(&buf[..len]).unwrap();
            assert!(!is_json_object(over), "{over}");
        }
        // Deep unclosed garbage is rejected without running out of anything.
        let mut s = [b'['; 405];
        s[..5].copy_from_slice(b"{\"a\":");
        assert!(!is_json_object(core::str::from_utf8(&s).unwrap()));
    }
}
