//! Fixed-buffer writers: JSON, `application/x-www-form-urlencoded`, JSON
//! inside a form value, and the cut that fits text into a provider's limits.
//!
//! Writing never fails and never allocates: a [`Sink`] counts every byte it
//! is given and stores those that fit. A renderer therefore runs once
//! optimistically into the caller's buffer; only when the count says the
//! payload is over the limit does [`fit`] run it a second time with byte
//! budgets for the body (then the title), computed from the first run's
//! measurements. The result uses as much of the limit as it can and never
//! more (vendors.md §10.1).

use crate::error::{Error, Field};
use crate::grapheme::Boundaries;

/// The ellipsis that ends a cut text (U+2026: 3 bytes, 1 char).
pub const ELLIPSIS: &str = "\u{2026}";

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

/// Where encoded bytes go. Every sink counts what it is given, stored or not.
pub trait Sink {
    /// Appends `bytes` (already encoded by any outer layer).
    fn put(&mut self, bytes: &[u8]);
    /// What `bytes` cost at the bottom of this sink stack.
    fn cost(bytes: &[u8]) -> usize;
    /// Bytes counted so far at the bottom of the stack.
    fn count(&self) -> usize;
}

impl<S: Sink> Sink for &mut S {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        (**self).put(bytes);
    }
    #[inline]
    fn cost(bytes: &[u8]) -> usize {
        S::cost(bytes)
    }
    #[inline]
    fn count(&self) -> usize {
        (**self).count()
    }
}

/// The caller's buffer. Bytes past its end are counted, not stored, so
/// `count() > capacity` means the output did not fit.
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceSink { buf, len: 0 }
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let dst = self.buf.get_mut(self.len..);
        if let Some(dst) = dst.and_then(|rest| rest.get_mut(..bytes.len())) {
            copy(dst, bytes);
        }
        self.len = self.len.saturating_add(bytes.len());
    }
    #[inline]
    fn cost(bytes: &[u8]) -> usize {
        bytes.len()
    }
    #[inline]
    fn count(&self) -> usize {
        self.len
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length, without its
/// length-mismatch panic: at `opt-level = "z"` that check sits in an
/// out-of-line function the optimiser cannot drop, which fails the firmware
/// link (core/examples/firmware.rs). A zipped copy still compiles to memcpy.
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Counts without storing: sizes a payload before it is written.
#[derive(Debug, Default)]
pub struct CountSink(usize);

impl Sink for CountSink {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
    #[inline]
    fn cost(bytes: &[u8]) -> usize {
        bytes.len()
    }
    #[inline]
    fn count(&self) -> usize {
        self.0
    }
}

/// Percent-encodes everything put through it (WHATWG urlencoded serializer:
/// `A-Z a-z 0-9 * - . _` kept, space as `+`, the rest `%XX` uppercase).
/// Its output is ASCII, which every inner sink stores one-for-one.
#[derive(Debug)]
pub struct FormEnc<S>(pub S);

#[inline]
const fn form_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

impl<S: Sink> Sink for FormEnc<S> {
    fn put(&mut self, bytes: &[u8]) {
        percent_encode::<S, true>(&mut self.0, bytes, form_unreserved);
    }
    fn cost(bytes: &[u8]) -> usize {
        percent_encoded_len::<true>(bytes, form_unreserved)
    }
    #[inline]
    fn count(&self) -> usize {
        self.0.count()
    }
}

/// Percent-encodes everything put through it as an Android intent URI
/// value, which `Intent.parseUri` decodes with `Uri.decode` (no `+` for
/// space): RFC 3986 unreserved `A-Z a-z 0-9 - . _ ~` kept, the rest `%XX`
/// uppercase. Its output is ASCII that needs no JSON escaping.
#[derive(Debug)]
pub struct UriEnc<S>(pub S);

#[inline]
const fn uri_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

impl<S: Sink> Sink for UriEnc<S> {
    fn put(&mut self, bytes: &[u8]) {
        percent_encode::<S, false>(&mut self.0, bytes, uri_unreserved);
    }
    fn cost(bytes: &[u8]) -> usize {
        percent_encoded_len::<false>(bytes, uri_unreserved)
    }
    #[inline]
    fn count(&self) -> usize {
        self.0.count()
    }
}

/// Bytes of percent-encoded output staged before they go to the sink.
const PERCENT_STAGE: usize = 128;

/// Percent-encodes `bytes` into `sink`: bytes `keep` accepts as they are,
/// space as `+` when `SPACE_AS_PLUS`, the rest `%XX` (uppercase). Output is
/// staged on the stack and handed over in blocks: JSON inside a form value
/// is mostly bytes to encode, and a sink call per byte made form bodies slow.
#[inline]
fn percent_encode<S: Sink, const SPACE_AS_PLUS: bool>(
    sink: &mut S,
    bytes: &[u8],
    keep: impl Fn(u8) -> bool,
) {
    let mut stage = [0u8; PERCENT_STAGE];
    let mut len = 0;
    for &b in bytes {
        if len + 3 > PERCENT_STAGE {
            sink.put(stage.get(..len).unwrap_or_default());
            len = 0;
        }
        if keep(b) || (SPACE_AS_PLUS && b == b' ') {
            if let Some(slot) = stage.get_mut(len) {
                *slot = if b == b' ' { b'+' } else { b };
            }
            len += 1;
        } else {
            if let Some([pct, hi, lo]) = stage.get_mut(len..len + 3) {
                *pct = b'%';
                *hi = HEX_UPPER.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = HEX_UPPER.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
            }
            len += 3;
        }
    }
    sink.put(stage.get(..len).unwrap_or_default());
}

/// The length [`percent_encode`] gives `bytes`.
#[inline]
fn percent_encoded_len<const SPACE_AS_PLUS: bool>(
    bytes: &[u8],
    keep: impl Fn(u8) -> bool,
) -> usize {
    bytes.iter().fold(0usize, |n, &b| {
        let as_is = keep(b) || (SPACE_AS_PLUS && b == b' ');
        n.saturating_add(if as_is { 1 } else { 3 })
    })
}

/// One piece of a JSON string written by [`Writer::string_parts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// JSON-escaped as is.
    Plain(&'a str),
    /// Percent-encoded by [`UriEnc`] (Huawei intent extras).
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

    /// Units a whole string takes.
    pub fn count(self, s: &str) -> usize {
        match self {
            Counter::Scalars => s.chars().count(),
            _ => s
                .chars()
                .fold(0usize, |n, c| n.saturating_add(self.units(c))),
        }
    }
}

/// A per-field character cap: at most `max` units, counted by `counter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharLimit {
    pub counter: Counter,
    pub max: usize,
}

