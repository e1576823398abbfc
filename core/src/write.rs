//! The fixed-buffer writer: JSON, `application/x-www-form-urlencoded`, JSON
//! inside a form value, and the cut that fits text into a provider's limits.
//!
//! Writing never fails and never allocates: [`Writer`] stores what fits in
//! the caller's buffer and counts the rest, so a renderer runs once into the
//! buffer and, in the common case, that run is the payload. Only when the
//! count says it is over the limit does [`fit`] run it a second time with
//! byte budgets for the body (then the title), computed from the first
//! run's measurements. The result uses as much of the limit as it can and
//! never more (vendors.md §10.1).
//!
//! The writer is one concrete type (no sink stack, one copy of each
//! renderer in flash): keys come pre-joined with their quotes and separator
//! (`key!`), each piece is one bounds check and one copy, JSON escaping
//! copies clean text 32 bytes at a time, and percent-encoding writes
//! straight into the buffer. JSON inside a form value (OPPO, Meizu) is
//! percent-encoded as it is written, in the same pass.
//!
//! The JSON methods a renderer calls are `inline(always)` on hosted
//! targets, so each renderer's layout becomes one function that keeps the
//! output position in a register. Out of line, every piece stores it and
//! the next loads it back (a store through the buffer may alias it): a
//! chain through memory the CPU waits on, about a fifth of an APNs render's
//! time. Bare-metal builds (`target_os = "none"`: the firmware's 32 KiB)
//! leave inlining to the optimiser, as forcing it doubles the flash (and a
//! plain `#[inline]` there changed nothing, so there is none).

use crate::error::{Error, Field};
use crate::grapheme::Boundaries;
use crate::text::ThreadKey;

/// The ellipsis that ends a cut text (U+2026: 3 bytes, 1 char).
pub const ELLIPSIS: &str = "\u{2026}";

/// A JSON member's key with its separator, its quotes and a string
/// value's opening quote, joined at compile time: `key!("badge")` holds
/// `,"badge":"`. The writer leaves the comma off for the first member of an
/// object, and the last quote off for a value that is not a string.
#[derive(Clone, Copy, Debug)]
pub struct Key(&'static str);

impl Key {
    /// `joined` is `,"name":"` ([`key!`] makes it).
    pub(crate) const fn joined(joined: &'static str) -> Key {
        Key(joined)
    }

    /// `,"name":` and the value's opening quote.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn with_quote(self) -> &'static [u8] {
        self.0.as_bytes()
    }

    /// `,"name":` alone.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn without_quote(self) -> &'static [u8] {
        self.0.as_bytes().split_last().map_or(&[], |(_, key)| key)
    }
}

macro_rules! key {
    ($name:literal) => {
        $crate::write::Key::joined(concat!(",\"", $name, "\":\""))
    };
}
pub(crate) use key;

/// A form pair's name with its separator: `pair!("title")` is `&title=`.
/// Names are unreserved ASCII, so they are never encoded.
macro_rules! pair {
    ($name:literal) => {
        concat!("&", $name, "=")
    };
}
pub(crate) use pair;

/// An integer in decimal, formatted without indexing: the `itoa` crate's
/// bounds checks survive `opt-level = "z"`, so they were panic paths in the
/// firmware build (core/examples/firmware.rs links only without any).
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    /// `u64::MAX` has 20 digits; `i64::MIN` has a sign and 19.
    bytes: [u8; 20],
    start: usize,
}

impl Decimal {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn u64(mut value: u64) -> Decimal {
        let mut bytes = [b'0'; 20];
        let mut start = bytes.len();
        for slot in bytes.iter_mut().rev() {
            // `value % 10 < 10`: the cast keeps every bit.
            *slot = b'0' + (value % 10) as u8;
            start -= 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        Decimal { bytes, start }
    }

    pub fn i64(value: i64) -> Decimal {
        let mut decimal = Decimal::u64(value.unsigned_abs());
        if value < 0 {
            let start = decimal.start.saturating_sub(1);
            if let Some(sign) = decimal.bytes.get_mut(start) {
                *sign = b'-';
                decimal.start = start;
            }
        }
        decimal
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// A percent-encoding table.
struct PercentTable {
    /// The byte a source byte is written as when it is kept (itself, or
    /// `+` for a form's space), 0 when it becomes `%XX`.
    kept: [u8; 256],
    /// On hosts, each byte's whole encoding as a little-endian word with
    /// its length (1 or 3) in the top byte: one load and one store a byte
    /// ([`Sink::percent_wide`]). Left out of the firmware, whose flash it would
    /// cost 1 KiB a table.
    #[cfg(not(target_os = "none"))]
    codes: [u32; 256],
}

/// A percent-encoding table keeping ASCII alphanumerics and `kept`, with
/// space as `+` when `space_plus`. Built at compile time: an out-of-range
/// index here fails the build.
#[allow(clippy::indexing_slicing)]
const fn percent_table(kept: &[u8], space_plus: bool) -> PercentTable {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let mut keep = c.is_ascii_alphanumeric();
        let mut k = 0;
        while k < kept.len() {
            keep |= kept[k] == c;
            k += 1;
        }
        if keep {
            t[b] = c;
        }
        b += 1;
    }
    if space_plus {
        t[b' ' as usize] = b'+';
    }
    PercentTable {
        kept: t,
        #[cfg(not(target_os = "none"))]
        codes: percent_codes(&t),
    }
}

/// [`PercentTable`]'s `codes` for the table `kept`.
#[cfg(not(target_os = "none"))]
#[allow(clippy::indexing_slicing)]
const fn percent_codes(kept: &[u8; 256]) -> [u32; 256] {
    let mut codes = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        codes[b] = if kept[b] != 0 {
            kept[b] as u32 | 1 << 24
        } else {
            let (high, low) = (HEX_UPPER[b >> 4] as u32, HEX_UPPER[b & 0xf] as u32);
            b'%' as u32 | high << 8 | low << 16 | 3 << 24
        };
        b += 1;
    }
    codes
}

/// WHATWG urlencoded serializer: `A-Z a-z 0-9 * - . _` kept, space as `+`.
const FORM: PercentTable = percent_table(b"*-._", true);

/// Whether [`FORM`] keeps `b` (alphanumeric, `*-._`, or space as `+`),
/// as arithmetic a compiler turns into vector compares (a table lookup per
/// byte does not vectorise). A test pins it to the table.
#[inline]
fn form_kept(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10)
        | ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b == b'*')
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b' ')
}

/// An Android intent URI value, which `Intent.parseUri` decodes with
/// `Uri.decode` (no `+` for space): RFC 3986 unreserved `A-Z a-z 0-9 - . _ ~`
/// kept. Its output is ASCII that needs no JSON escaping.
const URI: PercentTable = percent_table(b"-._~", false);

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn hex_digit(nibble: u8) -> u8 {
    HEX_UPPER
        .get(usize::from(nibble & 0xf))
        .copied()
        .unwrap_or(b'0')
}

#[inline]
fn kept_as(table: &PercentTable, b: u8) -> u8 {
    table.kept.get(usize::from(b)).copied().unwrap_or(0)
}

/// The length `bytes` take percent-encoded by `table`.
#[inline]
fn percent_len(table: &PercentTable, bytes: &[u8]) -> usize {
    bytes.iter().fold(0usize, |n, &b| {
        n.saturating_add(if kept_as(table, b) == 0 { 3 } else { 1 })
    })
}

