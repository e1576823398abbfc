//! Notification text as segments (push-rules §3): never concatenated into a
//! temporary string, only walked by the writers.

use crate::error::Field;
use crate::model::{Conversation, Elem, Locale, Message, PushInfo};

/// The separator between the name prefix and the content (push-rules OQ-3).
pub const NAME_SEPARATOR: &str = ":";
/// Around the group name in a group prefix.
pub const GROUP_OPEN: &str = "(";
pub const GROUP_CLOSE: &str = ")";
/// The conversation key prefixes of `thread-id` and Android tags (render-map).
pub const THREAD_C2C: &str = "c2c:";
pub const THREAD_GROUP: &str = "group:";

/// The placeholder an elem shows as (push-rules §3.1, OQ-6).
/// Text and custom elems show their own text; GroupTips show nothing.
pub fn fragment<'a>(elem: &Elem<'a>, locale: Locale) -> &'a str {
    let zh = locale == Locale::Zh;
    match *elem {
        Elem::Text(text) => text,
        Elem::Custom(custom) => custom.desc,
        Elem::Image => pick(zh, "[图片]", "[image]"),
        Elem::Sound => pick(zh, "[语音]", "[audio]"),
        Elem::File => pick(zh, "[文件]", "[file]"),
        Elem::Video => pick(zh, "[视频]", "[video]"),
        Elem::Face => pick(zh, "[表情]", "[Face]"),
        Elem::Location => pick(zh, "[位置]", "[Location]"),
        Elem::Relay(title) if !title.is_empty() => title,
        Elem::Relay(_) => pick(zh, "[聊天记录]", "[Chat History]"),
        Elem::GroupTips => "",
    }
}

const fn pick(zh: bool, chinese: &'static str, english: &'static str) -> &'static str {
    if zh {
        chinese
    } else {
        english
    }
}

/// A text as a sequence of string pieces: a prefix of up to five pieces (a
/// name prefix, a title, a thread key) followed by the fragments of some
/// elems. Empty pieces are skipped.
///
/// The prefix is kept as its shape, not as an array of pieces: walked
/// whole ([`Iterator::fold`], which `for_each` uses), each piece is a
/// straight-line call, so a writer inlined into it stores the separators
/// (`:`, `(`, `)`) as constants and keeps every piece in registers. An
/// array indexed by a counter went through memory, piece by piece.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    prefix: Prefix<'a>,
    /// Prefix pieces already yielded by `next`.
    taken: u8,
    elems: core::slice::Iter<'a, Elem<'a>>,
    locale: Locale,
}

/// The pieces before the elems' fragments.
#[derive(Clone, Copy, Debug)]
enum Prefix<'a> {
    /// One or two plain strings.
    Pieces(&'a str, &'a str),
    /// `Name:`.
    Named(&'a str),
    /// `Name(Group):`.
    Grouped(&'a str, &'a str),
}

/// More prefix pieces than any prefix has: the prefix is used up.
const PREFIX_DONE: u8 = 5;

impl<'a> Segments<'a> {
    /// One plain string.
    pub fn single(text: &'a str) -> Self {
        Segments::pair(text, "")
    }

    /// Two strings joined (`c2c:` + account).
    pub fn pair(first: &'a str, second: &'a str) -> Self {
        Segments::with_prefix(Prefix::Pieces(first, second), &[], Locale::En)
    }

