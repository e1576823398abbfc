//! The job an edge relay sends to a gateway (feature `postcard`): one case,
//! encoded with postcard behind a version byte, decoded zero-copy.
//!
//! ```
//! # use tidings_core::model::*;
//! use tidings_core::wire;
//! # let elems = [Elem::Text("hi")];
//! # let case = Case {
//! #     message: Message {
//! #         sender: Sender { account: "ann", nick: "Ann", name_card: "" },
//! #         conversation: Conversation::C2c { to_account: "bob" },
//! #         origin: Origin::Rest, elems: &elems, push_info: None, online_only: false,
//! #         life_time: None, with_mute_notifications: false, mentions: &[], is_system: false,
//! #         msg_key: "144115233406224478-1700000000-1", msg_seq: None,
//! #     },
//! #     recipient: Recipient {
//! #         account: "bob",
//! #         device: Device { channel: Channel::Apns, token: "a1b2", state: DeviceState::Background },
//! #         badge: 4, push_enabled: true, c2c_sound: "", group_sound: "",
//! #         receive_opt: ReceiveOpt::Receive, global_receive_opt: ReceiveOpt::Receive,
//! #         dnd: None, locale: Locale::En,
//! #     },
//! #     app: App { bundle_id: "com.example.chat", package_name: "", badge_class: "", harmony_category: "" },
//! #     now: 1_795_236_000,
//! # };
//! let mut buf = [0u8; 512];
//! let len = wire::encode(&case, &mut buf).unwrap();
//! let job = wire::decode(&buf[..len]).unwrap();
//! assert_eq!(job.case(), case); // every string in it points into `buf`
//! ```
//!
//! # Layout
//!
//! Byte 0 is [`VERSION`]. The rest is the postcard encoding (postcard 1.x
//! wire format) of the case's fields in this order, with no names, no
//! padding and no length of the whole:
//!
//! | part | encoding |
//! | --- | --- |
//! | `message.sender` | `account`, `nick`, `name_card`: strings |
//! | `message.conversation` | variant 0 `C2c { to_account }`, 1 `Group { id, name, kind }` |
//! | `message.origin` | variant 0 `Rest`, 1 `Sdk`, 2 `SdkOptIn` |
//! | `message.elems` | length, then each `Elem`: variant 0 `Text(str)`, 1 `Image`, 2 `Sound`, 3 `File`, 4 `Video`, 5 `Face`, 6 `Location`, 7 `Custom { desc, ext, sound }`, 8 `Relay(title)`, 9 `GroupTips` |
//! | `message.push_info` | option of `PushInfo { disabled, title, desc, ext, android, apns }`, `android` and `apns` being `AndroidInfo` and `ApnsInfo` field by field in declaration order |
//! | `message.online_only` | bool |
//! | `message.life_time` | option of u32 |
//! | `message.with_mute_notifications` | bool |
//! | `message.mention` | option of the one mention the rules read ([`relevant_mention`]): variant 0 `All`, 1 `Account(str)` |
//! | `message.is_system` | bool |
//! | `recipient` | `account`; `device { channel, token, state }`; `badge` u32; `push_enabled`; `c2c_sound`; `group_sound`; `receive_opt`, `global_receive_opt` (variants 0–4 in code order); `dnd`: option of variant 0 `Daily { start_second u32, duration u32, utc_offset i32 }`, 1 `Absolute { start i64, duration u32 }`; `locale`: 0 `En`, 1 `Zh` |
//! | `app` | `bundle_id`, `package_name`, `badge_class`, `harmony_category` |
//! | `now` | i64 |
//! | `message.msg_key`, `message.msg_seq` | string; option of u64 |
//!
//! where a length, a variant index, u16/u32 and u64 are unsigned LEB128
//! varints, i32/i64 zigzag then varint, u8 one byte, a bool one byte 0 or 1,
//! an option one byte 0 (none) or 1 followed by the value, a string its
//! byte length then its UTF-8 bytes. `Channel` variants are in
//! [`Channel::ALL`](crate::model::Channel::ALL) order, `DeviceState` 0 `Foreground`, 1 `Background`,
//! 2 `PushOnline`, 3 `Offline`, `GroupType` 0 `Work` … 4 `AvChatRoom`.
//!
//! The layout is the model's declaration order (its serde derives), so a
//! change to a model type's fields or variants changes the layout and must
//! bump [`VERSION`]; `tests/tests/wire.rs` pins the bytes of one job.
//! Fields added to a job go after `now`, so that a build can keep reading
//! the jobs an older one queued when nothing else changed: such an older
//! job decodes as one without the appended fields ([`OLDEST_READ`],
//! [`KEYED_SINCE`]).
//!
//! Decisions: a job is exactly one case, so bytes after it are
//! [`WireError::Trailing`]. The mention list is not sent whole: the relay
//! knows the recipient, so it sends only `@all` or the recipient's own
//! entry, which decides the same ([`relevant_mention`]); a job carries any
//! number of mentions in at most one entry. Elems are read into fixed
//! storage of [`MAX_ELEMS`] (240, the most a 12 KB message holds) or the
//! caller's `ELEMS` ([`Job::decode`]); more is [`WireError::TooMany`]
//! rather than a truncated message. The encoder sends any number. The
//! decoded case is not validated beyond its encoding (that is
//! [`crate::decide()`]'s job).