/// [`ESCAPE`]'s class of a byte written as `\u00XX`.
const UNICODE_ESCAPE: u8 = 2;

// JSON string escapes (vendors.md §10.4). 0 = as is, 1 = lead byte of a
// possible U+2028/U+2029, 2 = \u00XX ([`UNICODE_ESCAPE`]), anything else =
// that two-char escape's letter (every letter is above 2).
// Built at compile time: an out-of-range index here fails the build, never a run.
#[allow(clippy::indexing_slicing)]
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = UNICODE_ESCAPE;
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0xe2] = 1;
    t
};

#[inline]
fn escape_class(b: u8) -> u8 {
    ESCAPE.get(usize::from(b)).copied().unwrap_or(0)
}

/// Bytes with every bit set (`ONES * n` repeats byte `n`) and their high bits.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` (8 bytes, little-endian) that the
/// escape table may flag: below 0x20, `"`, `\`, or 0xE2. Every such byte
/// is marked; a borrow (which carries upwards only) may also mark a byte
/// above one, so a candidate is looked up in the table before it is escaped.
#[inline]
fn escape_candidates(x: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    // Below 0x20 or `"` in one test: `^ 2` maps 0x00..=0x1F onto itself
    // and `"` (0x22) to 0x20, and nothing else below 0x21.
    let flipped = x ^ (ONES * 2);
    let control_or_quote = flipped.wrapping_sub(ONES * 0x21) & !flipped & HIGHS;
    control_or_quote | zero_byte(x ^ (ONES * u64::from(b'\\'))) | zero_byte(x ^ (ONES * 0xe2))
}

/// The last bytes of a text (fewer than 8) as a little-endian word padded
/// with `a`, a byte that is never escaped: at most three loads (two
/// overlapping 4-byte ones, or the first, middle and last byte), never a
/// loop or a memcpy call.
#[inline]
fn padded_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    // Bit offset of byte `k`; `k < 8` wherever it is used.
    let at = |k: usize| (k as u32).wrapping_mul(8);
    let data = if let (Some(head), Some(tail)) = (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*head))
            | u64::from(u32::from_le_bytes(*tail)).wrapping_shl(at(n.wrapping_sub(4)))
    } else if let Some(last) = n.checked_sub(1) {
        let byte = |k: usize| u64::from(rest.get(k).copied().unwrap_or(0)).wrapping_shl(at(k));
        byte(0) | byte(n / 2) | byte(last)
    } else {
        0
    };
    data | (ONES * u64::from(b'a')).wrapping_shl(at(n))
}

/// Room [`Sink::percent_wide`] needs past the output's end for 16 bytes:
/// at most 48 encoded, a window that any masked index plus a word fits in.
#[cfg(not(target_os = "none"))]
const PERCENT_ROOM: usize = 64 + 4;

/// Bytes of text checked and copied at a time by [`Sink::escape_direct`].
const BLOCK: usize = 32;

/// Room [`Sink::escape_direct`] needs past the output's end for one
/// block: every byte a two-byte escape, plus the word stored past the last.
const BLOCK_ROOM: usize = 2 * BLOCK + 8;

/// The last bytes of a text (fewer than [`BLOCK`]) padded with `a`, a byte
/// that is never escaped: overlapping fixed-size moves, not a memcpy call.
#[inline]
fn padded_block(rest: &[u8]) -> [u8; BLOCK] {
    let mut block = [b'a'; BLOCK];
    let n = rest.len().min(BLOCK);
    let Some(dst) = block.get_mut(..n) else {
        return block;
    };
    if let (Some(head), Some(tail)) = (rest.first_chunk::<16>(), rest.last_chunk::<16>()) {
        // Through integers: moves between arrays here became memmove calls
        // in the firmware build.
        let (head, tail) = (u128::from_le_bytes(*head), u128::from_le_bytes(*tail));
        if let Some(d) = dst.first_chunk_mut::<16>() {
            *d = head.to_le_bytes();
        }
        if let Some(d) = dst.last_chunk_mut::<16>() {
            *d = tail.to_le_bytes();
        }
    } else {
        copy(dst, rest);
    }
    block
}

/// One flag per byte of `block` that may need escaping (below 0x20, `"`,
/// `\`, 0xE2), as four little-endian words with a 1 in each flagged byte:
/// the escapes' positions, found with vector compares where the target
/// has them.
#[inline]
fn flag_words(block: &[u8; BLOCK]) -> [u64; 4] {
    let mut flags = [0u8; BLOCK];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag =
            u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\') | u8::from(b == 0xe2);
    }
    core::array::from_fn(|w| word_at(&flags, 8 * w))
}

/// [`flag_words`] for `"` and `\` alone, and whether the block has any
/// other byte that may need escaping (below 0x20, 0xE2): the quote-only
/// path's one pass. One function giving both flag sets to both paths
/// measured 24 instructions (2 ns) slower on an APNs push.
#[inline]
fn quote_flags(block: &[u8; BLOCK]) -> ([u64; 4], bool) {
    let mut flags = [0u8; BLOCK];
    let mut others = 0u8;
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = u8::from(b == b'"') | u8::from(b == b'\\');
        others |= u8::from(b < 0x20) | u8::from(b == 0xe2);
    }
    (
        core::array::from_fn(|w| word_at(&flags, 8 * w)),
        others != 0,
    )
}

/// The 8 bytes of `bytes` from `at` as a little-endian word (0 past the end).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|word| <[u8; 8]>::try_from(word).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Whether any byte of `block` may need escaping (see [`escape_candidates`]).
/// Written as a plain fold over a fixed-size array, which compilers turn
/// into a few vector compares: clean text costs about an instruction a byte.
#[cfg_attr(not(target_os = "none"), inline(always))]
fn needs_escape<const N: usize>(block: &[u8; N]) -> bool {
    let mut flagged = 0u8;
    for &b in block {
        flagged |= u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\');
        flagged |= u8::from(b == 0xe2);
    }
    flagged != 0
}

/// The escape for the char starting at `bytes[i]` and the source bytes it
/// replaces; `None` when that char is written as is.
#[inline]
fn escape_at(bytes: &[u8], i: usize) -> Option<([u8; 6], usize, usize)> {
    let b = *bytes.get(i)?;
    match escape_class(b) {
        0 => None,
        // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; any other E2 is as is.
        1 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x80), Some(0xa8)) => Some((*b"\\u2028", 6, 3)),
            (Some(0x80), Some(0xa9)) => Some((*b"\\u2029", 6, 3)),
            _ => None,
        },
        UNICODE_ESCAPE => Some((
            [b'\\', b'u', b'0', b'0', hex_digit(b >> 4), hex_digit(b)],
            6,
            1,
        )),
        short => Some(([b'\\', short, 0, 0, 0, 0], 2, 1)),
    }
}

/// How a cut text's chars are encoded, for what each costs in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    /// JSON-escaped.
    Json,
    /// JSON-escaped, then percent-encoded as a form value.
    FormJson,
    /// Percent-encoded as a form value.
    Form,
}