    fn with_prefix(prefix: Prefix<'a>, elems: &'a [Elem<'a>], locale: Locale) -> Self {
        Segments {
            prefix,
            taken: 0,
            elems: elems.iter(),
            locale,
        }
    }

    /// The concatenation's length in bytes.
    pub fn byte_len(&self) -> usize {
        self.clone().fold(0usize, |n, s| n.saturating_add(s.len()))
    }

    /// Whether the concatenation is empty.
    pub fn is_empty(&self) -> bool {
        self.clone().all(str::is_empty)
    }

    /// Prefix piece `i` (possibly empty); `None` past the prefix's end.
    fn prefix_piece(&self, i: u8) -> Option<&'a str> {
        match (self.prefix, i) {
            (Prefix::Pieces(first, _), 0) => Some(first),
            (Prefix::Pieces(_, second), 1) => Some(second),
            (Prefix::Named(name) | Prefix::Grouped(name, _), 0) => Some(name),
            (Prefix::Named(_), 1) | (Prefix::Grouped(..), 4) => Some(NAME_SEPARATOR),
            (Prefix::Grouped(..), 1) => Some(GROUP_OPEN),
            (Prefix::Grouped(_, group), 2) => Some(group),
            (Prefix::Grouped(..), 3) => Some(GROUP_CLOSE),
            _ => None,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn next(&mut self) -> Option<&'a str> {
        while let Some(piece) = self.prefix_piece(self.taken) {
            self.taken += 1;
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        self.taken = PREFIX_DONE;
        for elem in self.elems.by_ref() {
            let piece = fragment(elem, self.locale);
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        None
    }

    /// Every piece left, the prefix's as straight-line calls (see the type).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, &'a str) -> B,
    {
        let mut acc = init;
        // A function, not a closure: a closure's calls were left out of line.
        #[cfg_attr(not(target_os = "none"), inline(always))]
        fn put<'a, B>(f: &mut impl FnMut(B, &'a str) -> B, acc: B, piece: &'a str) -> B {
            if piece.is_empty() {
                acc
            } else {
                f(acc, piece)
            }
        }
        if self.taken == 0 {
            match self.prefix {
                Prefix::Pieces(first, second) => {
                    acc = put(&mut f, acc, first);
                    acc = put(&mut f, acc, second);
                }
                Prefix::Named(name) => {
                    acc = put(&mut f, acc, name);
                    acc = put(&mut f, acc, NAME_SEPARATOR);
                }
                Prefix::Grouped(name, group) => {
                    acc = put(&mut f, acc, name);
                    acc = put(&mut f, acc, GROUP_OPEN);
                    acc = put(&mut f, acc, group);
                    acc = put(&mut f, acc, GROUP_CLOSE);
                    acc = put(&mut f, acc, NAME_SEPARATOR);
                }
            }
        } else {
            while let Some(p) = self.prefix_piece(self.taken) {
                self.taken += 1;
                acc = put(&mut f, acc, p);
            }
        }
        for elem in self.elems {
            acc = put(&mut f, acc, fragment(elem, self.locale));
        }
        acc
    }
}

/// The notification body (push-rules §3.2–3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// A set push `Desc`: the whole body, no name prefix (OQ-1).
    Desc(&'a str),
    /// `Name(Group):content` built from the elems.
    Composed {
        /// Sender name: group card > nickname (groups), nickname (C2C).
        name: &'a str,
        /// Group name; empty for C2C or an unnamed group (OQ-4).
        group_name: &'a str,
        elems: &'a [Elem<'a>],
        locale: Locale,
    },
}

impl<'a> Body<'a> {
    /// The body a message shows.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn of(message: &Message<'a>, locale: Locale) -> Body<'a> {
        let desc = message.push_info.map_or("", |p| p.desc);
        if !desc.is_empty() {
            return Body::Desc(desc);
        }
        Body::composed(message, locale)
    }

    /// The body composed from the elems, whatever `Desc` says: what a
    /// provider that refuses a blank `Desc` falls back to.
    pub fn composed(message: &Message<'a>, locale: Locale) -> Body<'a> {
        let (name, group_name) = match message.conversation {
            Conversation::C2c { .. } => (message.sender.nick, ""),
            Conversation::Group(group) => (
                first_set(message.sender.name_card, message.sender.nick),
                group.name,
            ),
        };
        Body::Composed {
            name,
            group_name,
            elems: message.elems,
            locale,
        }
    }

    /// Whether there is nothing to show: no desc and every fragment empty.
    /// A bare name prefix is not something to show (rule 9).
    pub fn is_empty(&self) -> bool {
        match *self {
            Body::Desc(desc) => desc.is_empty(),
            Body::Composed { elems, locale, .. } => {
                elems.iter().all(|e| fragment(e, locale).is_empty())
            }
        }
    }

    /// The body's pieces in order.
    pub fn segments(&self) -> Segments<'a> {
        match *self {
            Body::Desc(desc) => Segments::single(desc),
            Body::Composed {
                name,
                group_name,
                elems,
                locale,
            } => {
                let prefix = match (name.is_empty(), group_name.is_empty()) {
                    (true, true) => Prefix::Pieces("", ""),
                    (false, true) => Prefix::Named(name),
                    (_, false) => Prefix::Grouped(name, group_name),
                };
                Segments::with_prefix(prefix, elems, locale)
            }
        }
    }
}

