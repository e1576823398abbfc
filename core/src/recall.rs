//! Recall and edit: one key per IM message, and the key each provider
//! replaces a shown notification by.
//!
//! A recall or edit can only reach a notification that was marked when it
//! was sent, so every push of a message with a [`MessageKey`] carries its
//! [`ReplaceKey`] (beyond.md §13). The key is derived from the message's
//! identity alone, so a recall that names only the message (Tencent's
//! callbacks: `MsgKey`, or `GroupId` + `MsgSeq`) finds the same key again.

use crate::model::{Conversation, Locale, Message};
use crate::write::Decimal;

/// The IM message's identity, as Tencent IM's recall callbacks name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MessageKey<'a> {
    /// A C2C message: `MsgKey` (what `sendmsg` answers,
    /// `C2C.CallbackAfterMsgWithDraw`'s `MsgKey`).
    C2c { msg_key: &'a str },
    /// A group message: `MsgSeq` in `GroupId` (what `send_group_msg`
    /// answers, `Group.CallbackAfterRecallMsg`'s `MsgSeqList`).
    Group { group_id: &'a str, msg_seq: u64 },
}

impl<'a> MessageKey<'a> {
    /// The key of a message: `Message.MsgKey` for a C2C message,
    /// `Message.MsgSeq` for a group message; `None` when the one its
    /// conversation needs is not given (the other is ignored: a C2C
    /// message has no sequence Tencent's recall names, a group message no
    /// `MsgKey`).
    pub fn of(message: &Message<'a>) -> Option<Self> {
        match message.conversation {
            Conversation::C2c { .. } if !message.msg_key.is_empty() => Some(MessageKey::C2c {
                msg_key: message.msg_key,
            }),
            Conversation::Group(group) => message.msg_seq.map(|msg_seq| MessageKey::Group {
                group_id: group.id,
                msg_seq,
            }),
            Conversation::C2c { .. } => None,
        }
    }

    /// Calls `f` with the identity's bytes in order: `c2c:<MsgKey>` or
    /// `group:<GroupId>:<MsgSeq>` (what [`core::fmt::Display`] writes; the
    /// prefixes keep a C2C key from ever naming a group message).
    fn for_each_part(&self, mut f: impl FnMut(&[u8])) {
        match *self {
            MessageKey::C2c { msg_key } => {
                f(b"c2c:");
                f(msg_key.as_bytes());
            }
            MessageKey::Group { group_id, msg_seq } => {
                f(b"group:");
                f(group_id.as_bytes());
                f(b":");
                f(Decimal::u64(msg_seq).as_bytes());
            }
        }
    }

    /// The replace keys every push of this message carries.
    pub fn replace_key(&self) -> ReplaceKey {
        let mut key = ReplaceKey {
            notify_id: 0,
            collapse: [0u8; COLLAPSE_LIMIT],
            collapse_len: 0,
            meizu: [0u8; MEIZU_KEY_LEN],
        };
        let mut hash = FNV_OFFSET;
        let mut len = 0usize;
        let mut visible = true;
        self.for_each_part(|part| {
            for &byte in part {
                hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
                visible &= byte.is_ascii_graphic();
                if let Some(slot) = key.collapse.get_mut(len) {
                    *slot = byte;
                }
                len = len.saturating_add(1);
            }
        });
        key.collapse_len = if visible && len <= COLLAPSE_LIMIT {
            len as u8
        } else {
            // Too long, or not a header value: `m-` and the hash in hex
            // (the identity's bytes after them are zeroed).
            for (i, slot) in key.collapse.iter_mut().enumerate() {
                *slot = match i {
                    0 => b'm',
                    1 => b'-',
                    2..HASHED_COLLAPSE_LEN => {
                        let digit = (hash >> ((HASHED_COLLAPSE_LEN - 1 - i) * 4)) & 0xf;
                        HEX.get(digit as usize).copied().unwrap_or(0)
                    }
                    _ => 0,
                };
            }
            HASHED_COLLAPSE_LEN as u8
        };
        for (i, slot) in key.meizu.iter_mut().enumerate() {
            let sextet = ((hash >> (i * 6)) & 0x3f) as usize;
            *slot = BASE64URL.get(sextet).copied().unwrap_or(b'_');
        }
        let folded = hash ^ (hash >> 32);
        // 1…2³¹−1: every provider's notify id range, never 0 or −1 (those
        // mean "a new notification" at some vendors).
        key.notify_id = (folded % NOTIFY_ID_MAX) as u32 + 1;
        key
    }
}

impl core::fmt::Display for MessageKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut result = Ok(());
        self.for_each_part(|part| {
            if result.is_ok() {
                // Every part is UTF-8: a str, an ASCII literal, digits.
                result = core::str::from_utf8(part)
                    .map_err(|_| core::fmt::Error)
                    .and_then(|s| f.write_str(s));
            }
        });
        result
    }
}

/// What a shown notification is replaced with: the message was recalled,
/// or edited to a new text. The replacement is the same message's push
/// (`Notification::replaced` (feature `recall`)): the same replace key, the
/// original title (whose message it was), no sound, no badge change.
///
/// The recall text is not subject to the suppression rules: a replacement
/// is rendered only for a device that was notified, which the caller (the
/// gateway) knows and the rules do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement<'a> {
    /// The body becomes [`RECALLED_EN`] or [`RECALLED_ZH`] by
    /// `Recipient.Locale`.
    Recalled,
    /// The body becomes `text` as given (the whole body, no name prefix,
    /// like `OfflinePushInfo.Desc`); a blank text is refused when
    /// rendering (`Invalid(Body)`).
    Edited { text: &'a str },
}