/// What one char costs in the payload, encoded by `code`.
fn char_cost(c: char, code: Code) -> usize {
    let mut utf8 = [0u8; 4];
    let bytes = c.encode_utf8(&mut utf8).as_bytes();
    let escaped = match code {
        Code::Form => None,
        _ => escape_at(bytes, 0),
    };
    let bytes = match &escaped {
        Some((escape, len, _)) => escape.get(..*len).unwrap_or_default(),
        None => bytes,
    };
    match code {
        Code::Json => bytes.len(),
        _ => percent_len(&FORM, bytes),
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length, without its
/// length-mismatch panic: at `opt-level = "z"` that check sits in an
/// out-of-line function the optimiser cannot drop, which fails the firmware
/// link (core/examples/firmware.rs). A zipped copy still compiles to memcpy.
/// Keys, separators and short runs (up to 16 bytes, most of what a render
/// copies) are two overlapping fixed-size moves rather than a memcpy call.
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    if src.len() <= 16 && dst.len() == src.len() {
        if let (Some(head), Some(tail)) = (src.first_chunk::<8>(), src.last_chunk::<8>()) {
            if let Some(d) = dst.first_chunk_mut::<8>() {
                *d = *head;
            }
            if let Some(d) = dst.last_chunk_mut::<8>() {
                *d = *tail;
            }
            return;
        }
        if let (Some(head), Some(tail)) = (src.first_chunk::<4>(), src.last_chunk::<4>()) {
            if let Some(d) = dst.first_chunk_mut::<4>() {
                *d = *head;
            }
            if let Some(d) = dst.last_chunk_mut::<4>() {
                *d = *tail;
            }
            return;
        }
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// One piece of a JSON string written by [`Writer::parts_member`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// JSON-escaped as is.
    Plain(&'a str),
    /// Percent-encoded as an Android intent URI value (Huawei intent extras).
    Uri(&'a str),
}

/// How a provider counts characters (vendors.md §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Unicode scalar values (Xiaomi).
    Scalars,
    /// UTF-16 code units, as a Java server counts (OPPO, Meizu).
    Utf16,
    /// vivo: the largest of its documented rules (vendors.md §10.3): every
    /// char 1, non-ASCII 2, UTF-16 units. ASCII 1, other BMP chars 2, and
    /// astral chars (emoji) 4: two UTF-16 units, each weighted 2.
    Weighted,
}

impl Counter {
    /// Units one char takes.
    #[inline]
    pub const fn units(self, c: char) -> usize {
        match self {
            Counter::Scalars => 1,
            Counter::Utf16 => c.len_utf16(),
            Counter::Weighted => {
                if c.is_ascii() {
                    1
                } else {
                    2 * c.len_utf16()
                }
            }
        }
    }

    /// Units a whole string takes: a sum over its bytes (lead bytes say
    /// how wide their char is, continuation bytes add nothing), which the
    /// compiler vectorises, rather than a walk over its chars.
    pub fn count(self, s: &str) -> usize {
        // A lead byte is any but 0x80..=0xBF; 0xF0.. leads a 4-byte char.
        let lead = |b: u8| u8::from((b as i8) >= -0x40);
        let astral = |b: u8| u8::from(b >= 0xf0);
        match self {
            Counter::Scalars => sum_units(s.as_bytes(), lead),
            Counter::Utf16 => sum_units(s.as_bytes(), |b| lead(b) + astral(b)),
            // ASCII 1, a 2- or 3-byte char 2, a 4-byte char 4.
            Counter::Weighted => sum_units(s.as_bytes(), |b| {
                let wide = u8::from(b >= 0xc0);
                u8::from(b < 0x80) + 2 * wide + 2 * astral(b)
            }),
        }
    }
}

/// The sum of `units` (at most 4 a byte) over `bytes`, added up in bytes
/// 32 at a time (at most 128 each), so that the compiler's vectors hold 16
/// or 32 lanes rather than the two a `usize` sum leaves.
#[inline]
fn sum_units(bytes: &[u8], units: impl Fn(u8) -> u8) -> usize {
    let mut chunks = bytes.chunks_exact(32);
    let mut n = 0usize;
    for chunk in &mut chunks {
        let sum = chunk.iter().fold(0u8, |sum, &b| sum.wrapping_add(units(b)));
        n = n.wrapping_add(usize::from(sum));
    }
    chunks
        .remainder()
        .iter()
        .fold(n, |n, &b| n.wrapping_add(usize::from(units(b))))
}

/// A per-field character cap: at most `max` units, counted by `counter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharLimit {
    pub counter: Counter,
    pub max: usize,
}

/// The texts a renderer may cut to fit a byte limit, body first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Body = 0,
    Title = 1,
}

const SLOTS: [Slot; 2] = [Slot::Body, Slot::Title];

#[derive(Clone, Copy, Debug, Default)]
struct SlotPlan {
    /// Encoded bytes the slot took in the measuring run (quotes excluded).
    measured: usize,
    /// How the slot's text was encoded, for what a cut slot's ellipsis
    /// costs (the least it can shrink to): worked out only when cutting.
    code: Option<Code>,
    /// Byte budget for the emitting run (quotes excluded).
    budget: Option<usize>,
    /// Bytes of the source text kept when the slot was cut.
    kept: Option<usize>,
}

/// Measurements and budgets shared by the two runs of [`fit`].
#[derive(Debug, Default)]
pub struct Plan {
    slots: [SlotPlan; 2],
    /// Bytes the provider does not count against its limit (Huawei tokens).
    exempt: usize,
    /// The largest uncuttable string, named when nothing else can give:
    /// looked for only when `tracking` (see [`fit`]).
    largest: Option<(Field, usize)>,
    /// This run looks for `largest` ([`largest_uncut`]'s run only).
    tracking: bool,
}

impl Plan {
    fn slot(&mut self, slot: Slot) -> &mut SlotPlan {
        match slot {
            Slot::Body => &mut self.slots[0],
            Slot::Title => &mut self.slots[1],
        }
    }

    /// Spreads a byte excess over the body, then the title; whether they
    /// could take it all.
    fn assign_budgets(&mut self, excess: usize) -> bool {
        let mut left = excess;
        for slot in SLOTS {
            let plan = self.slot(slot);
            let floor = plan.code.map_or(0, |code| {
                ELLIPSIS
                    .chars()
                    .fold(0usize, |n, c| n.saturating_add(char_cost(c, code)))
            });
            let reducible = plan.measured.saturating_sub(floor);
            let cut = left.min(reducible);
            if cut > 0 {
                plan.budget = Some(plan.measured - cut);
                left -= cut;
            }
        }
        left == 0
    }

    fn start_emitting(&mut self) {
        self.exempt = 0;
        for plan in &mut self.slots {
            plan.measured = 0;
            plan.kept = None;
        }
    }
}

/// What became of a cuttable text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cut {
    /// Bytes of the source text kept before the ellipsis; `None` = whole.
    pub body: Option<usize>,
    pub title: Option<usize>,
}

/// A rendered payload's length and cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fitted {
    pub len: usize,
    pub cut: Cut,
}

/// A provider payload's layout, written once for both runs of [`fit`]
/// (see `run` on inlining it).
pub trait Layout {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error>;
}

/// Renders `layout` into `buf` so that it fits both `buf` and `limit`
/// (bytes, not counting exempt bytes), cutting the body and then the title
/// at an extended grapheme cluster boundary (UAX #29, [`crate::grapheme`]),
/// each ending with `…`, only as far as needed: at most one cluster more
/// than a char-boundary cut would remove.
pub fn fit<L: Layout + ?Sized>(layout: &L, buf: &mut [u8], limit: usize) -> Result<Fitted, Error> {
    let capacity = buf.len();
    let mut plan = Plan::default();
    let total = run(layout, buf, &mut plan)?;
    let allowed = capacity.min(limit.saturating_add(plan.exempt));
    if total > allowed {
        if !plan.assign_budgets(total - allowed) {
            return Err(Error::TooLong(largest_uncut(layout, buf)?));
        }
        plan.start_emitting();
        let total = run(layout, buf, &mut plan)?;
        if total > allowed {
            return Err(Error::TooLong(Field::Payload));
        }
        return Ok(plan.fitted(total));
    }
    Ok(plan.fitted(total))
}