/// Whether two strings are equal, their first and last bytes compared
/// before the rest: two accounts of one length (numbered IDs, short
/// names) mostly differ at one end, and that spares a `memcmp` call
/// (about 25 instructions, a tenth of a whole decision).
#[cfg_attr(not(target_os = "none"), inline(always))]
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a.last() == b.last() && a == b
}

/// The first non-empty of two strings (an empty string counts as missing).
pub fn first_set<'a>(preferred: &'a str, fallback: &'a str) -> &'a str {
    if preferred.is_empty() {
        fallback
    } else {
        preferred
    }
}

/// iOS title: `ApnsInfo.Title`, else `OfflinePushInfo.Title`, else none.
pub fn ios_title<'a>(push_info: Option<&PushInfo<'a>>) -> &'a str {
    ios_title_sourced(push_info).0
}

/// [`ios_title`] and the key it came from (`None` = no title).
pub fn ios_title_sourced<'a>(push_info: Option<&PushInfo<'a>>) -> (&'a str, Option<Field>) {
    let sources = push_info.map_or([("", Field::ApnsTitle), ("", Field::Title)], |p| {
        [(p.apns.title, Field::ApnsTitle), (p.title, Field::Title)]
    });
    first_of(sources)
}

/// Android title (render-map, OQ-2): `OfflinePushInfo.Title`; else C2C:
/// nickname, else `From_Account`; group: group name, else `GroupId`.
/// Empty only when every one of those is empty.
pub fn android_title<'a>(message: &Message<'a>) -> &'a str {
    android_title_sourced(message).0
}

/// [`android_title`] and the key it came from (`None` = every source empty).
pub fn android_title_sourced<'a>(message: &Message<'a>) -> (&'a str, Option<Field>) {
    first_of(android_title_sources(message))
}

/// The Android title's sources in order of preference (render-map, OQ-2).
pub fn android_title_chain<'a>(message: &Message<'a>) -> [&'a str; 3] {
    android_title_sources(message).map(|(text, _)| text)
}

/// [`android_title_chain`] with the key of each source.
pub fn android_title_sources<'a>(message: &Message<'a>) -> [(&'a str, Field); 3] {
    let title = message.push_info.map_or("", |p| p.title);
    match message.conversation {
        Conversation::C2c { .. } => [
            (title, Field::Title),
            (message.sender.nick, Field::Nick),
            (message.sender.account, Field::FromAccount),
        ],
        Conversation::Group(group) => [
            (title, Field::Title),
            (group.name, Field::GroupName),
            (group.id, Field::GroupId),
        ],
    }
}

fn first_of<const N: usize>(sources: [(&str, Field); N]) -> (&str, Option<Field>) {
    sources
        .into_iter()
        .find(|(text, _)| !text.is_empty())
        .map_or(("", None), |(text, from)| (text, Some(from)))
}

/// The Android sound as every provider is given it (push-rules §4.2:
/// `AndroidInfo.Sound` names a raw resource, which has no file extension):
/// everything from the first `.` of the last `/`-separated segment is
/// dropped, once, for every provider (`shake.mp3` → `shake`,
/// `/raw/ding.ogg` → `/raw/ding`). A value without an extension is kept.
pub fn android_sound_name(sound: &str) -> &str {
    // Walked by hand: `str::find` would bring in slice-bounds panic paths.
    let mut cut = None;
    for (i, b) in sound.bytes().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => cut = Some(i),
            _ => {}
        }
    }
    cut.and_then(|end| sound.get(..end)).unwrap_or(sound)
}

