//! The case format (case-format.md) read without `std` or an allocator
//! (feature `json`): serde-json-core parses, fixed storage holds the elems
//! and mentions, and [`Ingested::case`] lends the core's borrowed model.
//!
//! ```
//! use tidings_core::ingest::{self, Defaults};
//! use tidings_core::{decide, Decision};
//!
//! let json = br#"{
//!   "Message": { "From_Account": "ann", "To_Account": "bob",
//!     "MsgBody": [ { "MsgType": "TIMTextElem", "MsgContent": { "Text": "\"hi\" \uD83D\uDE00" } } ] },
//!   "Sender": { "Nick": "Ann" },
//!   "Recipient": { "Account": "bob",
//!     "Device": { "Channel": "apns", "Token": "a1b2", "State": "background" } } }"#;
//! // Escaped strings are unescaped into the scratch buffer; a scratch as
//! // long as the input always suffices.
//! let mut scratch = [0u8; 64];
//! let defaults = Defaults { now: 1_795_236_000, ..Defaults::default() };
//! let ingested = ingest::parse(json, &mut scratch, defaults).unwrap();
//! let case = ingested.case();
//! let Ok(Decision::Push(n)) = decide(&case) else { panic!() };
//! assert_eq!(n.body().segments().collect::<String>(), "Ann:\"hi\" 😀");
//! ```
//!
//! Every key, default and error rule is the std ingest's
//! (`tidings_std::ingest`, the reference): PascalCase keys, unknown keys
//! ignored, a known key with a wrong type refused, `null` for an optional
//! key the same as leaving it out, exactly one of `To_Account` and
//! `GroupId`, `Group` required with `GroupId`, `Now` and empty `App` keys
//! taken from the caller's [`Defaults`]. Errors are [`IngestError`]: a
//! small `Copy` enum naming the key ([`Field`]) without its array index.
//!
//! Decisions the std side does not face:
//! - Strings without a backslash are borrowed from the input. A string
//!   with escapes (`\"`, `\n`, `\uXXXX`, a surrogate pair) is unescaped
//!   into the caller's scratch buffer, one after another; when it does not
//!   fit, the error is [`IngestError::ScratchFull`] naming the key. The
//!   escapes are decoded here rather than by serde-json-core, whose own
//!   unescaping rejects surrogate pairs and lends the result only for the
//!   length of a visitor call, too short for a borrowed model.
//! - The whole input is first checked to be one RFC 8259 object by
//!   [`crate::json::is_json_object`]; that pass also caps nesting at
//!   [`crate::json::MAX_DEPTH`] (32; serde_json allows 128), which bounds
//!   serde-json-core's recursion and so the stack.
//! - Elems go into fixed storage: [`MAX_ELEMS`] (240, the most a 12 KB
//!   message holds) by default, or the caller's `ELEMS` with
//!   [`Ingested::parse`]. More is [`IngestError::TooMany`]; the std side and
//!   [`crate::decide()`] take any number.
//! - `GroupAtInfo` and `SendMsgControl` are not stored: they are folded
//!   while read, into the one mention the rules read
//!   ([`crate::decide::relevant_mention`]: `@all`, else the recipient's own
//!   entry) and the `WithMuteNotifications` flag, so any number is read.
//!   Matching a mention needs `Recipient.Account`. When `Recipient` comes
//!   before `Message` in the input, the account is already read; otherwise
//!   (the case format's own order) the first account mention makes the
//!   ingest skim the input once for `Recipient.Account`, skipping the rest.
//!   Key order changes only that cost, never the result. The lent case's
//!   mention list is that one entry or empty, which decides the same as
//!   the whole list (the std side lends the whole list).
//! - An enum value (`Channel`, `State`, `Origin`, `Group.Type`, `Locale`)
//!   is read only as a JSON string; serde_json also takes the externally
//!   tagged form `{"apns": null}`, which the case format never uses.
//! - An integer written `-0` is 0 here; serde_json reads it as the float
//!   -0.0 and so refuses it for the i64 keys (`Now`, `Dnd.StartTimeStamp`).

use core::fmt;
use core::marker::PhantomData;

use heapless::Vec;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::decide::fold_mention;
use crate::error::Field;
use crate::model::{
    AndroidInfo, ApnsInfo, App, Case, Channel, Conversation, CustomElem, Device, DeviceState,
    DndWindow, Elem, Group, GroupType, Locale, Mention, Message, Origin, PushInfo, ReceiveOpt,
    Recipient, Sender, MAX_ELEMS,
};

/// Default zone of a daily do-not-disturb window: UTC+8, Tencent's home
/// zone (push-rules OQ-13), as on the std side.
pub const DEFAULT_DND_UTC_OFFSET: i32 = 8 * 3600;

/// Why a case cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IngestError {
    /// Not UTF-8, not exactly one JSON object (RFC 8259), or nested deeper
    /// than [`crate::json::MAX_DEPTH`].
    Syntax,
    /// The key holds the wrong JSON type.
    Type(Field),
    /// A required key is missing.
    Missing(Field),
    /// The value is not one the key allows: an unknown name, a number out
    /// of range, a bad clock, or both or neither of an exclusive pair.
    Invalid(Field),
    /// The key appears twice in one object.
    Duplicate(Field),
    /// More entries than the model holds.
    TooMany(Field),
    /// An escaped string does not fit what is left of the scratch buffer.
    ScratchFull(Field),
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, what) = match *self {
            IngestError::Syntax => return f.write_str("not one JSON object"),
            IngestError::Type(field) => (field, "wrong type"),
            IngestError::Missing(field) => (field, "required"),
            IngestError::Invalid(field) => (field, "invalid value"),
            IngestError::Duplicate(field) => (field, "given twice"),
            IngestError::TooMany(field) => (field, "more entries than the model holds"),
            IngestError::ScratchFull(field) => (field, "does not fit the scratch buffer"),
        };
        write!(f, "{}: {what}", field.key())
    }
}

/// What the caller supplies for keys a case may leave out: the clock for
/// a missing `Now`, and the app identity for missing or empty `App` keys
/// (the std side's `--now` and `--bundle-id`/`--package-name`/`--badge-class`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Defaults<'d> {
    /// Unix seconds.
    pub now: i64,
    pub app: App<'d>,
}