/// The largest uncuttable field of `layout`, to name when even the shortest
/// texts do not fit: found by one more run, so that the runs of a payload
/// that fits (nearly all) do not keep track of sizes.
#[cold]
fn largest_uncut<L: Layout + ?Sized>(layout: &L, buf: &mut [u8]) -> Result<Field, Error> {
    let mut plan = Plan {
        tracking: true,
        ..Plan::default()
    };
    run(layout, buf, &mut plan)?;
    Ok(plan.largest.map_or(Field::Payload, |(field, _)| field))
}

/// Renders `layout` into `buf` with its char-limit cuts only, in one run: a
/// buffer too small for the result is `TooLong(Payload)`, never a further
/// cut (Meizu, whose signed `messageJson` must be the one sent).
pub fn fit_uncut<L: Layout + ?Sized>(layout: &L, buf: &mut [u8]) -> Result<Fitted, Error> {
    let capacity = buf.len();
    let mut plan = Plan::default();
    let total = run(layout, buf, &mut plan)?;
    if total > capacity {
        return Err(Error::TooLong(Field::Payload));
    }
    Ok(plan.fitted(total))
}

impl Plan {
    fn fitted(&self, len: usize) -> Fitted {
        Fitted {
            len,
            cut: Cut {
                body: self.slots[0].kept,
                title: self.slots[1].kept,
            },
        }
    }
}

/// One run of a layout. Renderers mark their `Layout::write`
/// `inline(always)` on hosted targets, so the writer is this function's
/// own local and its fields live in registers; this stays out of line, one
/// copy per provider however many runs [`fit`] makes. (Meizu's two nested
/// layouts measured slower inlined, so they are left to the optimiser.)
#[cfg_attr(not(target_os = "none"), inline(never))]
fn run<L: Layout + ?Sized>(layout: &L, buf: &mut [u8], plan: &mut Plan) -> Result<usize, Error> {
    let mut w = Writer::new(buf, plan);
    layout.write(&mut w)?;
    Ok(w.count())
}

/// A cuttable text: segments joined with nothing between them.
#[derive(Clone, Copy, Debug)]
pub struct Text<I> {
    pub segments: I,
    pub limit: Option<CharLimit>,
}

/// Where a writer's bytes go: the caller's buffer, the output's length so
/// far (bytes past the buffer's end are counted, not stored) and whether
/// they are percent-encoded as a form value on their way in.
#[derive(Debug)]
struct Sink<'b> {
    buf: &'b mut [u8],
    /// Bytes of output so far (where the next one goes).
    len: usize,
    /// Inside [`Writer::form_json`]: everything is percent-encoded as a form
    /// value on its way into the buffer.
    form: bool,
}

