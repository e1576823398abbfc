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
//! #     },
//! #     recipient: Recipient {
//! #         account: "bob",
//! #         device: Device { channel: Channel::Apns, token: "a1b2", state: DeviceState::Background },
//! #         badge: 4, push_enabled: true, c2c_sound: "", group_sound: "",
//! #         receive_opt: ReceiveOpt::Receive, global_receive_opt: ReceiveOpt::Receive,
//! #         dnd: None, locale: Locale::En,
//! #     },
//! #     app: App { bundle_id: "com.example.chat", package_name: "", badge_class: "" },
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
//! | `message.elems` | length, then each `Elem`: variant 0 `Text(str)`, 1 `Image`, 2 `Sound`, 3 `File`, 4 `Video`, 5 `Face`, 6 `Location`, 7 `Custom { desc, ext, sound }`, 8 `Relay(title)`, 9 `GroupTips`; at most [`MAX_ELEMS`] |
//! | `message.push_info` | option of `PushInfo { disabled, title, desc, ext, android, apns }`, `android` and `apns` being `AndroidInfo` and `ApnsInfo` field by field in declaration order |
//! | `message.online_only` | bool |
//! | `message.life_time` | option of u32 |
//! | `message.with_mute_notifications` | bool |
//! | `message.mentions` | length, then each: variant 0 `All`, 1 `Account(str)`; at most [`MAX_MENTIONS`] |
//! | `message.is_system` | bool |
//! | `recipient` | `account`; `device { channel, token, state }`; `badge` u32; `push_enabled`; `c2c_sound`; `group_sound`; `receive_opt`, `global_receive_opt` (variants 0–4 in code order); `dnd`: option of variant 0 `Daily { start_second u32, duration u32, utc_offset i32 }`, 1 `Absolute { start i64, duration u32 }`; `locale`: 0 `En`, 1 `Zh` |
//! | `app` | `bundle_id`, `package_name`, `badge_class` |
//! | `now` | i64 |
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
//!
//! Decisions: a job is exactly one case, so bytes after it are
//! [`WireError::Trailing`]; the decoder reads elems and mentions into
//! fixed storage of the model's capacities and reports more as
//! [`WireError::TooMany`] rather than truncating; the decoded case is not
//! validated beyond its encoding (that is [`crate::decide()`]'s job).

use core::fmt;
use core::marker::PhantomData;

use heapless::Vec;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Field;
use crate::model::{
    App, Case, Conversation, Elem, Mention, Message, Origin, PushInfo, Recipient, Sender,
    MAX_ELEMS, MAX_MENTIONS,
};

/// The layout version this build writes and reads (byte 0 of a job).
pub const VERSION: u8 = 2;

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
    /// More entries than the model holds: in the case to encode, or
    /// claimed by the job being decoded.
    TooMany(Field),
    /// The output buffer is too small for the job.
    BufferFull,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::Version(v) => write!(f, "job version {v}, expected {VERSION}"),
            WireError::Truncated => f.write_str("job ends early"),
            WireError::Malformed => f.write_str("not a job"),
            WireError::Trailing => f.write_str("bytes after the job"),
            WireError::TooMany(field) => write!(f, "{}: too many entries", field.key()),
            WireError::BufferFull => f.write_str("job does not fit the buffer"),
        }
    }
}

/// A decoded job: the case in fixed storage, its strings borrowed from
/// the input bytes; [`Job::case`] lends it.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    elems: Vec<Elem<'a>, MAX_ELEMS>,
    mentions: Vec<Mention<'a>, MAX_MENTIONS>,
    /// Everything but the two slices, which point into `self`.
    case: Case<'a>,
}

impl Job<'_> {
    /// The case, borrowing the elems and mentions from `self`.
    pub fn case(&self) -> Case<'_> {
        let mut case: Case<'_> = self.case;
        case.message.elems = &self.elems;
        case.message.mentions = &self.mentions;
        case
    }
}

/// Writes `case` as a job into `out`; returns the bytes written.
pub fn encode(case: &Case<'_>, out: &mut [u8]) -> Result<usize, WireError> {
    let m = &case.message;
    if m.elems.len() > MAX_ELEMS {
        return Err(WireError::TooMany(Field::MsgBody));
    }
    if m.mentions.len() > MAX_MENTIONS {
        return Err(WireError::TooMany(Field::GroupAtInfo));
    }
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
            mentions: m.mentions,
            is_system: m.is_system,
        },
        recipient: &case.recipient,
        app: &case.app,
        now: case.now,
    };
    let written = postcard::to_slice(&job, body).map_err(|e| match e {
        postcard::Error::SerializeBufferFull => WireError::BufferFull,
        // The other serialize errors are for types a job does not have.
        _ => WireError::Malformed,
    })?;
    Ok(written.len() + 1)
}

/// Reads one job; its strings borrow from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Job<'_>, WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Truncated)?;
    if version != VERSION {
        return Err(WireError::Version(version));
    }
    let (job, rest) = postcard::take_from_bytes::<JobIn<'_>>(body).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => WireError::Truncated,
        _ => WireError::Malformed,
    })?;
    if !rest.is_empty() {
        return Err(WireError::Trailing);
    }
    let m = job.message;
    if m.elems.overflow {
        return Err(WireError::TooMany(Field::MsgBody));
    }
    if m.mentions.overflow {
        return Err(WireError::TooMany(Field::GroupAtInfo));
    }
    Ok(Job {
        elems: m.elems.items,
        mentions: m.mentions.items,
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
            },
            recipient: job.recipient,
            app: job.app,
            now: job.now,
        },
    })
}

// The two mirrors below are the layout: `MessageOut` writes the model's
// slices, `MessageIn` reads them into fixed storage; field order must match.

#[derive(Serialize)]
struct JobOut<'c, 'a> {
    message: MessageOut<'c, 'a>,
    recipient: &'c Recipient<'a>,
    app: &'c App<'a>,
    now: i64,
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
    mentions: &'c [Mention<'a>],
    is_system: bool,
}

#[derive(Deserialize)]
struct JobIn<'a> {
    #[serde(borrow)]
    message: MessageIn<'a>,
    #[serde(borrow)]
    recipient: Recipient<'a>,
    #[serde(borrow)]
    app: App<'a>,
    now: i64,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow)]
    sender: Sender<'a>,
    #[serde(borrow)]
    conversation: Conversation<'a>,
    origin: Origin,
    #[serde(borrow)]
    elems: Capped<Elem<'a>, MAX_ELEMS>,
    #[serde(borrow)]
    push_info: Option<PushInfo<'a>>,
    online_only: bool,
    life_time: Option<u32>,
    with_mute_notifications: bool,
    #[serde(borrow)]
    mentions: Capped<Mention<'a>, MAX_MENTIONS>,
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