/// A case read into fixed storage of `ELEMS` elems (by default
/// [`MAX_ELEMS`]); [`Ingested::case`] lends it.
///
/// On a 32-bit target (`thumbv7em-none-eabihf`) an elem takes 28 bytes:
/// the default `Ingested` is 7,088 bytes (6,720 of them elems), an
/// `Ingested<32>` 1,264.
#[derive(Clone, Debug)]
pub struct Ingested<'a, const ELEMS: usize = MAX_ELEMS> {
    elems: Vec<Elem<'a>, ELEMS>,
    /// The one mention the rules read (`@all` or the recipient's).
    mention: Option<Mention<'a>>,
    /// Everything but the two slices, which point into `self`.
    case: Case<'a>,
}

impl<'a, const ELEMS: usize> Ingested<'a, ELEMS> {
    /// The case, borrowing the elems and the mention from `self`.
    pub fn case(&self) -> Case<'_> {
        let mut case: Case<'_> = self.case;
        case.message.elems = &self.elems;
        case.message.mentions = self.mention.as_slice();
        case
    }

    /// [`parse`] with room for `ELEMS` elems, e.g.
    /// `Ingested::<32>::parse(json, &mut scratch, defaults)`.
    pub fn parse(
        json: &'a [u8],
        scratch: &'a mut [u8],
        defaults: Defaults<'a>,
    ) -> Result<Self, IngestError> {
        let text = core::str::from_utf8(json).map_err(|_| IngestError::Syntax)?;
        if !crate::json::is_json_object(text) {
            return Err(IngestError::Syntax);
        }
        let mut ctx = Ctx::new(json, scratch);
        let mut de = serde_json_core::de::Deserializer::new(json, None);
        let doc = match Obj::<CaseDoc<'a, ELEMS>>::new(&mut ctx).deserialize(&mut de) {
            Ok(doc) => doc,
            Err(error) => return Err(ctx.problem.unwrap_or_else(|| from_json(error, ctx.at))),
        };
        de.end().map_err(|_| IngestError::Syntax)?;
        lend(doc, defaults)
    }
}

/// Reads one case from `json` into [`MAX_ELEMS`] elems of storage. Strings
/// with escapes are unescaped into `scratch`; every other string is
/// borrowed from `json`.
pub fn parse<'a>(
    json: &'a [u8],
    scratch: &'a mut [u8],
    defaults: Defaults<'a>,
) -> Result<Ingested<'a>, IngestError> {
    Ingested::parse(json, scratch, defaults)
}

/// `Recipient.Account` as far as it is known while reading.
#[derive(Clone, Copy)]
enum Account<'a> {
    /// Not read yet.
    Unknown,
    /// Read (unescaped): `Recipient` came before `Message`.
    Read(&'a str),
    /// Found by skimming the input ahead: the string literal's contents,
    /// still escaped; `None` if there is none (the case is then refused).
    Skimmed(Option<&'a str>),
}

/// Whether the contents of a JSON string literal, `raw`, stand for `text`.
fn unescaped_eq(raw: &str, text: &str) -> bool {
    let (raw, mut text) = (raw.as_bytes(), text.as_bytes());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let mut utf8 = [0u8; 4];
        let (expect, used): (&[u8], usize) = if b == b'\\' {
            let Some((ch, used)) = escape(raw.get(i + 1..).unwrap_or_default()) else {
                return false;
            };
            (ch.encode_utf8(&mut utf8).as_bytes(), 1 + used)
        } else {
            (raw.get(i..=i).unwrap_or_default(), 1)
        };
        match text.strip_prefix(expect) {
            Some(rest) => text = rest,
            None => return false,
        }
        i += used;
    }
    text.is_empty()
}

/// `Recipient.Account` of the whole input, read without unescaping and
/// skipping everything else.
fn skim_account(json: &[u8]) -> Option<&str> {
    let mut ctx = Ctx::new(json, &mut []);
    let mut de = serde_json_core::de::Deserializer::new(json, None);
    Obj::<SkimCase<'_>>::new(&mut ctx)
        .deserialize(&mut de)
        .ok()
        .flatten()
}

/// A serde-json-core error at the key being read. The input is valid JSON
/// by then, so what is left is a value of the wrong type or range.
fn from_json(error: serde_json_core::de::Error, at: Option<Field>) -> IngestError {
    use serde_json_core::de::Error as E;
    match (error, at) {
        (_, None) => IngestError::Syntax,
        (E::InvalidNumber, Some(field)) => IngestError::Invalid(field),
        (_, Some(field)) => IngestError::Type(field),
    }
}

/// State shared by every visitor of one parse.
struct Ctx<'a> {
    /// The whole input, for [`skim_account`].
    input: &'a [u8],
    /// What is known of `Recipient.Account`, to match mentions against.
    account: Account<'a>,
    /// The part of the scratch buffer not yet lent.
    scratch: &'a mut [u8],
    /// The key whose value is being read.
    at: Option<Field>,
    /// The first error this module found (serde-json-core's error type
    /// cannot carry it).
    problem: Option<IngestError>,
}

impl<'a> Ctx<'a> {
    fn new(input: &'a [u8], scratch: &'a mut [u8]) -> Self {
        Ctx {
            input,
            account: Account::Unknown,
            scratch,
            at: None,
            problem: None,
        }
    }

    /// Whether `account` is the recipient's, skimming the input for
    /// `Recipient.Account` the first time it is not yet read.
    fn is_recipient(&mut self, account: &str) -> bool {
        if let Account::Unknown = self.account {
            self.account = Account::Skimmed(skim_account(self.input));
        }
        match self.account {
            Account::Read(recipient) => recipient == account,
            Account::Skimmed(Some(raw)) => unescaped_eq(raw, account),
            Account::Unknown | Account::Skimmed(None) => false,
        }
    }

    fn fail<E: de::Error>(&mut self, problem: IngestError) -> E {
        let first = *self.problem.get_or_insert(problem);
        E::custom(first)
    }

    fn field(&self) -> Field {
        self.at.unwrap_or(Field::Message)
    }