impl Sink<'_> {
    /// Appends `bytes`, percent-encoded inside a form value.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put(&mut self, bytes: &[u8]) {
        if self.form {
            // Structure and short pieces: straight through the table.
            if bytes.len() < 16 {
                self.percent(&FORM, bytes);
            } else {
                self.put_form(bytes);
            }
        } else {
            self.put_plain(bytes);
        }
    }

    /// Appends `bytes` as they are: one bounds check, one copy.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_plain(&mut self, bytes: &[u8]) {
        // A single byte (a quote, a brace: known where the writer is
        // inlined) is one compare and one store, without a range.
        // Stored bytes end inside the buffer, so their count is a plain
        // add; only counting past the end saturates.
        if let [byte] = *bytes {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = byte;
                self.len += 1;
            } else {
                self.len = self.len.saturating_add(1);
            }
            return;
        }
        // `..n` of the rest, not `len..len + n`: the slice is then known to
        // be exactly as long as `bytes`, so `copy` checks nothing more.
        let dst = self.buf.get_mut(self.len..);
        if let Some(dst) = dst.and_then(|rest| rest.get_mut(..bytes.len())) {
            copy(dst, bytes);
            self.len += bytes.len();
        } else {
            self.len = self.len.saturating_add(bytes.len());
        }
    }

    /// Appends `bytes` form-encoded ([`FORM`]), through [`form_long`].
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_form(&mut self, bytes: &[u8]) {
        self.len = form_long(self.buf, self.len, bytes);
    }

    /// Appends `bytes` percent-encoded by `table`, through [`percent_long`].
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_percent(&mut self, table: &PercentTable, bytes: &[u8]) {
        self.len = percent_long(self.buf, self.len, table, bytes);
    }

    /// Appends `bytes` form-encoded ([`FORM`]): 16 bytes at a time where
    /// every byte is kept (checked with [`form_kept`], which vectorises,
    /// then copied with spaces as `+`), byte by byte through the table
    /// elsewhere. English text has runs of such blocks; CJK has none.
    #[inline]
    fn form_blocks(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while let Some(block) = bytes.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let dst = self
                .buf
                .get_mut(self.len..)
                .and_then(<[u8]>::first_chunk_mut::<16>);
            match dst {
                Some(dst) if block.iter().fold(true, |ok, &b| ok & form_kept(b)) => {
                    *dst = block.map(|b| if b == b' ' { b'+' } else { b });
                    self.len += 16;
                }
                _ => self.percent_wide(&FORM, block),
            }
            i += 16;
        }
        self.percent(&FORM, bytes.get(i..).unwrap_or_default());
    }

    /// [`Self::percent`] for a long text: on hosts, 16 bytes at a time
    /// while the buffer has room for them all encoded. Each byte's
    /// encoding is one word from the table, stored whole (the bytes past
    /// its length are overwritten by the next), with no branch on whether
    /// the byte is kept.
    #[inline]
    fn percent_wide(&mut self, table: &PercentTable, bytes: &[u8]) {
        #[cfg(not(target_os = "none"))]
        let bytes = {
            let mut rest = bytes;
            while let Some(window) = self
                .buf
                .get_mut(self.len..)
                .and_then(<[u8]>::first_chunk_mut::<PERCENT_ROOM>)
            {
                let Some((chunk, more)) = rest.split_first_chunk::<16>() else {
                    break;
                };
                // At most 45 before the last byte: the `& 63` changes no
                // index and lets the compiler drop the bounds checks.
                let mut at = 0usize;
                for &b in chunk {
                    let code = table.codes.get(usize::from(b)).copied().unwrap_or(0);
                    if let Some(dst) = window
                        .get_mut(at & 63..)
                        .and_then(<[u8]>::first_chunk_mut::<4>)
                    {
                        *dst = code.to_le_bytes();
                    }
                    at += (code >> 24) as usize;
                }
                self.len += at;
                rest = more;
            }
            rest
        };
        self.percent(table, bytes);
    }

    /// Appends `bytes` percent-encoded by `table`, straight into the buffer.
    #[inline]
    fn percent(&mut self, table: &PercentTable, bytes: &[u8]) {
        let rest = self.buf.get_mut(self.len..).unwrap_or_default();
        let mut out = rest.iter_mut();
        let mut emit = |byte: u8| {
            if let Some(slot) = out.next() {
                *slot = byte;
            }
        };
        let mut n = 0usize;
        for &b in bytes {
            let kept = kept_as(table, b);
            if kept != 0 {
                emit(kept);
                n += 1;
            } else {
                emit(b'%');
                emit(hex_digit(b >> 4));
                emit(hex_digit(b));
                n += 3;
            }
        }
        self.len = self.len.saturating_add(n);
    }

    /// Escapes `bytes` straight into the buffer while it has room, 32
    /// bytes at a time: a clean block is one check and one copy. A block
    /// with escapes is stored as its four 8-byte words, and each two-byte
    /// escape (`\"`, `\\`, `\n`…) is made in place — a `\` where the
    /// byte was, the rest of its word stored again one byte further, the
    /// escape letter over the byte — so quoted JSON in an `ext` costs a
    /// few instructions an escape, with the escapes' positions found by
    /// vector compares ([`flag_words`]). `\u` escapes and U+2028/9 take
    /// the slow step. Returns how far it got; the rest (near the buffer's
    /// end) is [`Self::escape_runs`]'.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn escape_direct(&mut self, bytes: &[u8]) -> usize {
        // Locals, not fields: stores into the buffer could otherwise alias
        // `self.len`, which would go back to memory on every block.
        let buf = &mut *self.buf;
        let mut len = self.len;
        let mut i = 0;
        'blocks: while let Some(rest) = bytes.get(i..).filter(|rest| !rest.is_empty()) {
            let Some(out) = buf
                .get_mut(len..)
                .and_then(<[u8]>::first_chunk_mut::<BLOCK_ROOM>)
            else {
                break;
            };
            let (block, n) = match rest.first_chunk::<BLOCK>() {
                Some(block) => (*block, BLOCK),
                None => (padded_block(rest), rest.len()),
            };
            if !needs_escape(&block) {
                if let Some(dst) = out.first_chunk_mut::<BLOCK>() {
                    *dst = block;
                }
                len += n;
                i += n;
                continue;
            }
            // Escapes made in this block so far: how far its later bytes
            // moved. `at + moved + k < 64` for byte `k` of word `at` (at most
            // one escape per byte before it), so the `& 63`s below change no
            // index: they let the compiler drop the bounds checks.
            let mut moved = 0;
            let (quotes, others) = quote_flags(&block);
            if !others {
                // Only `"` and `\`, whose escape letter is the byte itself:
                // a `\` where the byte was and the word from it one further.
                for (at, mut flags) in (0..BLOCK).step_by(8).zip(quotes) {
                    let word = word_at(&block, at);
                    if let Some(dst) = out
                        .get_mut((at + moved) & 63..)
                        .and_then(<[u8]>::first_chunk_mut::<8>)
                    {
                        *dst = word.to_le_bytes();
                    }
                    while flags != 0 {
                        let shift = flags.trailing_zeros();
                        flags &= flags - 1;
                        let k = (shift / 8) as usize;
                        if let Some(dst) = out
                            .get_mut((at + moved + k) & 63..)
                            .and_then(<[u8]>::first_chunk_mut::<9>)
                        {
                            let [backslash, shifted @ ..] = dst;
                            *backslash = b'\\';
                            *shifted = (word >> shift).to_le_bytes();
                        }
                        moved += 1;
                    }
                }
                len += n + moved;
                i += n;
                continue;
            }
            for (at, mut flags) in (0..BLOCK).step_by(8).zip(flag_words(&block)) {
                let word = word_at(&block, at);
                if let Some(dst) = out
                    .get_mut((at + moved) & 63..)
                    .and_then(<[u8]>::first_chunk_mut::<8>)
                {
                    *dst = word.to_le_bytes();
                }
                while flags != 0 {
                    let k = (flags.trailing_zeros() / 8) as usize;
                    flags &= flags - 1;
                    let class = escape_class((word >> (8 * k)) as u8);
                    if class > UNICODE_ESCAPE {
                        if let Some(dst) = out
                            .get_mut((at + moved + k) & 63..)
                            .and_then(<[u8]>::first_chunk_mut::<9>)
                        {
                            let [backslash, shifted @ ..] = dst;
                            *backslash = b'\\';
                            *shifted = (word >> (8 * k)).to_le_bytes();
                            shifted[0] = class;
                        }
                        moved += 1;
                        continue;
                    }
                    // An E2 lead (as is unless it starts U+2028/9), or a
                    // `\u` escape: the bytes before it are in place.
                    let at_escape = i + at + k;
                    let Some((escape, escaped, replaced)) = escape_at(bytes, at_escape) else {
                        continue;
                    };
                    len += at + moved + k;
                    let Some(dst) = buf.get_mut(len..).and_then(<[u8]>::first_chunk_mut::<6>)
                    else {
                        i = at_escape;
                        break 'blocks;
                    };
                    *dst = escape;
                    len += escaped;
                    i = at_escape + replaced;
                    continue 'blocks;
                }
            }
            len += n + moved;
            i += n;
        }
        self.len = len;
        i
    }

    /// Escapes `bytes` from `start` through [`Self::put`], one put per clean
    /// run and per escape: inside a form value, and near the buffer's end.
    /// Inline into its two out-of-line callers, where the sink's fields
    /// are locals: a method call would keep them in memory.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn escape_runs(&mut self, bytes: &[u8], start: usize) {
        let mut run_start = start;
        let mut i = start;
        while i < bytes.len() {
            let mut candidates = match bytes.get(i..i + 8) {
                Some(chunk) => escape_candidates(u64::from_le_bytes(
                    <[u8; 8]>::try_from(chunk).unwrap_or([0; 8]),
                )),
                // The tail: every byte the table flags.
                None => bytes.get(i..).unwrap_or_default().iter().enumerate().fold(
                    0,
                    |mask, (k, &b)| {
                        let flagged = u64::from(escape_class(b) != 0);
                        mask | flagged << (8 * k + 7)
                    },
                ),
            };
            while candidates != 0 {
                let at = i + (candidates.trailing_zeros() / 8) as usize;
                candidates &= candidates - 1;
                // Bytes before `run_start` are the tail of an escaped U+2028.
                if at < run_start {
                    continue;
                }
                if let Some((escape, len, replaced)) = escape_at(bytes, at) {
                    self.put(bytes.get(run_start..at).unwrap_or_default());
                    self.put(escape.get(..len).unwrap_or_default());
                    run_start = at + replaced;
                }
            }
            i += 8;
        }
        self.put(bytes.get(run_start..).unwrap_or_default());
    }
}

// The out-of-line writers below take the buffer and the output's length
// and return the new length: never the writer or the sink, whose address
// would then escape the renderer's function and take their fields (and the
// `form` flag a JSON-only provider never sets) out of registers.