// JSON string escapes (vendors.md §10.4). 0 = as is, 1 = lead byte of a
// possible U+2028/U+2029, b'u' = \u00XX, anything else = that two-char escape.
// Built at compile time: an out-of-range index here fails the build, never a run.
#[allow(clippy::indexing_slicing)]
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
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
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    control
        | zero_byte(x ^ (ONES * u64::from(b'"')))
        | zero_byte(x ^ (ONES * u64::from(b'\\')))
        | zero_byte(x ^ (ONES * 0xe2))
}

/// Writes `s` JSON-escaped (without quotes), copying unescaped runs whole.
/// Clean text is skipped eight bytes at a time (SWAR, no `unsafe`): this is
/// the hot path of every render.
fn put_escaped<S: Sink>(sink: &mut S, s: &str) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while let Some(chunk) = bytes
        .get(i..i + 8)
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
    {
        let mut candidates = escape_candidates(u64::from_le_bytes(chunk));
        while candidates != 0 {
            let at = i + (candidates.trailing_zeros() / 8) as usize;
            escape_at(sink, bytes, at, &mut run_start);
            candidates &= candidates - 1;
        }
        i += 8;
    }
    while i < bytes.len() {
        i = escape_at(sink, bytes, i, &mut run_start);
    }
    sink.put(bytes.get(run_start..).unwrap_or_default());
}

/// Escapes the byte at `i` if the table says so (a candidate may not need
/// it), flushing the unescaped run before it; returns where the next byte
/// starts. Bytes before `run_start` (the tail of an escaped U+2028) are
/// already written.
#[inline]
fn escape_at<S: Sink>(sink: &mut S, bytes: &[u8], i: usize, run_start: &mut usize) -> usize {
    let b = bytes.get(i).copied().unwrap_or(0);
    let class = escape_class(b);
    if class == 0 || i < *run_start {
        return i + 1;
    }
    let escape: &[u8] = match class {
        // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; any other E2 is as is.
        1 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x80), Some(0xa8)) => b"\\u2028",
            (Some(0x80), Some(0xa9)) => b"\\u2029",
            _ => return i + 1,
        },
        b'u' => {
            let hi = HEX_UPPER.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX_UPPER.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
            sink.put(bytes.get(*run_start..i).unwrap_or_default());
            sink.put(&[b'\\', b'u', b'0', b'0', hi, lo]);
            *run_start = i + 1;
            return i + 1;
        }
        _ => &[b'\\', class],
    };
    sink.put(bytes.get(*run_start..i).unwrap_or_default());
    sink.put(escape);
    // The escape replaces the whole char: 3 bytes for U+2028/9, else 1.
    let next = i + if class == 1 { 3 } else { 1 };
    *run_start = next;
    next
}