    /// The string a JSON string literal's contents stand for: borrowed when
    /// it has no escapes, else unescaped into the scratch buffer.
    fn text(&mut self, raw: &'a str) -> Result<&'a str, IngestError> {
        if !raw.as_bytes().contains(&b'\\') {
            return Ok(raw);
        }
        let buf = core::mem::take(&mut self.scratch);
        let len = match unescape(raw, buf) {
            Ok(len) => len,
            Err(Unescape::Full) => {
                self.scratch = buf;
                return Err(IngestError::ScratchFull(self.field()));
            }
            Err(Unescape::Bad) => {
                self.scratch = buf;
                return Err(IngestError::Invalid(self.field()));
            }
        };
        let Some((head, tail)) = buf.split_at_mut_checked(len) else {
            return Err(IngestError::ScratchFull(self.field()));
        };
        self.scratch = tail;
        let head: &'a [u8] = head;
        core::str::from_utf8(head).map_err(|_| IngestError::Invalid(self.field()))
    }
}

enum Unescape {
    Full,
    Bad,
}

/// Writes the unescaped contents of a JSON string literal into `out`,
/// returning the length.
fn unescape(raw: &str, out: &mut [u8]) -> Result<usize, Unescape> {
    let bytes = raw.as_bytes();
    let mut len = 0;
    let mut run = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            i += 1;
            continue;
        }
        put(out, &mut len, bytes.get(run..i).unwrap_or_default())?;
        let (ch, used) = escape(bytes.get(i + 1..).unwrap_or_default()).ok_or(Unescape::Bad)?;
        put(out, &mut len, ch.encode_utf8(&mut [0; 4]).as_bytes())?;
        i += 1 + used;
        run = i;
    }
    put(out, &mut len, bytes.get(run..).unwrap_or_default())?;
    Ok(len)
}

fn put(out: &mut [u8], len: &mut usize, bytes: &[u8]) -> Result<(), Unescape> {
    let end = len.checked_add(bytes.len()).ok_or(Unescape::Full)?;
    let dst = out.get_mut(*len..end).ok_or(Unescape::Full)?;
    // Not `copy_from_slice`: its length check stays in optimised code.
    for (d, s) in dst.iter_mut().zip(bytes) {
        *d = *s;
    }
    *len = end;
    Ok(())
}

/// The char an escape stands for, from the bytes after its backslash, and
/// how many of those bytes it takes.
fn escape(after: &[u8]) -> Option<(char, usize)> {
    let ch = match after.first()? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(after.get(1..5)?)?;
            return match high {
                0xd800..=0xdbff => {
                    // A high surrogate is half a pair: `\uD83D\uDE00` is U+1F600.
                    if after.get(5..7)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(after.get(7..11)?)?;
                    if !(0xdc00..=0xdfff).contains(&low) {
                        return None;
                    }
                    let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                    Some((char::from_u32(code)?, 11))
                }
                _ => Some((char::from_u32(high)?, 5)),
            };
        }
        _ => return None,
    };
    Some((ch, 1))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &d| {
        let digit = char::from(d).to_digit(16)?;
        Some((value << 4) | digit)
    })
}

/// The known keys of one object, each with the [`Field`] it names.
type Keys = &'static [(&'static str, Field)];

/// Longest known key after unescaping; a longer key is unknown.
const MAX_KEY: usize = 32;

/// Reads an object key: the index of a known key, `None` for any other.
struct Key(Keys);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, raw: &str) -> Result<Option<usize>, E> {
        let mut buf = [0u8; MAX_KEY];
        let name = if raw.as_bytes().contains(&b'\\') {
            match unescape(raw, &mut buf) {
                Ok(len) => buf.get(..len).unwrap_or_default(),
                Err(_) => return Ok(None),
            }
        } else {
            raw.as_bytes()
        };
        Ok(self.0.iter().position(|(key, _)| key.as_bytes() == name))
    }
}

/// One JSON object of the case format: its keys, how each member is
/// read, and what the object becomes once all are read.
trait Object<'a>: Default {
    type Out;
    const KEYS: Keys;
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error>;
    fn finish(self) -> Result<Self::Out, IngestError>;
}

/// Reads an object of type `T`.
struct Obj<'c, 'a, T>(&'c mut Ctx<'a>, PhantomData<T>);

impl<'c, 'a, T> Obj<'c, 'a, T> {
    fn new(ctx: &'c mut Ctx<'a>) -> Self {
        Obj(ctx, PhantomData)
    }
}

impl<'a, T: Object<'a>> DeserializeSeed<'a> for Obj<'_, 'a, T> {
    type Value = T::Out;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<T::Out, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a, T: Object<'a>> Visitor<'a> for Obj<'_, 'a, T> {
    type Value = T::Out;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<T::Out, A::Error> {
        let ctx = self.0;
        let mut doc = T::default();
        let mut seen = 0u64;
        while let Some(found) = map.next_key_seed(Key(T::KEYS))? {
            let Some((index, &(_, field))) = found.and_then(|i| T::KEYS.get(i).map(|k| (i, k)))
            else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let bit = u32::try_from(index)
                .ok()
                .and_then(|i| 1u64.checked_shl(i))
                .unwrap_or(0);
            if seen & bit != 0 {
                return Err(ctx.fail(IngestError::Duplicate(field)));
            }
            seen |= bit;
            ctx.at = Some(field);
            doc.member(ctx, &mut map, field)?;
        }
        doc.finish().map_err(|e| ctx.fail(e))
    }
}

/// Reads `null` as `None`, anything else with the inner seed.
struct Opt<S>(S);

impl<'a, S: DeserializeSeed<'a>> DeserializeSeed<'a> for Opt<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'a, S: DeserializeSeed<'a>> Visitor<'a> for Opt<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// Reads a string.
struct Str<'c, 'a>(&'c mut Ctx<'a>);

impl<'a> DeserializeSeed<'a> for Str<'_, 'a> {
    type Value = &'a str;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<&'a str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Str<'_, 'a> {
    type Value = &'a str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, raw: &'a str) -> Result<&'a str, E> {
        match self.0.text(raw) {
            Ok(text) => Ok(text),
            Err(problem) => Err(self.0.fail(problem)),
        }
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<&'a str, E> {
        // Without an unescape buffer serde-json-core lends every string.
        let field = self.0.field();
        Err(self.0.fail(IngestError::Type(field)))
    }
}

/// Reads an array of objects of type `T` into at most `N` entries.
struct List<'c, 'a, T, const N: usize>(&'c mut Ctx<'a>, Field, PhantomData<T>);