/// A sink over `buf` from `len` for one out-of-line writer; the new length.
#[cfg_attr(not(target_os = "none"), inline(always))]
fn on_sink(buf: &mut [u8], len: usize, form: bool, write: impl FnOnce(&mut Sink<'_>)) -> usize {
    let mut sink = Sink { buf, len, form };
    write(&mut sink);
    sink.len
}

/// The long and slow paths of [`Writer::put_escaped`].
#[inline(never)]
fn escape_long(buf: &mut [u8], len: usize, form: bool, bytes: &[u8]) -> usize {
    on_sink(buf, len, form, |sink| {
        let done = if form { 0 } else { sink.escape_direct(bytes) };
        if done < bytes.len() {
            sink.escape_runs(bytes, done);
        }
    })
}

/// [`Sink::escape_runs`] from `done`, after the inline block escaper
/// stopped near the buffer's end; the new length. Apart from
/// [`escape_long`] on purpose: one function with a start for both measured
/// APNs 15 instructions and OPPO 180 more.
#[cfg(not(target_os = "none"))]
#[inline(never)]
fn escape_rest(buf: &mut [u8], len: usize, bytes: &[u8], done: usize) -> usize {
    on_sink(buf, len, false, |sink| sink.escape_runs(bytes, done))
}

/// [`Sink::form_blocks`] from `len`; the new length.
#[inline(never)]
fn form_long(buf: &mut [u8], len: usize, bytes: &[u8]) -> usize {
    on_sink(buf, len, true, |sink| sink.form_blocks(bytes))
}

/// [`Sink::percent`] from `len`; the new length.
#[inline(never)]
fn percent_long(buf: &mut [u8], len: usize, table: &PercentTable, bytes: &[u8]) -> usize {
    on_sink(buf, len, true, |sink| sink.percent_wide(table, bytes))
}

/// Writes JSON and form structure into the caller's buffer. Bytes past its
/// end are counted, not stored, so `count() > capacity` means the output
/// did not fit.
#[derive(Debug)]
pub struct Writer<'b, 'p> {
    sink: Sink<'b>,
    /// No member written yet in the innermost open object, array or form.
    first: bool,
    /// [`Plan`]'s `tracking`, kept here where it stays in a register.
    tracking: bool,
    plan: &'p mut Plan,
}

impl<'b, 'p> Writer<'b, 'p> {
    pub fn new(buf: &'b mut [u8], plan: &'p mut Plan) -> Self {
        Writer {
            sink: Sink {
                buf,
                len: 0,
                form: false,
            },
            first: true,
            tracking: plan.tracking,
            plan,
        }
    }

    /// Bytes of output so far, stored or (past the buffer's end) not.
    #[inline]
    pub fn count(&self) -> usize {
        self.sink.len
    }

    /// What `bytes` cost in the payload, put at this point.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn code(&self) -> Code {
        if self.sink.form {
            Code::FormJson
        } else {
            Code::Json
        }
    }

    /// Writes `s` JSON-escaped (without quotes): a short clean piece as
    /// one or two stores here, a longer one through the block escaper
    /// ([`Sink::escape_direct`]), and the rest through [`escape_long`]. The
    /// hot path of every render.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_escaped(&mut self, s: &str) {
        let bytes = s.as_bytes();
        // A short clean piece (a name, a placeholder, a separator) is one
        // word: checked and stored whole, without the scanning loop.
        if bytes.len() < 8 && !self.sink.form {
            let word = padded_word(bytes);
            if escape_candidates(word) == 0 {
                if let Some(dst) = self
                    .sink
                    .buf
                    .get_mut(self.sink.len..)
                    .and_then(<[u8]>::first_chunk_mut::<8>)
                {
                    *dst = word.to_le_bytes();
                    self.sink.len += bytes.len();
                    return;
                }
            }
        }
        // Up to 32 bytes (most names and pieces of a body): the first and
        // last halves, overlapping, checked and stored whole.
        if (8..=BLOCK).contains(&bytes.len()) && !self.sink.form && self.put_clean_halves(bytes) {
            return;
        }
        // Inline on hosts: the call's register saves and constant set-up
        // cost an APNs push 94 instructions (5 ns) and FCM 139. The
        // firmware keeps one out-of-line copy, for flash.
        #[cfg(not(target_os = "none"))]
        if !self.sink.form {
            let done = self.sink.escape_direct(bytes);
            if done < bytes.len() {
                self.sink.len = escape_rest(self.sink.buf, self.sink.len, bytes, done);
            }
            return;
        }
        self.sink.len = escape_long(self.sink.buf, self.sink.len, self.sink.form, bytes);
    }

    /// Stores `bytes` (8 to 32 of them) as two overlapping halves of 8 or
    /// 16 bytes if neither needs escaping and the buffer has room; whether
    /// it did.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_clean_halves(&mut self, bytes: &[u8]) -> bool {
        let Some(dst) = self
            .sink
            .buf
            .get_mut(self.sink.len..self.sink.len + bytes.len())
        else {
            return false;
        };
        if let (Some(head), Some(tail)) = (bytes.first_chunk::<16>(), bytes.last_chunk::<16>()) {
            if needs_escape(head) || needs_escape(tail) {
                return false;
            }
            // Through integers, as in `padded_block`.
            let (head, tail) = (u128::from_le_bytes(*head), u128::from_le_bytes(*tail));
            if let Some(d) = dst.first_chunk_mut::<16>() {
                *d = head.to_le_bytes();
            }
            if let Some(d) = dst.last_chunk_mut::<16>() {
                *d = tail.to_le_bytes();
            }
        } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>())
        {
            let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
            if escape_candidates(head) | escape_candidates(tail) != 0 {
                return false;
            }
            if let Some(d) = dst.first_chunk_mut::<8>() {
                *d = head.to_le_bytes();
            }
            if let Some(d) = dst.last_chunk_mut::<8>() {
                *d = tail.to_le_bytes();
            }
        } else {
            return false;
        }
        self.sink.len += bytes.len();
        true
    }

    /// Writes a literal run of structure, e.g. `{"aps":{"alert":`; a run
    /// that ends by opening an object or array starts its members.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn raw(&mut self, literal: &str) {
        let bytes = literal.as_bytes();
        self.sink.put(bytes);
        self.first = matches!(bytes.last(), Some(b'{' | b'['));
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn begin_object(&mut self) {
        self.sink.put(b"{");
        self.first = true;
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn end_object(&mut self) {
        self.sink.put(b"}");
        self.first = false;
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn begin_array(&mut self) {
        self.sink.put(b"[");
        self.first = true;
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn end_array(&mut self) {
        self.sink.put(b"]");
        self.first = false;
    }

    /// Writes a pre-joined separator and name (`,"key":`, `,"key":"` or
    /// `&name=`), leaving the separator off for the first member.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn separated(&mut self, bytes: &[u8]) {
        let bytes = if self.first {
            bytes.get(1..).unwrap_or_default()
        } else {
            bytes
        };
        self.first = false;
        self.sink.put(bytes);
    }

    /// Starts an object member whose value is not a string.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn key(&mut self, key: Key) {
        self.separated(key.without_quote());
    }

    /// Starts an object member and its string value: the key and the
    /// opening quote are one piece.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn string_key(&mut self, key: Key) {
        self.separated(key.with_quote());
    }

    /// Starts an array element.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn element(&mut self) {
        if !self.first {
            self.sink.put(b",");
        }
        self.first = false;
    }

    /// Remembers the largest uncuttable field written since `before`, to
    /// name it when even the shortest texts cannot make the payload fit.
    /// Only in the run [`fit`] makes to find that field: a payload that
    /// fits never needs it.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn track(&mut self, field: Field, before: usize) {
        if !self.tracking {
            return;
        }
        let size = self.sink.len.saturating_sub(before);
        if self.plan.largest.is_none_or(|(_, n)| size > n) {
            self.plan.largest = Some((field, size));
        }
    }

    /// A JSON string, tracked so that an overlong one can be named.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn string(&mut self, field: Field, value: &str) {
        self.sink.put(b"\"");
        self.string_rest(field, value);
    }

    /// A string value after its opening quote.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn string_rest(&mut self, field: Field, value: &str) {
        let before = self.sink.len;
        self.put_escaped(value);
        self.track(field, before);
        self.sink.put(b"\"");
    }

    /// `"key":"<segments joined>"` (not cuttable), tracked like
    /// [`Writer::string`].
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn segments_member<'a>(
        &mut self,
        key: Key,
        field: Field,
        segments: impl Iterator<Item = &'a str>,
    ) {
        self.string_key(key);
        let before = self.sink.len;
        segments.fold(
            (),
            #[cfg_attr(not(target_os = "none"), inline(always))]
            |(), segment| self.put_escaped(segment),
        );
        self.track(field, before);
        self.sink.put(b"\"");
    }

    /// `"key":"c2c:<id>"`: the thread key's constant prefix is stored as
    /// is (it needs no escaping), only its id is escaped.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn thread_key_member(&mut self, key: Key, thread: ThreadKey<'_>) {
        self.string_key(key);
        let before = self.sink.len;
        self.sink.put(thread.prefix.as_bytes());
        self.put_escaped(thread.id);
        self.track(Field::ThreadId, before);
        self.sink.put(b"\"");
    }

    /// `"key":"value"`.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn str_member(&mut self, key: Key, field: Field, value: &str) {
        self.string_key(key);
        self.string_rest(field, value);
    }

    /// `"key":"value"` when `value` is set (non-empty); nothing otherwise.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn opt_str_member(&mut self, key: Key, field: Field, value: &str) {
        if !value.is_empty() {
            self.str_member(key, field, value);
        }
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn u64(&mut self, value: u64) {
        // One digit (badges, flags, enums) needs no formatting.
        if value < 10 {
            self.sink.put(&[b'0' + value as u8]);
        } else {
            self.sink.put(Decimal::u64(value).as_bytes());
        }
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn u64_member(&mut self, key: Key, value: u64) {
        self.key(key);
        self.u64(value);
    }

    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn bool_member(&mut self, key: Key, value: bool) {
        self.key(key);
        self.sink.put(if value { b"true" } else { b"false" });
    }

    /// `"key":"<seconds>s"`: a protobuf `Duration` in its JSON form (FCM,
    /// Huawei and Honor `android.ttl`).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn duration_member(&mut self, key: Key, seconds: u64) {
        self.string_key(key);
        self.u64(seconds);
        self.sink.put(b"s\"");
    }

    /// `"key":"<parts joined>"`, each part JSON-escaped or percent-encoded
    /// (not cuttable), tracked like [`Writer::string`].
    pub fn parts_member(&mut self, key: Key, field: Field, parts: &[Part<'_>]) {
        self.string_key(key);
        let before = self.sink.len;
        for part in parts {
            match *part {
                Part::Plain(s) => self.put_escaped(s),
                // Inside a form value (no provider sends one there) each
                // encoded byte is form-encoded in turn.
                Part::Uri(s) if self.sink.form => {
                    for &b in s.as_bytes() {
                        let kept = kept_as(&URI, b);
                        let (piece, n) = if kept != 0 {
                            ([kept, 0, 0], 1)
                        } else {
                            ([b'%', hex_digit(b >> 4), hex_digit(b)], 3)
                        };
                        self.sink.put(piece.get(..n).unwrap_or_default());
                    }
                }
                Part::Uri(s) => self.sink.put_percent(&URI, s.as_bytes()),
            }
        }
        self.track(field, before);
        self.sink.put(b"\"");
    }

    /// How much of a slot's text this run keeps ([`plan_cut`]; `None` =
    /// all). Neither a char cap nor a byte budget (most texts): nothing to
    /// plan, answered here without a call or a copy of the segments.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn kept<'a, I>(&mut self, slot: Slot, text: &Text<I>, code: Code) -> Option<usize>
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        match (text.limit, self.plan.slot(slot).budget) {
            (None, None) => None,
            (limit, budget) => plan_cut(text.segments.clone(), limit, budget, code),
        }
    }

    /// Writes the source bytes `kept` leaves of `segments` (all when
    /// `None`), then the ellipsis if cut, each encoded by `code`.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_cut<'a, I>(&mut self, segments: I, kept: Option<usize>, code: Code)
    where
        I: Iterator<Item = &'a str>,
    {
        let Some(mut left) = kept else {
            // `fold`, not `for` (see [`crate::text::Segments`]) nor
            // `for_each`, which is left out of line.
            segments.fold(
                (),
                #[cfg_attr(not(target_os = "none"), inline(always))]
                |(), segment| self.put_text(segment, code),
            );
            return;
        };
        for segment in segments {
            if left == 0 {
                break;
            }
            let part = segment.get(..left.min(segment.len())).unwrap_or_default();
            self.put_text(part, code);
            left -= part.len();
        }
        self.put_text(ELLIPSIS, code);
    }

    /// A piece of a text, encoded by `code` (JSON-escaped, then
    /// percent-encoded inside a form value, or percent-encoded alone). A
    /// match, not a closure: a closure's call was left out of line, which
    /// took the writer out of registers.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn put_text(&mut self, piece: &str, code: Code) {
        match code {
            Code::Form => self.sink.put_form(piece.as_bytes()),
            Code::Json | Code::FormJson => self.put_escaped(piece),
        }
    }

    /// Records what a slot's text took in this run.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn measure(&mut self, slot: Slot, before: usize, code: Code, kept: Option<usize>) {
        let size = self.sink.len.saturating_sub(before);
        let plan = self.plan.slot(slot);
        plan.measured = plan.measured.saturating_add(size);
        plan.code = Some(code);
        plan.kept = kept;
    }

    /// `"key":"text"` for a cuttable text. Each slot is written once per run.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn text_member<'a, I>(&mut self, key: Key, slot: Slot, text: Text<I>)
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.string_key(key);
        let before = self.sink.len;
        let code = self.code();
        let kept = self.kept(slot, &text, code);
        self.put_cut(text.segments, kept, code);
        self.measure(slot, before, code, kept);
        self.sink.put(b"\"");
    }

    /// Writes through `f` with the bytes exempt from the provider's limit.
    pub fn exempt(&mut self, f: impl FnOnce(&mut Self)) {
        let before = self.sink.len;
        f(self);
        let size = self.sink.len.saturating_sub(before);
        self.plan.exempt = self.plan.exempt.saturating_add(size);
    }

    /// Starts a form pair: `name` is `pair!`'s `&name=`.
    #[inline]
    pub fn form_name(&mut self, name: &str) {
        self.separated(name.as_bytes());
    }

    /// A form value, percent-encoded and tracked.
    fn form_value(&mut self, field: Field, value: &str) {
        let before = self.sink.len;
        self.sink.put_form(value.as_bytes());
        self.track(field, before);
    }

    /// `name=value`, value percent-encoded.
    pub fn form_str(&mut self, name: &str, field: Field, value: &str) {
        self.form_name(name);
        self.form_value(field, value);
    }

    /// `name=value` when `value` is set; nothing otherwise.
    pub fn opt_form_str(&mut self, name: &str, field: Field, value: &str) {
        if !value.is_empty() {
            self.form_str(name, field, value);
        }
    }

    /// `name=value` with the value joined from segments, percent-encoded
    /// (not cuttable; Xiaomi `extra.sound_uri`).
    pub fn form_str_segments<'a>(
        &mut self,
        name: &str,
        field: Field,
        segments: impl Iterator<Item = &'a str>,
    ) {
        self.form_name(name);
        let before = self.sink.len;
        segments.for_each(|s| self.sink.put_form(s.as_bytes()));
        self.track(field, before);
    }

    /// `name=<digits>`: digits need no percent-encoding.
    pub fn form_u64(&mut self, name: &str, value: u64) {
        self.form_name(name);
        self.u64(value);
    }

    /// `name=<digits>`, with a `-` that needs no percent-encoding either.
    pub fn form_i64(&mut self, name: &str, value: i64) {
        self.form_name(name);
        self.sink.put(Decimal::i64(value).as_bytes());
    }

    /// `name=<text>` for a cuttable text, percent-encoded, not JSON-escaped.
    pub fn form_text<'a, I>(&mut self, name: &str, slot: Slot, text: Text<I>)
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.form_name(name);
        let before = self.sink.len;
        let kept = self.kept(slot, &text, Code::Form);
        self.put_cut(text.segments, kept, Code::Form);
        self.measure(slot, before, Code::Form, kept);
    }

    /// `name=<JSON>`: a JSON document written by `f`, percent-encoded as a
    /// form value as it is written (OPPO `message`, Meizu `messageJson`).
    pub fn form_json(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.form_name(name);
        self.sink.form = true;
        let result = f(self);
        self.sink.form = false;
        result
    }
}

