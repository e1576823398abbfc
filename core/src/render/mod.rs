//! Provider renderers: one file per provider, each with its limits as named
//! consts at the top. All write through [`crate::write`], so escaping,
//! form encoding and cutting exist once.
//!
//! Texts a provider would refuse (the spec leaves what to do open):
//!
//! | provider | falls back | refuses the push |
//! | --- | --- | --- |
//! | Xiaomi | a blank title to the next non-blank of `OfflinePushInfo.Title`, nickname, `From_Account` (group: group name, `GroupId`); a blank `Desc` to the body composed from the elems | `Invalid(Title)` / `Invalid(Body)` when the whole chain is blank (§5.2) |
//! | Huawei, Honor, OPPO, vivo, Meizu, TPNS | — (an empty title already falls back along the chain in [`crate::decide()`]; whitespace is not refused by these providers, so it is sent as is) | `Invalid(Title)` when every title source is empty |
//! | FCM | — | never: an absent title is left out |
//! | APNs | — | never: title and subtitle are optional |
//!
//! The body is never empty when rendering: an empty one is `NoDisplayText`.
//! [`title`] and [`body`] say which texts a channel is sent.

use crate::decide::Notification;
use crate::error::Error;
use crate::model::Channel;
use crate::text::Body;

pub mod apns;
pub mod fcm;
pub mod honor;
pub mod huawei;
pub mod meizu;
pub mod oppo;
pub mod tpns;
pub mod vivo;
pub mod xiaomi;

mod kit;

pub use kit::{ApnsHeaders, CollapseId, Headers, Rendered, Warnings};

/// The title the recipient's provider is sent, before any cut; empty =
/// none. [`Rendered::cut`]'s `title` is measured in this text.
pub fn title<'a>(n: &Notification<'a>) -> &'a str {
    match n.case.recipient.device.channel {
        Channel::Apns | Channel::ApnsVoip => n.ios_title(),
        Channel::Xiaomi => xiaomi::title(n),
        _ => n.android_title(),
    }
}

/// The body the recipient's provider is sent, before any cut.
/// [`Rendered::cut`]'s `body` is measured in this text.
pub fn body<'a>(n: &Notification<'a>) -> Body<'a> {
    match n.case.recipient.device.channel {
        Channel::Xiaomi => xiaomi::description(n),
        _ => n.body(),
    }
}