use core::fmt;
use core::marker::PhantomData;

use heapless::Vec;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::decide::relevant_mention;
use crate::error::Field;
use crate::model::{
    App, Case, Conversation, Elem, Mention, Message, Origin, PushInfo, Recipient, Sender, MAX_ELEMS,
};

/// The layout version this build writes (byte 0 of a job).
/// 4: `Channel` gained `Tpns` (variant 9), so a v3 reader cannot read
/// every v4 job. 5: `Channel` gained `Harmony` (variant 10), `AndroidInfo`
/// `harmony_category`, `harmony_image`, `ignore_harmony_badge` and `App`
/// `harmony_category`, and the message key (`msg_key`, `msg_seq`) follows
/// `now`: a v4 job is refused as [`WireError::Version`], as every earlier
/// bump did (a relay and its gateway upgrade together).
pub const VERSION: u8 = 5;
/// The oldest version this build reads. A bump that only appends fields
/// after `now` can keep reading the version before it (the appended
/// fields then default: see [`KEYED_SINCE`]); version 5 also changed
/// fields inside the case, so it reads only itself.
pub const OLDEST_READ: u8 = 5;
/// The first version whose jobs carry the message key after `now`.
pub const KEYED_SINCE: u8 = 5;

/// Why a job cannot be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// Byte 0 is a version this build does not read.
    Version(u8),
    /// The input ends inside the job.
    Truncated,
    /// Not a job: a bad variant, option or bool byte, varint or UTF-8.
    Malformed,
    /// Bytes follow the job.
    Trailing,
    /// The job claims more elems than the decoder's storage holds.
    TooMany(Field),
    /// The output buffer is too small for the job.
    BufferFull,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::Version(v) => {
                write!(f, "job version {v}, expected {OLDEST_READ} to {VERSION}")
            }
            WireError::Truncated => f.write_str("job ends early"),
            WireError::Malformed => f.write_str("not a job"),
            WireError::Trailing => f.write_str("bytes after the job"),
            WireError::TooMany(field) => write!(f, "{}: too many entries", field.key()),
            WireError::BufferFull => f.write_str("job does not fit the buffer"),
        }
    }
}

/// A decoded job: the case in fixed storage of `ELEMS` elems (by default
/// [`MAX_ELEMS`]), its strings borrowed from the input bytes;
/// [`Job::case`] lends it. On `thumbv7em-none-eabihf` a `Job` is 7,088
/// bytes, a `Job<32>` 1,264.
#[derive(Clone, Debug)]
pub struct Job<'a, const ELEMS: usize = MAX_ELEMS> {
    elems: Vec<Elem<'a>, ELEMS>,
    mention: Option<Mention<'a>>,
    /// Everything but the two slices, which point into `self`.
    case: Case<'a>,
}

impl<'a, const ELEMS: usize> Job<'a, ELEMS> {
    /// The case, borrowing the elems and the mention from `self`.
    pub fn case(&self) -> Case<'_> {
        let mut case: Case<'_> = self.case;
        case.message.elems = &self.elems;
        case.message.mentions = self.mention.as_slice();
        case
    }

    /// [`decode`] with room for `ELEMS` elems, e.g. `Job::<32>::decode(bytes)`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (&version, body) = bytes.split_first().ok_or(WireError::Truncated)?;
        if !(OLDEST_READ..=VERSION).contains(&version) {
            return Err(WireError::Version(version));
        }
        let (job, rest) = take::<JobIn<'_, ELEMS>>(body)?;
        let (key, rest) = if version >= KEYED_SINCE {
            take::<KeyIn<'_>>(rest)?
        } else {
            (KeyIn::default(), rest)
        };
        if !rest.is_empty() {
            return Err(WireError::Trailing);
        }
        let m = job.message;
        if m.elems.overflow {
            return Err(WireError::TooMany(Field::MsgBody));
        }
        Ok(Job {
            elems: m.elems.items,
            mention: m.mention,
            case: Case {
                message: Message {
                    sender: m.sender,
                    conversation: m.conversation,
                    origin: m.origin,
                    elems: &[],
                    push_info: m.push_info,
                    online_only: m.online_only,
                    life_time: m.life_time,
                    with_mute_notifications: m.with_mute_notifications,
                    mentions: &[],
                    is_system: m.is_system,
                    msg_key: key.msg_key,
                    msg_seq: key.msg_seq,
                },
                recipient: job.recipient,
                app: job.app,
                now: job.now,
            },
        })
    }
}

