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

/// A text as a sequence of string pieces: up to five fixed pieces (a name
/// prefix, a title, a thread key) followed by the fragments of some elems.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    head: [&'a str; 5],
    head_len: usize,
    next: usize,
    elems: core::slice::Iter<'a, Elem<'a>>,
    locale: Locale,
}

impl<'a> Segments<'a> {
    /// One plain string.
    pub fn single(text: &'a str) -> Self {
        Segments::from_head([text, "", "", "", ""], 1)
    }

    /// Two strings joined (`c2c:` + account).
    pub fn pair(first: &'a str, second: &'a str) -> Self {
        Segments::from_head([first, second, "", "", ""], 2)
    }

    fn from_head(head: [&'a str; 5], head_len: usize) -> Self {
        Segments {
            head,
            head_len,
            next: 0,
            elems: [].iter(),
            locale: Locale::En,
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
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn next(&mut self) -> Option<&'a str> {
        while self.next < self.head_len {
            let piece = self.head.get(self.next).copied().unwrap_or_default();
            self.next += 1;
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        for elem in self.elems.by_ref() {
            let piece = fragment(elem, self.locale);
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        None
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
                let (head, head_len) = match (name.is_empty(), group_name.is_empty()) {
                    (true, true) => (["", "", "", "", ""], 0),
                    (false, true) => ([name, NAME_SEPARATOR, "", "", ""], 2),
                    (_, false) => (
                        [name, GROUP_OPEN, group_name, GROUP_CLOSE, NAME_SEPARATOR],
                        5,
                    ),
                };
                Segments {
                    head,
                    head_len,
                    next: 0,
                    elems: elems.iter(),
                    locale,
                }
            }
        }
    }
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

/// The conversation key: `c2c:<From_Account>` or `group:<GroupId>`.
pub fn thread_key<'a>(message: &Message<'a>) -> Segments<'a> {
    match message.conversation {
        Conversation::C2c { .. } => Segments::pair(THREAD_C2C, message.sender.account),
        Conversation::Group(group) => Segments::pair(THREAD_GROUP, group.id),
    }
}