impl<'a, T: Object<'a>, const N: usize> DeserializeSeed<'a> for List<'_, 'a, T, N> {
    type Value = Vec<T::Out, N>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'a, T: Object<'a>, const N: usize> Visitor<'a> for List<'_, 'a, T, N> {
    type Value = Vec<T::Out, N>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let List(ctx, field, _) = self;
        let mut out = Vec::new();
        loop {
            ctx.at = Some(field);
            let Some(item) = seq.next_element_seed(Obj::<T>::new(ctx))? else {
                return Ok(out);
            };
            if out.push(item).is_err() {
                return Err(ctx.fail(IngestError::TooMany(field)));
            }
        }
    }
}

/// Reads `SendMsgControl`, any length, into whether it holds
/// `WithMuteNotifications`.
struct Controls<'c, 'a>(&'c mut Ctx<'a>, Field);

impl<'a> DeserializeSeed<'a> for Controls<'_, 'a> {
    type Value = bool;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for Controls<'_, 'a> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<bool, A::Error> {
        let Controls(ctx, field) = self;
        let mut with_mute_notifications = false;
        loop {
            ctx.at = Some(field);
            let Some(item) = seq.next_element_seed(Str(ctx))? else {
                return Ok(with_mute_notifications);
            };
            with_mute_notifications |= item == "WithMuteNotifications";
        }
    }
}

/// Reads `GroupAtInfo`, any length, into the one mention the rules read.
struct Mentions<'c, 'a>(&'c mut Ctx<'a>, Field);

impl<'a> DeserializeSeed<'a> for Mentions<'_, 'a> {
    type Value = Option<Mention<'a>>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for Mentions<'_, 'a> {
    type Value = Option<Mention<'a>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Mentions(ctx, field) = self;
        let mut kept = None;
        loop {
            ctx.at = Some(field);
            let Some(next) = seq.next_element_seed(Obj::<GroupAtDoc<'a>>::new(ctx))? else {
                return Ok(kept);
            };
            kept = fold_mention(kept, next, |account| ctx.is_recipient(account));
        }
    }
}

/// Reads a string literal's contents as they are, escapes and all.
struct Raw;

impl<'a> DeserializeSeed<'a> for Raw {
    type Value = &'a str;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<&'a str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Raw {
    type Value = &'a str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, raw: &'a str) -> Result<&'a str, E> {
        Ok(raw)
    }
}

/// The skim of [`skim_account`]: only `Recipient`, and in it only `Account`.
#[derive(Default)]
struct SkimCase<'a>(Option<&'a str>);

impl<'a> Object<'a> for SkimCase<'a> {
    type Out = Option<&'a str>;
    const KEYS: Keys = &[("Recipient", Field::Recipient)];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        _: Field,
    ) -> Result<(), A::Error> {
        self.0 = map.next_value_seed(Obj::<SkimRecipient<'a>>::new(ctx))?;
        Ok(())
    }
    fn finish(self) -> Result<Self::Out, IngestError> {
        Ok(self.0)
    }
}

#[derive(Default)]
struct SkimRecipient<'a>(Option<&'a str>);

impl<'a> Object<'a> for SkimRecipient<'a> {
    type Out = Option<&'a str>;
    const KEYS: Keys = &[("Account", Field::Account)];
    fn member<A: MapAccess<'a>>(
        &mut self,
        _: &mut Ctx<'a>,
        map: &mut A,
        _: Field,
    ) -> Result<(), A::Error> {
        self.0 = map.next_value_seed(Opt(Raw))?;
        Ok(())
    }
    fn finish(self) -> Result<Self::Out, IngestError> {
        Ok(self.0)
    }
}

/// A string, `""` when `null`.
fn text<'a, A: MapAccess<'a>>(ctx: &mut Ctx<'a>, map: &mut A) -> Result<&'a str, A::Error> {
    Ok(map.next_value_seed(Opt(Str(ctx)))?.unwrap_or(""))
}

/// A string that must be one of a set of names.
fn name<'a, A: MapAccess<'a>, T>(
    ctx: &mut Ctx<'a>,
    map: &mut A,
    field: Field,
    lookup: fn(&str) -> Option<T>,
) -> Result<T, A::Error> {
    let text = map.next_value_seed(Str(ctx))?;
    lookup(text).ok_or_else(|| ctx.fail(IngestError::Invalid(field)))
}

/// A 0/1 switch.
fn flag(value: u32, field: Field) -> Result<bool, IngestError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(IngestError::Invalid(field)),
    }
}

#[derive(Default)]
struct CaseDoc<'a, const ELEMS: usize> {
    message: Option<MessageDoc<'a, ELEMS>>,
    sender: Sender<'a>,
    group: Option<(&'a str, GroupType)>,
    recipient: Option<Recipient<'a>>,
    app: Option<App<'a>>,
    now: Option<i64>,
}