/// What one char costs JSON-escaped, at the bottom of sink stack `S`.
#[inline]
fn escaped_char_cost<S: Sink>(c: char) -> usize {
    let mut utf8 = [0u8; 4];
    let encoded = c.encode_utf8(&mut utf8);
    // Only ASCII controls, `"`, `\` and U+2028/9 are escaped: skip the
    // escaper for every other char (the cut asks this once per char).
    if !matches!(c, '\0'..='\x1f' | '"' | '\\' | '\u{2028}' | '\u{2029}') {
        return S::cost(encoded.as_bytes());
    }
    let mut escaped = EscapeBuf::default();
    put_escaped(&mut escaped, encoded);
    S::cost(escaped.as_bytes())
}

/// A tiny sink for one escaped char (at most 6 bytes).
#[derive(Default)]
struct EscapeBuf {
    bytes: [u8; 8],
    len: usize,
}

impl EscapeBuf {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl Sink for EscapeBuf {
    fn put(&mut self, bytes: &[u8]) {
        let dst = self.bytes.get_mut(self.len..);
        if let Some(dst) = dst.and_then(|rest| rest.get_mut(..bytes.len())) {
            copy(dst, bytes);
            self.len = self.len.saturating_add(bytes.len());
        }
    }
    fn cost(bytes: &[u8]) -> usize {
        bytes.len()
    }
    fn count(&self) -> usize {
        self.len
    }
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
    /// The encoded ellipsis: the least a cut slot can shrink to.
    floor: usize,
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
    /// The largest uncuttable string, named when nothing else can give.
    largest: Option<(Field, usize)>,
}

impl Plan {
    fn slot(&mut self, slot: Slot) -> &mut SlotPlan {
        match slot {
            Slot::Body => &mut self.slots[0],
            Slot::Title => &mut self.slots[1],
        }
    }

    /// Spreads a byte excess over the body, then the title.
    fn assign_budgets(&mut self, excess: usize) -> Result<(), Error> {
        let mut left = excess;
        for slot in SLOTS {
            let plan = self.slot(slot);
            let reducible = plan.measured.saturating_sub(plan.floor);
            let cut = left.min(reducible);
            if cut > 0 {
                plan.budget = Some(plan.measured - cut);
                left -= cut;
            }
        }
        if left > 0 {
            return Err(Error::TooLong(
                self.largest.map_or(Field::Payload, |(f, _)| f),
            ));
        }
        Ok(())
    }