/// Writes `case` as a job into `out`; returns the bytes written. Only the
/// mention the rules read is sent (see the module docs).
pub fn encode(case: &Case<'_>, out: &mut [u8]) -> Result<usize, WireError> {
    let m = &case.message;
    let (version, body) = out.split_first_mut().ok_or(WireError::BufferFull)?;
    *version = VERSION;
    let job = JobOut {
        message: MessageOut {
            sender: &m.sender,
            conversation: &m.conversation,
            origin: m.origin,
            elems: m.elems,
            push_info: &m.push_info,
            online_only: m.online_only,
            life_time: m.life_time,
            with_mute_notifications: m.with_mute_notifications,
            mention: relevant_mention(m.mentions, case.recipient.account),
            is_system: m.is_system,
        },
        recipient: &case.recipient,
        app: &case.app,
        now: case.now,
        msg_key: m.msg_key,
        msg_seq: m.msg_seq,
    };
    let written = postcard::to_slice(&job, body).map_err(|e| match e {
        postcard::Error::SerializeBufferFull => WireError::BufferFull,
        // The other serialize errors are for types a job does not have.
        _ => WireError::Malformed,
    })?;
    Ok(written.len() + 1)
}

/// One postcard value from the front of `bytes`, and the rest.
fn take<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), WireError> {
    postcard::take_from_bytes::<T>(bytes).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => WireError::Truncated,
        _ => WireError::Malformed,
    })
}

/// Reads one job into [`MAX_ELEMS`] elems of storage; its strings borrow
/// from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Job<'_>, WireError> {
    Job::decode(bytes)
}

// The two mirrors below are the layout: `MessageOut` writes the model's
// slices, `MessageIn` reads them into fixed storage; field order must match.

#[derive(Serialize)]
struct JobOut<'c, 'a> {
    message: MessageOut<'c, 'a>,
    recipient: &'c Recipient<'a>,
    app: &'c App<'a>,
    now: i64,
    msg_key: &'a str,
    msg_seq: Option<u64>,
}

#[derive(Serialize)]
struct MessageOut<'c, 'a> {
    sender: &'c Sender<'a>,
    conversation: &'c Conversation<'a>,
    origin: Origin,
    elems: &'c [Elem<'a>],
    push_info: &'c Option<PushInfo<'a>>,
    online_only: bool,
    life_time: Option<u32>,
    with_mute_notifications: bool,
    mention: Option<Mention<'a>>,
    is_system: bool,
}

#[derive(Deserialize)]
struct JobIn<'a, const ELEMS: usize> {
    #[serde(borrow)]
    message: MessageIn<'a, ELEMS>,
    #[serde(borrow)]
    recipient: Recipient<'a>,
    #[serde(borrow)]
    app: App<'a>,
    now: i64,
}

/// What version 5 added after `now`.
#[derive(Deserialize, Default)]
struct KeyIn<'a> {
    msg_key: &'a str,
    msg_seq: Option<u64>,
}

#[derive(Deserialize)]
struct MessageIn<'a, const ELEMS: usize> {
    #[serde(borrow)]
    sender: Sender<'a>,
    #[serde(borrow)]
    conversation: Conversation<'a>,
    origin: Origin,
    #[serde(borrow)]
    elems: Capped<Elem<'a>, ELEMS>,
    #[serde(borrow)]
    push_info: Option<PushInfo<'a>>,
    online_only: bool,
    life_time: Option<u32>,
    with_mute_notifications: bool,
    #[serde(borrow)]
    mention: Option<Mention<'a>>,
    is_system: bool,
}

/// A sequence read into at most `N` entries; the rest are read (so the
/// decoder stays in step) and only counted.
struct Capped<T, const N: usize> {
    items: Vec<T, N>,
    overflow: bool,
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Capped<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Items<T, N> {
            type Value = Capped<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Capped {
                    items: Vec::new(),
                    overflow: false,
                };
                while let Some(item) = seq.next_element::<T>()? {
                    out.overflow |= out.items.push(item).is_err();
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Items(PhantomData))
    }
}