impl<'a, const ELEMS: usize> Object<'a> for CaseDoc<'a, ELEMS> {
    type Out = Self;
    const KEYS: Keys = &[
        ("Message", Field::Message),
        ("Sender", Field::Sender),
        ("Group", Field::Group),
        ("Recipient", Field::Recipient),
        ("App", Field::App),
        ("Now", Field::Now),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::Message => {
                self.message = Some(map.next_value_seed(Obj::<MessageDoc<'a, ELEMS>>::new(ctx))?)
            }
            Field::Sender => self.sender = map.next_value_seed(Obj::<SenderDoc<'a>>::new(ctx))?,
            Field::Group => {
                self.group = map.next_value_seed(Opt(Obj::<GroupDoc<'a>>::new(ctx)))?;
            }
            Field::Recipient => {
                self.recipient = Some(map.next_value_seed(Obj::<RecipientDoc<'a>>::new(ctx))?);
            }
            Field::App => self.app = map.next_value_seed(Opt(Obj::<AppDoc<'a>>::new(ctx)))?,
            Field::Now => self.now = map.next_value()?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Self, IngestError> {
        Ok(self)
    }
}

#[derive(Default)]
struct MessageDoc<'a, const ELEMS: usize> {
    from_account: &'a str,
    to_account: &'a str,
    group_id: &'a str,
    origin: Origin,
    elems: Option<Vec<Elem<'a>, ELEMS>>,
    push_info: Option<PushInfo<'a>>,
    online_only_flag: u32,
    life_time: Option<u32>,
    with_mute_notifications: bool,
    mention: Option<Mention<'a>>,
    is_system: bool,
    msg_key: &'a str,
    msg_seq: Option<u64>,
}

fn origin(name: &str) -> Option<Origin> {
    match name {
        "rest" => Some(Origin::Rest),
        "sdk" => Some(Origin::Sdk),
        "sdk_opt_in" => Some(Origin::SdkOptIn),
        _ => None,
    }
}

impl<'a, const ELEMS: usize> Object<'a> for MessageDoc<'a, ELEMS> {
    type Out = Self;
    const KEYS: Keys = &[
        ("From_Account", Field::FromAccount),
        ("To_Account", Field::ToAccount),
        ("GroupId", Field::GroupId),
        ("Origin", Field::Origin),
        ("MsgBody", Field::MsgBody),
        ("OfflinePushInfo", Field::OfflinePushInfo),
        ("OnlineOnlyFlag", Field::OnlineOnlyFlag),
        ("MsgLifeTime", Field::MsgLifeTime),
        ("SendMsgControl", Field::SendMsgControl),
        ("GroupAtInfo", Field::GroupAtInfo),
        ("IsSystem", Field::IsSystem),
        ("MsgKey", Field::MsgKey),
        ("MsgSeq", Field::MsgSeq),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::FromAccount => self.from_account = text(ctx, map)?,
            Field::ToAccount => self.to_account = text(ctx, map)?,
            Field::GroupId => self.group_id = text(ctx, map)?,
            Field::Origin => self.origin = name(ctx, map, field, origin)?,
            Field::MsgBody => {
                self.elems = Some(map.next_value_seed(List::<ElemDoc<'a>, ELEMS>(
                    ctx,
                    field,
                    PhantomData,
                ))?);
            }
            Field::OfflinePushInfo => {
                self.push_info = map.next_value_seed(Opt(Obj::<PushInfoDoc<'a>>::new(ctx)))?;
            }
            Field::OnlineOnlyFlag => self.online_only_flag = map.next_value()?,
            Field::MsgLifeTime => self.life_time = map.next_value()?,
            Field::SendMsgControl => {
                self.with_mute_notifications = map.next_value_seed(Controls(ctx, field))?;
            }
            Field::GroupAtInfo => self.mention = map.next_value_seed(Mentions(ctx, field))?,
            Field::IsSystem => self.is_system = map.next_value()?,
            Field::MsgKey => self.msg_key = text(ctx, map)?,
            Field::MsgSeq => self.msg_seq = map.next_value()?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Self, IngestError> {
        if self.elems.is_none() {
            return Err(IngestError::Missing(Field::MsgBody));
        }
        Ok(self)
    }
}

#[derive(Default)]
struct ElemDoc<'a> {
    msg_type: Option<&'a str>,
    content: ContentDoc<'a>,
}

impl<'a> Object<'a> for ElemDoc<'a> {
    type Out = Elem<'a>;
    const KEYS: Keys = &[
        ("MsgType", Field::MsgType),
        ("MsgContent", Field::MsgContent),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::MsgType => self.msg_type = Some(map.next_value_seed(Str(ctx))?),
            Field::MsgContent => {
                self.content = map.next_value_seed(Obj::<ContentDoc<'a>>::new(ctx))?
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Elem<'a>, IngestError> {
        let c = self.content;
        let or_empty = |s: Option<&'a str>| s.unwrap_or("");
        Ok(
            match self.msg_type.ok_or(IngestError::Missing(Field::MsgType))? {
                "TIMTextElem" => Elem::Text(c.text.ok_or(IngestError::Missing(Field::ElemText))?),
                "TIMImageElem" => Elem::Image,
                "TIMSoundElem" => Elem::Sound,
                "TIMFileElem" => Elem::File,
                "TIMVideoFileElem" => Elem::Video,
                "TIMFaceElem" => Elem::Face,
                "TIMLocationElem" => Elem::Location,
                "TIMCustomElem" => Elem::Custom(CustomElem {
                    desc: or_empty(c.desc),
                    ext: or_empty(c.ext),
                    sound: or_empty(c.sound),
                }),
                "TIMRelayElem" => Elem::Relay(or_empty(c.title)),
                "TIMGroupTipElem" => Elem::GroupTips,
                _ => return Err(IngestError::Invalid(Field::MsgType)),
            },
        )
    }
}

/// The `MsgContent` keys the rules read; the rest is ignored.
#[derive(Default)]
struct ContentDoc<'a> {
    text: Option<&'a str>,
    desc: Option<&'a str>,
    ext: Option<&'a str>,
    sound: Option<&'a str>,
    title: Option<&'a str>,
}

impl<'a> Object<'a> for ContentDoc<'a> {
    type Out = Self;
    const KEYS: Keys = &[
        ("Text", Field::ElemText),
        ("Desc", Field::ElemDesc),
        ("Ext", Field::ElemExt),
        ("Sound", Field::ElemSound),
        ("Title", Field::ElemTitle),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        let value = map.next_value_seed(Opt(Str(ctx)))?;
        match field {
            Field::ElemText => self.text = value,
            Field::ElemDesc => self.desc = value,
            Field::ElemExt => self.ext = value,
            Field::ElemSound => self.sound = value,
            Field::ElemTitle => self.title = value,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Self, IngestError> {
        Ok(self)
    }
}

#[derive(Default)]
struct GroupAtDoc<'a> {
    all_flag: u32,
    account: &'a str,
}

impl<'a> Object<'a> for GroupAtDoc<'a> {
    type Out = Mention<'a>;
    const KEYS: Keys = &[
        ("GroupAtAllFlag", Field::GroupAtAllFlag),
        ("GroupAt_Account", Field::GroupAtAccount),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::GroupAtAllFlag => self.all_flag = map.next_value()?,
            Field::GroupAtAccount => self.account = text(ctx, map)?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Mention<'a>, IngestError> {
        match (self.all_flag, self.account) {
            (1, _) => Ok(Mention::All),
            (0, "") => Err(IngestError::Missing(Field::GroupAtAccount)),
            (0, account) => Ok(Mention::Account(account)),
            _ => Err(IngestError::Invalid(Field::GroupAtAllFlag)),
        }
    }
}

#[derive(Default)]
struct PushInfoDoc<'a> {
    push_flag: u32,
    info: PushInfo<'a>,
}

impl<'a> Object<'a> for PushInfoDoc<'a> {
    type Out = PushInfo<'a>;
    const KEYS: Keys = &[
        ("PushFlag", Field::PushFlag),
        ("Title", Field::Title),
        ("Desc", Field::Desc),
        ("Ext", Field::Ext),
        ("AndroidInfo", Field::AndroidInfo),
        ("ApnsInfo", Field::ApnsInfo),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        let info = &mut self.info;
        match field {
            Field::PushFlag => self.push_flag = map.next_value()?,
            Field::Title => info.title = text(ctx, map)?,
            Field::Desc => info.desc = text(ctx, map)?,
            Field::Ext => info.ext = text(ctx, map)?,
            Field::AndroidInfo => {
                info.android = map.next_value_seed(Obj::<AndroidInfoDoc<'a>>::new(ctx))?
            }
            Field::ApnsInfo => info.apns = map.next_value_seed(Obj::<ApnsInfoDoc<'a>>::new(ctx))?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<PushInfo<'a>, IngestError> {
        Ok(PushInfo {
            disabled: flag(self.push_flag, Field::PushFlag)?,
            ..self.info
        })
    }
}

#[derive(Default)]
struct AndroidInfoDoc<'a> {
    ext_as_huawei_intent_param: u8,
    ignore_harmony_badge: u8,
    info: AndroidInfo<'a>,
}

impl<'a> Object<'a> for AndroidInfoDoc<'a> {
    type Out = AndroidInfo<'a>;
    const KEYS: Keys = &[
        ("Sound", Field::AndroidSound),
        ("HuaWeiChannelID", Field::HuaweiChannelId),
        ("XiaoMiChannelID", Field::XiaomiChannelId),
        ("OPPOChannelID", Field::OppoChannelId),
        ("GoogleChannelID", Field::GoogleChannelId),
        ("VIVOClassification", Field::Classification),
        ("VIVOCategory", Field::VivoCategory),
        ("HuaWeiImportance", Field::HuaweiImportance),
        ("ExtAsHuaweiIntentParam", Field::ExtAsHuaweiIntentParam),
        ("HuaWeiCategory", Field::HuaweiCategory),
        ("HonorImportance", Field::HonorImportance),
        ("OPPOCategory", Field::OppoCategory),
        ("OPPONotifyLevel", Field::NotifyLevel),
        ("MeiZuNoticeMsgType", Field::NoticeMsgType),
        ("GoogleImage", Field::GoogleImage),
        ("HuaWeiImage", Field::HuaweiImage),
        ("HonorImage", Field::HonorImage),
        ("HarmonyCategory", Field::HarmonyCategory),
        ("HarmonyImage", Field::HarmonyImage),
        ("IgnoreHarmonyBadge", Field::IgnoreHarmonyBadge),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        let info = &mut self.info;
        match field {
            Field::AndroidSound => info.sound = text(ctx, map)?,
            Field::HuaweiChannelId => info.huawei_channel_id = text(ctx, map)?,
            Field::XiaomiChannelId => info.xiaomi_channel_id = text(ctx, map)?,
            Field::OppoChannelId => info.oppo_channel_id = text(ctx, map)?,
            Field::GoogleChannelId => info.google_channel_id = text(ctx, map)?,
            Field::Classification => info.vivo_classification = map.next_value()?,
            Field::VivoCategory => info.vivo_category = text(ctx, map)?,
            Field::HuaweiImportance => info.huawei_importance = text(ctx, map)?,
            Field::ExtAsHuaweiIntentParam => self.ext_as_huawei_intent_param = map.next_value()?,
            Field::HuaweiCategory => info.huawei_category = text(ctx, map)?,
            Field::HonorImportance => info.honor_importance = text(ctx, map)?,
            Field::OppoCategory => info.oppo_category = text(ctx, map)?,
            Field::NotifyLevel => info.oppo_notify_level = map.next_value()?,
            Field::NoticeMsgType => info.meizu_notice_msg_type = map.next_value()?,
            Field::GoogleImage => info.google_image = text(ctx, map)?,
            Field::HuaweiImage => info.huawei_image = text(ctx, map)?,
            Field::HonorImage => info.honor_image = text(ctx, map)?,
            Field::HarmonyCategory => info.harmony_category = text(ctx, map)?,
            Field::HarmonyImage => info.harmony_image = text(ctx, map)?,
            Field::IgnoreHarmonyBadge => self.ignore_harmony_badge = map.next_value()?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<AndroidInfo<'a>, IngestError> {
        Ok(AndroidInfo {
            ext_as_huawei_intent_param: flag(
                u32::from(self.ext_as_huawei_intent_param),
                Field::ExtAsHuaweiIntentParam,
            )?,
            ignore_harmony_badge: flag(
                u32::from(self.ignore_harmony_badge),
                Field::IgnoreHarmonyBadge,
            )?,
            ..self.info
        })
    }
}

#[derive(Default)]
struct ApnsInfoDoc<'a> {
    badge_mode: u8,
    mutable_content: u8,
    info: ApnsInfo<'a>,
}

impl<'a> Object<'a> for ApnsInfoDoc<'a> {
    type Out = ApnsInfo<'a>;
    const KEYS: Keys = &[
        ("Sound", Field::ApnsSound),
        ("BadgeMode", Field::BadgeMode),
        ("Title", Field::ApnsTitle),
        ("SubTitle", Field::SubTitle),
        ("Image", Field::ApnsImage),
        ("MutableContent", Field::MutableContent),
        ("CollapseId", Field::CollapseId),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        let info = &mut self.info;
        match field {
            Field::ApnsSound => info.sound = text(ctx, map)?,
            Field::BadgeMode => self.badge_mode = map.next_value()?,
            Field::ApnsTitle => info.title = text(ctx, map)?,
            Field::SubTitle => info.sub_title = text(ctx, map)?,
            Field::ApnsImage => info.image = text(ctx, map)?,
            Field::MutableContent => self.mutable_content = map.next_value()?,
            Field::CollapseId => info.collapse_id = text(ctx, map)?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<ApnsInfo<'a>, IngestError> {
        Ok(ApnsInfo {
            badge_not_counted: flag(u32::from(self.badge_mode), Field::BadgeMode)?,
            mutable_content: flag(u32::from(self.mutable_content), Field::MutableContent)?,
            ..self.info
        })
    }
}

#[derive(Default)]
struct SenderDoc<'a>(Sender<'a>);

impl<'a> Object<'a> for SenderDoc<'a> {
    type Out = Sender<'a>;
    const KEYS: Keys = &[("Nick", Field::Nick), ("NameCard", Field::NameCard)];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::Nick => self.0.nick = text(ctx, map)?,
            Field::NameCard => self.0.name_card = text(ctx, map)?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Sender<'a>, IngestError> {
        Ok(self.0)
    }
}

#[derive(Default)]
struct GroupDoc<'a> {
    name: &'a str,
    kind: Option<GroupType>,
}

fn group_type(name: &str) -> Option<GroupType> {
    match name {
        "Work" => Some(GroupType::Work),
        "Public" => Some(GroupType::Public),
        "Meeting" => Some(GroupType::Meeting),
        "Community" => Some(GroupType::Community),
        "AVChatRoom" => Some(GroupType::AvChatRoom),
        _ => None,
    }
}

impl<'a> Object<'a> for GroupDoc<'a> {
    type Out = (&'a str, GroupType);
    const KEYS: Keys = &[("Name", Field::GroupName), ("Type", Field::GroupType)];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::GroupName => self.name = text(ctx, map)?,
            Field::GroupType => self.kind = Some(name(ctx, map, field, group_type)?),
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Self::Out, IngestError> {
        Ok((
            self.name,
            self.kind.ok_or(IngestError::Missing(Field::GroupType))?,
        ))
    }
}

#[derive(Default)]
struct RecipientDoc<'a> {
    account: &'a str,
    device: Option<Device<'a>>,
    badge: u32,
    push_enabled: Option<bool>,
    c2c_sound: &'a str,
    group_sound: &'a str,
    receive_opt: u8,
    global_receive_opt: u8,
    dnd: Option<DndWindow>,
    locale: Locale,
}

fn locale(name: &str) -> Option<Locale> {
    match name {
        "en" => Some(Locale::En),
        "zh" => Some(Locale::Zh),
        _ => None,
    }
}

impl<'a> Object<'a> for RecipientDoc<'a> {
    type Out = Recipient<'a>;
    const KEYS: Keys = &[
        ("Account", Field::Account),
        ("Device", Field::Device),
        ("Badge", Field::Badge),
        ("PushEnabled", Field::PushEnabled),
        ("C2cSound", Field::C2cSound),
        ("GroupSound", Field::GroupSound),
        ("ReceiveOpt", Field::ReceiveOpt),
        ("GlobalReceiveOpt", Field::GlobalReceiveOpt),
        ("Dnd", Field::Dnd),
        ("Locale", Field::Locale),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::Account => {
                self.account = text(ctx, map)?;
                // Mentions read after this match against it directly.
                ctx.account = Account::Read(self.account);
            }
            Field::Device => {
                self.device = Some(map.next_value_seed(Obj::<DeviceDoc<'a>>::new(ctx))?)
            }
            Field::Badge => self.badge = map.next_value()?,
            Field::PushEnabled => self.push_enabled = Some(map.next_value()?),
            Field::C2cSound => self.c2c_sound = text(ctx, map)?,
            Field::GroupSound => self.group_sound = text(ctx, map)?,
            Field::ReceiveOpt => self.receive_opt = map.next_value()?,
            Field::GlobalReceiveOpt => self.global_receive_opt = map.next_value()?,
            Field::Dnd => self.dnd = map.next_value_seed(Opt(Obj::<DndDoc<'a>>::new(ctx)))?,
            Field::Locale => self.locale = name(ctx, map, field, locale)?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Recipient<'a>, IngestError> {
        Ok(Recipient {
            account: self.account,
            device: self.device.ok_or(IngestError::Missing(Field::Device))?,
            badge: self.badge,
            push_enabled: self.push_enabled.unwrap_or(true),
            c2c_sound: self.c2c_sound,
            group_sound: self.group_sound,
            receive_opt: ReceiveOpt::from_code(self.receive_opt)
                .ok_or(IngestError::Invalid(Field::ReceiveOpt))?,
            global_receive_opt: ReceiveOpt::from_code(self.global_receive_opt)
                .ok_or(IngestError::Invalid(Field::GlobalReceiveOpt))?,
            dnd: self.dnd,
            locale: self.locale,
        })
    }
}

#[derive(Default)]
struct DeviceDoc<'a> {
    channel: Option<Channel>,
    token: &'a str,
    state: Option<DeviceState>,
}

fn device_state(name: &str) -> Option<DeviceState> {
    match name {
        "foreground" => Some(DeviceState::Foreground),
        "background" => Some(DeviceState::Background),
        "push_online" => Some(DeviceState::PushOnline),
        "offline" => Some(DeviceState::Offline),
        _ => None,
    }
}

impl<'a> Object<'a> for DeviceDoc<'a> {
    type Out = Device<'a>;
    const KEYS: Keys = &[
        ("Channel", Field::Channel),
        ("Token", Field::Token),
        ("State", Field::State),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::Channel => self.channel = Some(name(ctx, map, field, Channel::from_name)?),
            Field::Token => self.token = text(ctx, map)?,
            Field::State => self.state = Some(name(ctx, map, field, device_state)?),
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<Device<'a>, IngestError> {
        Ok(Device {
            channel: self.channel.ok_or(IngestError::Missing(Field::Channel))?,
            token: self.token,
            state: self.state.ok_or(IngestError::Missing(Field::State))?,
        })
    }
}

#[derive(Default)]
struct DndDoc<'a> {
    start: Option<&'a str>,
    start_time_stamp: Option<i64>,
    duration: Option<u32>,
    utc_offset: Option<i32>,
}

impl<'a> Object<'a> for DndDoc<'a> {
    type Out = DndWindow;
    const KEYS: Keys = &[
        ("Start", Field::DndStart),
        ("StartTimeStamp", Field::DndStartTimeStamp),
        ("Duration", Field::DndDuration),
        ("UtcOffset", Field::DndUtcOffset),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::DndStart => self.start = map.next_value_seed(Opt(Str(ctx)))?,
            Field::DndStartTimeStamp => self.start_time_stamp = map.next_value()?,
            Field::DndDuration => self.duration = Some(map.next_value()?),
            Field::DndUtcOffset => self.utc_offset = map.next_value()?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<DndWindow, IngestError> {
        let duration = self
            .duration
            .ok_or(IngestError::Missing(Field::DndDuration))?;
        match (self.start, self.start_time_stamp) {
            (Some(start), None) => Ok(DndWindow::Daily {
                start_second: parse_clock(start).ok_or(IngestError::Invalid(Field::DndStart))?,
                duration,
                utc_offset: self.utc_offset.unwrap_or(DEFAULT_DND_UTC_OFFSET),
            }),
            (None, Some(start)) => Ok(DndWindow::Absolute { start, duration }),
            _ => Err(IngestError::Invalid(Field::Dnd)),
        }
    }
}

/// `HH:MM:SS` (00–23, 00–59, 00–59) to seconds after midnight.
fn parse_clock(text: &str) -> Option<u32> {
    let &[h1, h2, b':', m1, m2, b':', s1, s2] = text.as_bytes() else {
        return None;
    };
    let two = |a: u8, b: u8| {
        let (a, b) = (char::from(a).to_digit(10)?, char::from(b).to_digit(10)?);
        Some(a * 10 + b)
    };
    let (h, m, s) = (two(h1, h2)?, two(m1, m2)?, two(s1, s2)?);
    (h <= 23 && m <= 59 && s <= 59).then_some(h * 3600 + m * 60 + s)
}

#[derive(Default)]
struct AppDoc<'a>(App<'a>);

impl<'a> Object<'a> for AppDoc<'a> {
    type Out = App<'a>;
    const KEYS: Keys = &[
        ("BundleId", Field::BundleId),
        ("PackageName", Field::PackageName),
        ("BadgeClass", Field::BadgeClass),
        ("HarmonyCategory", Field::AppHarmonyCategory),
    ];
    fn member<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        map: &mut A,
        field: Field,
    ) -> Result<(), A::Error> {
        match field {
            Field::BundleId => self.0.bundle_id = text(ctx, map)?,
            Field::PackageName => self.0.package_name = text(ctx, map)?,
            Field::BadgeClass => self.0.badge_class = text(ctx, map)?,
            Field::AppHarmonyCategory => self.0.harmony_category = text(ctx, map)?,
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<App<'a>, IngestError> {
        Ok(self.0)
    }
}