/// Whether a text is empty or all whitespace: nothing a reader would see.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// The conversation key, `c2c:<From_Account>` or `group:<GroupId>`, in its
/// two parts: the writer stores the constant prefix as is and escapes only
/// the id (a prefix through the escaper cost each push about 30
/// instructions).
/// Built only by [`thread_key`], so the prefix is always one of the two
/// constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadKey<'a> {
    /// [`THREAD_C2C`] or [`THREAD_GROUP`]: ASCII that never needs escaping.
    pub(crate) prefix: &'static str,
    pub(crate) id: &'a str,
}

impl<'a> ThreadKey<'a> {
    /// `c2c:` or `group:`.
    pub fn prefix(&self) -> &'static str {
        self.prefix
    }

    /// The sender's account (C2C) or the group's id.
    pub fn id(&self) -> &'a str {
        self.id
    }
}

/// The conversation key of `message`.
pub fn thread_key<'a>(message: &Message<'a>) -> ThreadKey<'a> {
    match message.conversation {
        Conversation::C2c { .. } => ThreadKey {
            prefix: THREAD_C2C,
            id: message.sender.account,
        },
        Conversation::Group(group) => ThreadKey {
            prefix: THREAD_GROUP,
            id: group.id,
        },
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    /// The writer stores these as is (`Writer::thread_key_member`).
    #[test]
    fn thread_prefixes_need_no_escaping() {
        for prefix in [super::THREAD_C2C, super::THREAD_GROUP] {
            let plain = |b: u8| b.is_ascii_graphic() && b != b'"' && b != b'\\';
            assert!(prefix.bytes().all(plain), "{prefix}");
        }
    }

    #[test]
    fn same_is_equality() {
        let texts = [
            "", "a", "b", "ab", "ba", "aa", "abc", "abd", "xbc", "axc", "a\u{e9}", "a\u{e8}",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(super::same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
    use std::string::String;
    use std::vec::Vec;

    use super::{Body, Segments};
    use crate::model::{Elem, Locale};

    /// Every body shape and the pair, as `next` walks it.
    fn shapes() -> [Segments<'static>; 5] {
        static ELEMS: [Elem<'static>; 4] = [
            Elem::Text("hi "),
            Elem::Text(""),
            Elem::Image,
            Elem::GroupTips,
        ];
        let composed = |name, group_name| Body::Composed {
            name,
            group_name,
            elems: &ELEMS,
            locale: Locale::En,
        };
        [
            composed("", "").segments(),
            composed("Ann", "").segments(),
            composed("Ann", "Dev").segments(),
            composed("", "Dev").segments(),
            Segments::pair("", "c2c:"),
        ]
    }

    #[test]
    fn fold_after_any_number_of_next_yields_the_rest() {
        for shape in shapes() {
            let pieces: Vec<&str> = shape.clone().collect();
            assert!(pieces.iter().all(|p| !p.is_empty()), "{pieces:?}");
            for taken in 0..=pieces.len() {
                let mut rest = shape.clone();
                let head: Vec<&str> = rest.by_ref().take(taken).collect();
                let tail = rest.fold(Vec::new(), |mut v, p| {
                    v.push(p);
                    v
                });
                assert_eq!([head, tail].concat(), pieces, "after {taken}");
            }
        }
        let joined: Vec<String> = shapes().into_iter().map(|s| s.collect()).collect();
        assert_eq!(
            joined,
            [
                "hi [image]",
                "Ann:hi [image]",
                "Ann(Dev):hi [image]",
                "(Dev):hi [image]",
                "c2c:"
            ]
        );
    }
}