    fn start_emitting(&mut self) {
        self.exempt = 0;
        self.largest = None;
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

/// A provider payload's layout, written once for both runs of [`fit`].
pub trait Layout {
    fn write<S: Sink>(&self, w: &mut Writer<'_, S>) -> Result<(), Error>;
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
        plan.assign_budgets(total - allowed)?;
        plan.start_emitting();
        let total = run(layout, buf, &mut plan)?;
        if total > allowed {
            return Err(Error::TooLong(Field::Payload));
        }
        return Ok(plan.fitted(total));
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

fn run<L: Layout + ?Sized>(layout: &L, buf: &mut [u8], plan: &mut Plan) -> Result<usize, Error> {
    let mut w = Writer::new(SliceSink::new(buf), plan);
    layout.write(&mut w)?;
    Ok(w.sink.count())
}

/// A cuttable text: segments joined with nothing between them.
#[derive(Clone, Copy, Debug)]
pub struct Text<I> {
    pub segments: I,
    pub limit: Option<CharLimit>,
}

/// Writes JSON and form structure into a sink. Keys are static ASCII.
#[derive(Debug)]
pub struct Writer<'p, S> {
    sink: S,
    plan: &'p mut Plan,
    /// No member written yet in the innermost open object, array or form.
    first: bool,
}

impl<'p, S: Sink> Writer<'p, S> {
    pub fn new(sink: S, plan: &'p mut Plan) -> Self {
        Writer {
            sink,
            plan,
            first: true,
        }
    }

    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.sink.put(bytes);
    }

    #[inline]
    pub fn begin_object(&mut self) {
        self.sink.put(b"{");
        self.first = true;
    }

    #[inline]
    pub fn end_object(&mut self) {
        self.sink.put(b"}");
        self.first = false;
    }

    #[inline]
    pub fn begin_array(&mut self) {
        self.sink.put(b"[");
        self.first = true;
    }

    #[inline]
    pub fn end_array(&mut self) {
        self.sink.put(b"]");
        self.first = false;
    }

    #[inline]
    fn separate(&mut self, separator: &[u8]) {
        if !self.first {
            self.sink.put(separator);
        }
        self.first = false;
    }

    /// Starts an object member: `,"key":`.
    #[inline]
    pub fn key(&mut self, key: &str) {
        self.separate(b",");
        self.sink.put(b"\"");
        self.sink.put(key.as_bytes());
        self.sink.put(b"\":");
    }

    /// Starts an array element.
    #[inline]
    pub fn element(&mut self) {
        self.separate(b",");
    }

    /// Remembers the largest uncuttable field written since `before`, to
    /// name it when even the shortest texts cannot make the payload fit.
    #[inline]
    fn track(&mut self, field: Field, before: usize) {
        let size = self.sink.count().saturating_sub(before);
        if self.plan.largest.is_none_or(|(_, n)| size > n) {
            self.plan.largest = Some((field, size));
        }
    }

    /// A JSON string, tracked so that an overlong one can be named.
    pub fn string(&mut self, field: Field, value: &str) {
        let before = self.sink.count();
        self.sink.put(b"\"");
        put_escaped(&mut self.sink, value);
        self.sink.put(b"\"");
        self.track(field, before);
    }

    /// A JSON string joined from segments (not cuttable).
    pub fn string_segments<'a>(&mut self, field: Field, segments: impl Iterator<Item = &'a str>) {
        let before = self.sink.count();
        self.sink.put(b"\"");
        for segment in segments {
            put_escaped(&mut self.sink, segment);
        }
        self.sink.put(b"\"");
        self.track(field, before);
    }

    /// `"key":"value"`.
    pub fn str_member(&mut self, key: &str, field: Field, value: &str) {
        self.key(key);
        self.string(field, value);
    }

    /// `"key":"value"` when `value` is set (non-empty); nothing otherwise.
    pub fn opt_str_member(&mut self, key: &str, field: Field, value: &str) {
        if !value.is_empty() {
            self.str_member(key, field, value);
        }
    }

    pub fn u64(&mut self, value: u64) {
        self.sink.put(Decimal::u64(value).as_bytes());
    }

    pub fn i64(&mut self, value: i64) {
        self.sink.put(Decimal::i64(value).as_bytes());
    }

    pub fn u64_member(&mut self, key: &str, value: u64) {
        self.key(key);
        self.u64(value);
    }

    pub fn bool_member(&mut self, key: &str, value: bool) {
        self.key(key);
        self.sink.put(if value { b"true" } else { b"false" });
    }

    /// `"key":"<seconds>s"`: a protobuf `Duration` in its JSON form (FCM,
    /// Huawei and Honor `android.ttl`).
    pub fn duration_member(&mut self, key: &str, seconds: u64) {
        self.key(key);
        self.sink.put(b"\"");
        self.u64(seconds);
        self.sink.put(b"s\"");
    }

    /// A JSON string joined from parts, each JSON-escaped or
    /// percent-encoded (not cuttable), tracked like [`Writer::string`].
    pub fn string_parts(&mut self, field: Field, parts: &[Part<'_>]) {
        let before = self.sink.count();
        self.sink.put(b"\"");
        for part in parts {
            match *part {
                Part::Plain(s) => put_escaped(&mut self.sink, s),
                Part::Uri(s) => UriEnc(&mut self.sink).put(s.as_bytes()),
            }
        }
        self.sink.put(b"\"");
        self.track(field, before);
    }

    /// A cuttable text as a JSON string. Each slot is written once per run.
    pub fn text<'a, I>(&mut self, slot: Slot, text: Text<I>)
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.sink.put(b"\"");
        let before = self.sink.count();
        let budget = self.plan.slot(slot).budget;
        let kept = plan_cut::<S, I>(text.segments.clone(), text.limit, budget);
        match kept {
            None => {
                for segment in text.segments {
                    put_escaped(&mut self.sink, segment);
                }
            }
            Some(mut left) => {
                for segment in text.segments {
                    if left == 0 {
                        break;
                    }
                    let part = segment.get(..left.min(segment.len())).unwrap_or_default();
                    put_escaped(&mut self.sink, part);
                    left -= part.len();
                }
                put_escaped(&mut self.sink, ELLIPSIS);
            }
        }
        let plan = self.plan.slot(slot);
        plan.measured = plan
            .measured
            .saturating_add(self.sink.count().saturating_sub(before));
        plan.floor = S::cost(ELLIPSIS.as_bytes());
        plan.kept = kept;
        self.sink.put(b"\"");
    }

    /// `"key":"text"` for a cuttable text.
    pub fn text_member<'a, I>(&mut self, key: &str, slot: Slot, text: Text<I>)
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.key(key);
        self.text(slot, text);
    }