/// The body of a recalled message's replacement, English.
pub const RECALLED_EN: &str = "This message was recalled";
/// The body of a recalled message's replacement, Chinese.
pub const RECALLED_ZH: &str = "此消息已被撤回";

impl<'a> Replacement<'a> {
    /// The replacement's body for a recipient in `locale`.
    pub const fn text(self, locale: Locale) -> &'a str {
        match (self, locale) {
            (Replacement::Edited { text }, _) => text,
            (Replacement::Recalled, Locale::En) => RECALLED_EN,
            (Replacement::Recalled, Locale::Zh) => RECALLED_ZH,
        }
    }
}

/// The longest `Message.MsgKey` a case may carry, in bytes (Tencent's are
/// about 30): longer is `Invalid(MsgKey)` ([`crate::decide::validate`]).
pub const MSG_KEY_LIMIT: usize = 128;
/// `apns-collapse-id`'s limit, and the longest tag written as it is.
pub const COLLAPSE_LIMIT: usize = 64;
const HASHED_COLLAPSE_LEN: usize = 18;
/// Meizu `notifyKey`: at most 8 of `[0-9A-Za-z_-]` (vendors.md §8).
pub const MEIZU_KEY_LEN: usize = 8;
const NOTIFY_ID_MAX: u64 = 0x7fff_ffff;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// What a provider replaces a shown notification by, for one message.
///
/// Derived from the message's identity with 64-bit FNV-1a: stable across
/// processes and versions (a recall after an upgrade finds the same keys),
/// not cryptographic. Two messages whose 31-bit notify ids (or Meizu keys)
/// collide would replace each other's notification: about one pair in two
/// billion (one in 2⁴⁸ for Meizu) — the providers give no wider field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplaceKey {
    notify_id: u32,
    collapse: [u8; COLLAPSE_LIMIT],
    collapse_len: u8,
    meizu: [u8; MEIZU_KEY_LEN],
}

impl ReplaceKey {
    /// APNs `apns-collapse-id`, FCM/Huawei/Honor `tag`, HarmonyOS
    /// `appMessageId`: the identity itself when it is at most 64 visible
    /// ASCII bytes, else `m-` and its hash in 16 hex digits.
    pub fn collapse(&self) -> &str {
        let bytes = self
            .collapse
            .get(..usize::from(self.collapse_len))
            .unwrap_or_default();
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The 31-bit notify id (1…2³¹−1) of Huawei-family, HarmonyOS,
    /// Xiaomi, OPPO, vivo and TPNS pushes.
    pub fn notify_id(&self) -> u32 {
        self.notify_id
    }

    /// Meizu's `notifyKey`: 8 characters of `[0-9A-Za-z_-]`.
    pub fn meizu_key(&self) -> &str {
        core::str::from_utf8(&self.meizu).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;

    fn c2c(msg_key: &str) -> ReplaceKey {
        MessageKey::C2c { msg_key }.replace_key()
    }

    #[test]
    fn a_short_identity_is_its_own_collapse_key() {
        assert_eq!(
            c2c("31906_833502_1572869830").collapse(),
            "c2c:31906_833502_1572869830"
        );
        let group = MessageKey::Group {
            group_id: "@TGS#2J4SZEAEL",
            msg_seq: 42,
        };
        assert_eq!(group.replace_key().collapse(), "group:@TGS#2J4SZEAEL:42");
    }

    #[test]
    fn a_long_or_invisible_identity_collapses_to_its_hash() {
        let long: String = "k".repeat(61); // "c2c:" + 61 = 65 bytes
        let key = c2c(&long);
        assert_eq!(key.collapse().len(), HASHED_COLLAPSE_LEN);
        assert!(key.collapse().starts_with("m-"));
        assert_eq!(c2c(&"k".repeat(60)).collapse().len(), COLLAPSE_LIMIT);
        let spaced = c2c("a b");
        assert!(spaced.collapse().starts_with("m-"));
        assert!(spaced.collapse()[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn keys_are_pinned_so_a_recall_after_an_upgrade_finds_them() {
        // FNV-1a 64 of "c2c:a" is 0x4c676ab1e705cfa8 (computed apart).
        let key = c2c("a");
        assert_eq!(key.notify_id(), 1_144_093_310);
        assert_eq!(key.meizu_key(), "o-cBnHra");
    }

    #[test]
    fn notify_ids_and_meizu_keys_are_in_every_providers_range() {
        for i in 0..2_000u64 {
            let group = MessageKey::Group {
                group_id: "g",
                msg_seq: i,
            };
            for key in [group.replace_key(), c2c(Decimal::u64(i).as_str())] {
                assert!((1..=0x7fff_ffff).contains(&key.notify_id()));
                assert_eq!(key.meizu_key().len(), MEIZU_KEY_LEN);
                assert!(key
                    .meizu_key()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            }
        }
    }

    #[test]
    fn c2c_and_group_identities_never_meet() {
        let group = MessageKey::Group {
            group_id: "x",
            msg_seq: 1,
        };
        assert_ne!(group.replace_key(), c2c("x:1"));
        use std::string::ToString;
        assert_eq!(group.to_string(), "group:x:1");
        assert_eq!(MessageKey::C2c { msg_key: "k" }.to_string(), "c2c:k");
    }
}