/// The checks the std side makes when lending: the conversation's shape,
/// then the defaults.
fn lend<'a, const ELEMS: usize>(
    doc: CaseDoc<'a, ELEMS>,
    defaults: Defaults<'a>,
) -> Result<Ingested<'a, ELEMS>, IngestError> {
    let message = doc.message.ok_or(IngestError::Missing(Field::Message))?;
    let recipient = doc
        .recipient
        .ok_or(IngestError::Missing(Field::Recipient))?;
    let elems = message.elems.ok_or(IngestError::Missing(Field::MsgBody))?;
    let conversation = match (message.to_account, message.group_id) {
        ("", "") => return Err(IngestError::Missing(Field::ToAccount)),
        (to_account, "") => Conversation::C2c { to_account },
        ("", id) => {
            let (name, kind) = doc.group.ok_or(IngestError::Missing(Field::Group))?;
            Conversation::Group(Group { id, name, kind })
        }
        _ => return Err(IngestError::Invalid(Field::ToAccount)),
    };
    let given = doc.app.unwrap_or_default();
    let pick = |given: &'a str, default: &'a str| if given.is_empty() { default } else { given };
    Ok(Ingested {
        elems,
        mention: message.mention,
        case: Case {
            message: Message {
                sender: Sender {
                    account: message.from_account,
                    ..doc.sender
                },
                conversation,
                origin: message.origin,
                elems: &[],
                push_info: message.push_info,
                online_only: message.online_only_flag > 0,
                life_time: message.life_time,
                with_mute_notifications: message.with_mute_notifications,
                mentions: &[],
                is_system: message.is_system,
                msg_key: message.msg_key,
                msg_seq: message.msg_seq,
            },
            recipient,
            app: App {
                bundle_id: pick(given.bundle_id, defaults.app.bundle_id),
                package_name: pick(given.package_name, defaults.app.package_name),
                badge_class: pick(given.badge_class, defaults.app.badge_class),
                harmony_category: pick(given.harmony_category, defaults.app.harmony_category),
            },
            now: doc.now.unwrap_or(defaults.now),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescaped(raw: &str) -> Option<([u8; 64], usize)> {
        let mut out = [0u8; 64];
        let len = unescape(raw, &mut out).ok()?;
        Some((out, len))
    }

    #[test]
    fn unescapes_every_escape() {
        let (out, len) = unescaped(r#"\"\\\/\b\f\n\r\t\u0041\u00e9\u4E2D\uD83D\uDE00x"#).unwrap();
        assert_eq!(
            core::str::from_utf8(&out[..len]).unwrap(),
            "\"\\/\u{8}\u{c}\n\r\tAé中😀x"
        );
    }

    #[test]
    fn refuses_bad_escapes() {
        for raw in [
            r"\x",
            r"\u12",
            r"\u12G4",
            r"\uD83D",
            r"\uD83Dx",
            r"\uD83D\u0041",
            r"\uDE00",
            r"\",
        ] {
            assert!(unescaped(raw).is_none(), "{raw}");
        }
    }

    #[test]
    fn unescape_reports_a_full_buffer() {
        let mut out = [0u8; 3];
        assert!(matches!(unescape(r"ab\n", &mut out), Ok(3)));
        assert!(matches!(unescape(r"ab\nc", &mut out), Err(Unescape::Full)));
        assert!(matches!(
            unescape(r"\uD83D\uDE00", &mut out),
            Err(Unescape::Full)
        ));
    }

    #[test]
    fn clock() {
        assert_eq!(parse_clock("00:00:00"), Some(0));
        assert_eq!(parse_clock("23:59:59"), Some(86_399));
        for bad in [
            "24:00:00",
            "12:60:00",
            "1:00:00",
            "12:00",
            "12:00:00:00",
            "ab:cd:ef",
            "",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
    }
}