/// Renders the notification for the recipient device's channel into `buf`.
pub fn render<'a>(notification: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    match notification.case.recipient.device.channel {
        Channel::Apns | Channel::ApnsVoip => apns::render(notification, buf),
        Channel::Vivo => vivo::render(notification, buf),
        Channel::Meizu => meizu::render(notification, buf),
        Channel::Xiaomi => xiaomi::render(notification, buf),
        Channel::Oppo => oppo::render(notification, buf),
        Channel::Fcm => fcm::render(notification, buf),
        Channel::Huawei => huawei::render(notification, buf),
        Channel::Honor => honor::render(notification, buf),
        Channel::Tpns => tpns::render(notification, buf),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::model::{ApnsInfo, Channel, Conversation, Elem, Group, GroupType, PushInfo, Sender};
    use crate::recall::MessageKey;
    use crate::render::{CollapseId, Headers};
    use crate::testkit::{case, render_full, render_str, ANN, C2C};

    /// A Tencent-shaped C2C `MsgKey`.
    const MSG_KEY: &str = "31906_833502_1572869830";
    /// Each channel's device token in the keyed fixtures.
    fn token(channel: Channel) -> &'static str {
        if channel.is_apple() {
            "a1b2"
        } else {
            "t-1"
        }
    }

    /// Where each channel carries a keyed message's replace key, as the
    /// payload spells it (the pinned key: `c2c:31906_833502_1572869830`,
    /// notify id 1021119096, Meizu key `qsPpTrcB`); APNs carries it in
    /// `apns-collapse-id` (checked apart).
    const KEYED: [(Channel, &[&str]); 9] = [
        (Channel::Fcm, &[r#""tag":"c2c:31906_833502_1572869830""#]),
        (
            Channel::Huawei,
            &[r#""tag":"c2c:31906_833502_1572869830","notify_id":1021119096"#],
        ),
        (
            Channel::Honor,
            &[r#""tag":"c2c:31906_833502_1572869830","notifyId":1021119096"#],
        ),
        (Channel::Xiaomi, &["&notify_type=-1&notify_id=1021119096&"]),
        (Channel::Oppo, &["%22notify_id%22%3A1021119096%7D"]),
        (Channel::Vivo, &[r#""pushMode":0,"notifyId":1021119096}"#]),
        (
            Channel::Meizu,
            &["%22advanceInfo%22%3A%7B%22notifyKey%22%3A%22qsPpTrcB%22%7D%7D"],
        ),
        (Channel::Tpns, &[r#""android":{"n_id":1021119096}"#]),
        (Channel::Apns, &[r#""thread-id":"c2c:ann""#]),
    ];

    /// Every channel marks a keyed message with its replace key, exactly
    /// where the provider takes it; the same message without a key renders
    /// as it always did (no notify id, the conversation as tag).
    #[test]
    fn a_keyed_message_carries_its_replace_key_on_every_channel() {
        let elems = [Elem::Text("hi")];
        for (channel, members) in KEYED {
            let c = case(channel, token(channel), ANN, C2C, &elems, None);
            let (plain, plain_r) = render_full(&c).unwrap();
            let mut k = c;
            k.message.msg_key = MSG_KEY;
            let (keyed, r) = render_full(&k).unwrap();
            for member in members {
                assert!(keyed.contains(member), "{channel:?}: {keyed}");
                assert!(
                    !plain.contains(member) || channel == Channel::Apns,
                    "{plain}"
                );
            }
            for absent in ["notify_id", "notifyId", "\"n_id\"", "notifyKey", "31906"] {
                assert!(!plain.contains(absent), "{channel:?}: {plain}");
            }
            match (r.headers, plain_r.headers) {
                (Headers::Apns(keyed), Headers::Apns(plain)) => {
                    let want = CollapseId::from("c2c:31906_833502_1572869830");
                    assert_eq!(keyed.collapse_id, Some(want));
                    assert_eq!(plain.collapse_id, None);
                }
                (keyed, _) => assert_eq!(keyed, Headers::None, "{channel:?}"),
            }
        }
    }

    /// The pins above are the recall module's keys, not numbers of their
    /// own: a change to one shows here first.
    #[test]
    fn the_keyed_fixture_pins_are_the_messages_keys() {
        let key = MessageKey::C2c { msg_key: MSG_KEY }.replace_key();
        assert_eq!(key.collapse(), "c2c:31906_833502_1572869830");
        assert_eq!(key.notify_id(), 1_021_119_096);
        assert_eq!(key.meizu_key(), "qsPpTrcB");
    }

    /// An explicit `ApnsInfo.CollapseId` wins over the message's key (a
    /// recall then replaces by that id); `thread-id` stays the conversation.
    #[test]
    fn an_explicit_collapse_id_wins_over_the_message_key() {
        let elems = [Elem::Text("hi")];
        let info = PushInfo {
            apns: ApnsInfo {
                collapse_id: "chat-7",
                ..ApnsInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = case(Channel::Apns, "a1b2", ANN, C2C, &elems, Some(info));
        c.message.msg_key = MSG_KEY;
        let (payload, r) = render_full(&c).unwrap();
        assert!(payload.contains(r#""thread-id":"c2c:ann""#), "{payload}");
        let Headers::Apns(h) = r.headers else {
            panic!("no APNs headers")
        };
        assert_eq!(h.collapse_id, Some(CollapseId::from("chat-7")));
    }

    /// A group message is keyed by `MsgSeq` in its group; a `MsgKey` on it
    /// (or a `MsgSeq` on a C2C message) keys nothing.
    #[test]
    fn group_messages_are_keyed_by_their_sequence() {
        let elems = [Elem::Text("hi")];
        let group = Conversation::Group(Group {
            id: "@TGS#2J4SZEAEL",
            name: "Dev",
            kind: GroupType::Work,
        });
        let mut c = case(Channel::Fcm, "t-1", ANN, group, &elems, None);
        c.message.msg_key = MSG_KEY;
        let (payload, _) = render_str(&c).unwrap();
        assert!(
            payload.contains(r#""tag":"group:@TGS#2J4SZEAEL""#),
            "{payload}"
        );
        c.message.msg_seq = Some(42);
        let (payload, _) = render_str(&c).unwrap();
        assert!(
            payload.contains(r#""tag":"group:@TGS#2J4SZEAEL:42""#),
            "{payload}"
        );
        let mut c2c = case(Channel::Fcm, "t-1", ANN, C2C, &elems, None);
        c2c.message.msg_seq = Some(42);
        let (payload, _) = render_str(&c2c).unwrap();
        assert!(payload.contains(r#""tag":"c2c:ann""#), "{payload}");
    }

    /// The thread key's prefix is stored as is and its id escaped
    /// (`Writer::thread_key_member`), in every provider that sends it.
    #[test]
    fn thread_key_ids_are_escaped_behind_their_prefix() {
        let sender = Sender {
            account: "a\"b\\",
            nick: "Ann",
            name_card: "",
        };
        let c2c = Conversation::C2c { to_account: "bob" };
        let group = Conversation::Group(Group {
            id: "g\"1\n",
            name: "Dev",
            kind: GroupType::Work,
        });
        let elems = [Elem::Text("hi")];
        for (channel, token, key) in [
            (Channel::Apns, "a1b2", "thread-id"),
            (Channel::Fcm, "t-1", "tag"),
            (Channel::Huawei, "t-1", "tag"),
            (Channel::Honor, "t-1", "tag"),
        ] {
            for (conversation, value) in [(c2c, r#"c2c:a\"b\\"#), (group, r#"group:g\"1\n"#)] {
                let c = case(channel, token, sender, conversation, &elems, None);
                let (payload, _) = render_str(&c).unwrap();
                let member = std::format!(r#""{key}":"{value}""#);
                assert!(payload.contains(&member), "{channel:?}: {payload}");
            }
        }
    }
}