    /// Writes through `f` with the bytes exempt from the provider's limit.
    pub fn exempt(&mut self, f: impl FnOnce(&mut Self)) {
        let before = self.sink.count();
        f(self);
        let size = self.sink.count().saturating_sub(before);
        self.plan.exempt = self.plan.exempt.saturating_add(size);
    }

    /// Starts a form pair: `&name=`.
    #[inline]
    pub fn form_name(&mut self, name: &str) {
        self.separate(b"&");
        FormEnc(&mut self.sink).put(name.as_bytes());
        self.sink.put(b"=");
    }

    /// `name=value`, value percent-encoded.
    pub fn form_str(&mut self, name: &str, field: Field, value: &str) {
        self.form_name(name);
        let before = self.sink.count();
        FormEnc(&mut self.sink).put(value.as_bytes());
        self.track(field, before);
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
        let before = self.sink.count();
        let mut form = FormEnc(&mut self.sink);
        segments.for_each(|s| form.put(s.as_bytes()));
        self.track(field, before);
    }

    pub fn form_u64(&mut self, name: &str, value: u64) {
        self.form_name(name);
        self.u64(value);
    }

    pub fn form_i64(&mut self, name: &str, value: i64) {
        self.form_name(name);
        FormEnc(&mut self.sink).put(Decimal::i64(value).as_bytes());
    }

    /// `name=<text>` for a cuttable text, percent-encoded, not JSON-escaped.
    pub fn form_text<'a, I>(&mut self, name: &str, slot: Slot, text: Text<I>)
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.form_name(name);
        let before = self.sink.count();
        let budget = self.plan.slot(slot).budget;
        let kept = plan_cut_with(text.segments.clone(), text.limit, budget, |c| {
            let mut utf8 = [0u8; 4];
            FormEnc::<CountSink>::cost(c.encode_utf8(&mut utf8).as_bytes())
        });
        let ellipsis_cost = FormEnc::<CountSink>::cost(ELLIPSIS.as_bytes());
        let mut form = FormEnc(&mut self.sink);
        match kept {
            None => text.segments.for_each(|s| form.put(s.as_bytes())),
            Some(mut left) => {
                for segment in text.segments {
                    if left == 0 {
                        break;
                    }
                    let part = segment.get(..left.min(segment.len())).unwrap_or_default();
                    form.put(part.as_bytes());
                    left -= part.len();
                }
                form.put(ELLIPSIS.as_bytes());
            }
        }
        let plan = self.plan.slot(slot);
        plan.measured = plan
            .measured
            .saturating_add(self.sink.count().saturating_sub(before));
        plan.floor = ellipsis_cost;
        plan.kept = kept;
    }

    /// `name=<JSON>`: a JSON document written by `f`, percent-encoded as a
    /// form value (OPPO `message`, Meizu `messageJson`).
    pub fn form_json(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Writer<'_, FormEnc<&mut S>>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.form_name(name);
        let mut inner = Writer::new(FormEnc(&mut self.sink), &mut *self.plan);
        f(&mut inner)
    }
}

/// The source bytes to keep so that `prefix + …` fits `limit` and `budget`
/// (bytes at the bottom of `S`), or `None` when the whole text fits.
fn plan_cut<'a, S: Sink, I>(
    segments: I,
    limit: Option<CharLimit>,
    budget: Option<usize>,
) -> Option<usize>
where
    I: Iterator<Item = &'a str> + Clone,
{
    plan_cut_with(segments, limit, budget, escaped_char_cost::<S>)
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

fn plan_cut_with<'a, I>(
    segments: I,
    limit: Option<CharLimit>,
    budget: Option<usize>,
    char_cost: impl Fn(char) -> usize,
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
    let ellipsis_bytes = char_cost(ellipsis);
    let (mut units, mut bytes, mut kept, mut best) = (0usize, 0usize, 0usize, 0usize);
    // Clusters run across segments: `Ann:` + a text opening with U+0301
    // makes `:\u{301}` one user-perceived character.
    let mut clusters = Boundaries::default();
    for segment in segments {
        for c in segment.chars() {
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
                bytes = bytes.saturating_add(char_cost(c));
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
    use super::Decimal;

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