/// Whether the joined segments stay within `limit`'s units.
fn segments_within<'a>(segments: impl Iterator<Item = &'a str>, limit: CharLimit) -> bool {
    let mut units = 0usize;
    for segment in segments {
        units = units.saturating_add(limit.counter.count(segment));
        if units > limit.max {
            return false;
        }
    }
    true
}

/// How many bytes `bytes` opens with that are printable ASCII (`' '..='~'`):
/// sixteen at a time while they all are (a fold over a fixed-size array,
/// which compilers turn into a few vector compares), then one at a time.
fn printable_run(bytes: &[u8]) -> usize {
    let printable = |b: u8| b.wrapping_sub(b' ') < 0x5f;
    let mut n = 0;
    while let Some(chunk) = bytes.get(n..).and_then(<[u8]>::first_chunk::<16>) {
        let all = chunk.iter().fold(true, |all, &b| all & printable(b));
        if !all {
            break;
        }
        n += 16;
    }
    let rest = bytes.get(n..).unwrap_or_default();
    n + rest.iter().take_while(|&&b| printable(b)).count()
}

/// The source bytes to keep so that `prefix + …` fits `limit` and `budget`
/// (bytes in the payload, chars encoded by `code`), or `None` when the
/// whole text fits.
fn plan_cut<'a, I>(
    segments: I,
    limit: Option<CharLimit>,
    budget: Option<usize>,
    code: Code,
) -> Option<usize>
where
    I: Iterator<Item = &'a str> + Clone,
{
    match (limit, budget) {
        (None, None) => return None,
        // Only a char cap: most texts are well inside it, and counting is
        // far cheaper than walking chars with their encoded costs.
        (Some(l), None) if segments_within(segments.clone(), l) => return None,
        _ => {}
    }
    let max_units = limit.map_or(usize::MAX, |l| l.max);
    let max_bytes = budget.unwrap_or(usize::MAX);
    let ellipsis = ELLIPSIS.chars().next().unwrap_or('.');
    let ellipsis_units = limit.map_or(0, |l| l.counter.units(ellipsis));
    let ellipsis_bytes = char_cost(ellipsis, code);
    let (mut units, mut bytes, mut kept, mut best) = (0usize, 0usize, 0usize, 0usize);
    // Clusters run across segments: `Ann:` + a text opening with U+0301
    // makes `:\u{301}` one user-perceived character.
    let mut clusters = Boundaries::default();
    for segment in segments {
        let mut rest = segment;
        while !rest.is_empty() {
            // Under a char cap alone, a run of printable ASCII is counted
            // whole: each char is one unit in every counter and, but for
            // the first (after a Prepend), a cluster boundary.
            let run = match budget {
                None => printable_run(rest.as_bytes()),
                Some(_) => 0,
            };
            if run > 0 {
                let first = clusters.before(' ');
                // The last char of the run that could end the kept text.
                if let Some(last) = max_units.checked_sub(ellipsis_units) {
                    let last = last.min(units + run - 1);
                    if last > units || (last == units && first) {
                        best = kept + (last - units);
                    }
                }
                if units.saturating_add(run) > max_units {
                    return Some(best);
                }
                units += run;
                kept += run;
                rest = rest.get(run..).unwrap_or_default();
                continue;
            }
            let Some(c) = rest.chars().next() else {
                break;
            };
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
            // Only a cluster boundary may end the kept text, so what is
            // kept is whole user-perceived characters (UAX #29).
            if clusters.before(c)
                && units.saturating_add(ellipsis_units) <= max_units
                && bytes.saturating_add(ellipsis_bytes) <= max_bytes
            {
                best = kept;
            }
            units = units.saturating_add(limit.map_or(0, |l| l.counter.units(c)));
            if budget.is_some() {
                bytes = bytes.saturating_add(char_cost(c, code));
            }
            kept = kept.saturating_add(c.len_utf8());
            if units > max_units || bytes > max_bytes {
                return Some(best);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{form_kept, kept_as, Decimal, FORM};

    #[test]
    fn escape_candidates_mark_exactly_the_escaped_bytes_among_clean_ones() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let marked = super::escape_candidates(u64::from_le_bytes(word));
                let expected = if super::escape_class(b) != 0 {
                    0x80 << (8 * at)
                } else {
                    0
                };
                assert_eq!(marked, expected, "{b:#04x} at {at}");
            }
        }
    }

    /// The word tables the long path stores from say what the byte path
    /// writes, for every byte of both tables.
    #[cfg(not(target_os = "none"))]
    #[test]
    fn percent_words_are_the_byte_encodings() {
        for table in [&FORM, &super::URI] {
            for b in 0..=255u8 {
                let mut narrow = [0u8; 8];
                let mut sink = super::Sink {
                    buf: &mut narrow,
                    len: 0,
                    form: true,
                };
                sink.percent(table, &[b]);
                let len = sink.len;
                let word = table.codes[usize::from(b)].to_le_bytes();
                assert_eq!(usize::from(word[3]), len, "{b:#04x}");
                assert_eq!(word[..len], narrow[..len], "{b:#04x}");
            }
        }
    }

    #[test]
    fn padded_block_is_the_rest_then_padding() {
        let text: [u8; 32] = core::array::from_fn(|k| b'A' + k as u8);
        for n in 0..32 {
            let mut expected = [b'a'; 32];
            expected[..n].copy_from_slice(&text[..n]);
            assert_eq!(super::padded_block(&text[..n]), expected, "{n} bytes");
        }
    }

    #[test]
    fn form_kept_is_the_form_table() {
        for b in 0..=255u8 {
            assert_eq!(form_kept(b), kept_as(&FORM, b) != 0, "{b:#04x}");
        }
    }

    #[test]
    fn decimal_matches_itoa_at_every_width_and_edge() {
        let mut power = 1u64;
        for _ in 0..19 {
            for v in [power - 1, power, power + 1, power * 9 + 9] {
                assert_eq!(Decimal::u64(v).as_str(), itoa::Buffer::new().format(v));
                let signed = i64::try_from(v).unwrap();
                for s in [signed, -signed] {
                    assert_eq!(Decimal::i64(s).as_str(), itoa::Buffer::new().format(s));
                }
            }
            power *= 10;
        }
        for v in [u64::MAX - 1, u64::MAX] {
            assert_eq!(Decimal::u64(v).as_str(), itoa::Buffer::new().format(v));
        }
        for v in [i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(Decimal::i64(v).as_str(), itoa::Buffer::new().format(v));
        }
    }
}
