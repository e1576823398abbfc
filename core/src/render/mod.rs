//! Provider renderers: one file per provider, each with its limits as named
//! consts at the top. All write through [`crate::write`], so escaping,
//! form encoding and cutting exist once.
//!
//! Texts a provider would refuse (the spec leaves what to do open):
//!
//! | provider | falls back | refuses the push |
//! | --- | --- | --- |
//! | Xiaomi | a blank title to the next non-blank of `OfflinePushInfo.Title`, nickname, `From_Account` (group: group name, `GroupId`); a blank `Desc` to the body composed from the elems | `Invalid(Title)` / `Invalid(Body)` when the whole chain is blank (§5.2) |
//! | Huawei, Honor, OPPO, vivo, Meizu, TPNS, HarmonyOS | — (an empty title already falls back along the chain in [`crate::decide()`]; whitespace is not refused by these providers, so it is sent as is) | `Invalid(Title)` when every title source is empty |
//! | FCM | — | never: an absent title is left out |
//! | APNs | — | never: title and subtitle are optional |
//!
//! The body is never empty when rendering: an empty one is `NoDisplayText`.
//! [`title`] and [`body`] say which texts a channel is sent.
//!
//! Recall and edit ([`crate::recall`]): a replacement
//! (`Notification::replaced` (feature `recall`)) renders through [`render`] like the
//! message's own push, silent, with the same replace key; [`revoke`]
//! renders the request that deletes a shown notification where the
//! provider has one (Xiaomi); [`removal`] renders the background push an
//! app that opted in acts on (APNs, FCM).

use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::model::Channel;
use crate::recall::{ReplaceKey, Replacement};
use crate::text::{is_blank, Body};
use crate::write::{fit, key, Layout, Writer};

pub mod apns;
pub mod fcm;
pub mod harmony;
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
///
/// A replacement needs a message key (`Invalid(MsgKey)` without one: it
/// would show as a new notification) and an edit a non-blank text
/// (`Invalid(Body)`).
pub fn render<'a>(notification: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    match notification.replacement() {
        Some(_) if notification.message_key().is_none() => {
            return Err(Error::Invalid(Field::MsgKey))
        }
        Some(Replacement::Edited { text }) if is_blank(text) => {
            return Err(Error::Invalid(Field::Body))
        }
        _ => {}
    }
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
        Channel::Harmony => harmony::render(notification, buf),
    }
}

/// The request that deletes the message's shown (or undelivered)
/// notification, for a provider with a revoke API ([`Channel::revocable`]):
/// Xiaomi's `/v3/message/regid/revoke` form ([`xiaomi::revoke`]),
/// HarmonyOS's `messages:revoke` JSON ([`harmony_revoke`]). `None` for
/// every other channel, and for a message without a key (nothing was
/// marked, so there is nothing to name).
pub fn revoke<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Option<Result<Rendered<'a>, Error>> {
    let key = n.replace_key()?;
    match n.case.recipient.device.channel {
        Channel::Xiaomi => Some(xiaomi::revoke(n, &key, buf)),
        Channel::Harmony => Some(harmony_revoke(n, &key, buf)),
        _ => None,
    }
}

/// HarmonyOS's revoke body.
struct HarmonyRevoke<'a> {
    notify_id: u32,
    token: &'a str,
}

impl Layout for HarmonyRevoke<'_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        w.begin_object();
        w.u64_member(key!("notifyId"), u64::from(self.notify_id));
        kit::token_array(w, key!("token"), self.token);
        w.end_object();
        Ok(())
    }
}

/// Renders the body of HarmonyOS's `POST /v1/<clientId>/messages:revoke`
/// (beyond.md §13.2, HM6): `{"notifyId":<id>,"token":["<token>"]}`, the
/// notify id every push of the message carried. It removes a notification
/// not yet delivered, or shown and not tapped; the badge is left as it is.
/// The JWT, the client id in the URL and `push-type` are the client's.
pub fn harmony_revoke<'a>(
    n: &Notification<'a>,
    key: &ReplaceKey,
    buf: &mut [u8],
) -> Result<Rendered<'a>, Error> {
    let token = n.case.recipient.device.token;
    if token.is_empty() {
        return Err(Error::Invalid(Field::Token));
    }
    let layout = HarmonyRevoke {
        notify_id: key.notify_id(),
        token,
    };
    let fitted = fit(&layout, buf, usize::MAX)?;
    Ok(Rendered::without_headers(fitted, kit::Warnings::default()))
}

/// The background push that asks the app to remove the message's shown
/// notification itself, for apps that opt in (off by default: Apple
/// rate-limits background pushes, a few an hour): APNs
/// ([`apns::removal`]) and FCM ([`fcm::removal`]). `None` for every other
/// channel (a VoIP token takes no background push), and for a message
/// without a key.
pub fn removal<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Option<Result<Rendered<'a>, Error>> {
    n.message_key()?;
    match n.case.recipient.device.channel {
        Channel::Apns => Some(apns::removal(n, buf)),
        Channel::Fcm => Some(fcm::removal(n, buf)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::error::{Error, Field};
    use crate::model::{ApnsInfo, Channel, Conversation, Elem, Group, GroupType, PushInfo, Sender};
    use crate::recall::MessageKey;
    use crate::render::{removal, revoke};
    use crate::render::{CollapseId, Headers};
    use crate::testkit::{case, notification, render_full, render_str, ANN, C2C};

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
        (Channel::Xiaomi, &["&notify_id=1021119096&"]),
        (Channel::Oppo, &["%22notify_id%22%3A1021119096%7D"]),
        (Channel::Vivo, &[r#""pushMode":0,"notifyId":1021119096}"#]),
        (
            Channel::Meizu,
            &[
                "%22advanceInfo%22%3A%7B",
                "%22notifyKey%22%3A%22qsPpTrcB%22%7D%7D",
            ],
        ),
        (Channel::Tpns, &[r#""android":{"n_id":1021119096"#]),
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

    /// Replacements (feature `recall`).
    #[cfg(feature = "recall")]
    mod replacement {
        use super::*;
        use crate::model::{AndroidInfo, Locale};
        use crate::recall::{Replacement, RECALLED_EN, RECALLED_ZH};
        use crate::render::{body, render, title, Rendered};
        use crate::text::Body;
        use std::string::String;

        /// `n` as `with` replaces it, rendered: the payload and its result.
        fn replaced<'a>(
            c: &'a crate::model::Case<'a>,
            with: Replacement<'a>,
        ) -> Result<(String, Rendered<'a>), Error> {
            let n = notification(c).unwrap().replaced(with);
            let mut buf = [0u8; 4096];
            let r = render(&n, &mut buf)?;
            Ok((String::from_utf8(buf[..r.len].to_vec()).unwrap(), r))
        }

        /// What each channel's replacement sends to be quiet, and what its
        /// normal push sends that the replacement leaves out (the fixture
        /// message has `Sound` "shake", `HuaWeiImportance` `NORMAL`,
        /// `HonorImportance` `NORMAL`, `OPPOCategory` `IM` with level 16, and
        /// a launcher badge class).
        const QUIET: [(Channel, &[&str], &[&str]); 10] = [
            (
                Channel::Apns,
                &[r#""interruption-level":"passive""#],
                &[r#""badge""#, r#""sound""#],
            ),
            (
                Channel::ApnsVoip,
                &[r#""interruption-level":"passive""#],
                &[r#""badge""#, r#""sound""#],
            ),
            (Channel::Fcm, &[], &[r#""sound""#]),
            (
                Channel::Huawei,
                &[r#""importance":"LOW""#],
                &[r#""sound""#, r#""badge""#, r#""NORMAL""#],
            ),
            (
                Channel::Honor,
                &[r#""importance":"LOW""#],
                &[r#""badge""#, r#""NORMAL""#],
            ),
            (
                Channel::Xiaomi,
                &["&notify_type=4&"],
                &["sound_uri", "notify_type=-1"],
            ),
            (
                Channel::Oppo,
                &["%22notify_level%22%3A1%2C"],
                &["%22notify_level%22%3A16"],
            ),
            (Channel::Vivo, &[r#""notifyType":1,"#], &[r#""notifyType":4"#]),
            (
                Channel::Meizu,
                &["%22suspend%22%3A0%2C%22notificationType%22%3A%7B%22vibrate%22%3A0%2C%22lights%22%3A0%2C%22sound%22%3A0%7D%2C%22notifyKey%22"],
                &[],
            ),
            (Channel::Tpns, &[r#""ring":0,"vibrate":0"#], &[]),
        ];

        /// A recall replaces each channel's notification silently: the same
        /// replace key, the recall text of the recipient's locale, the
        /// original title, the provider's quietest setting, no sound, no
        /// badge; an edit the same with its text.
        #[test]
        fn a_replacement_is_silent_and_keeps_the_key_and_title() {
            let elems = [Elem::Text("hi")];
            let info = PushInfo {
                android: AndroidInfo {
                    sound: "shake",
                    huawei_importance: "NORMAL",
                    honor_importance: "NORMAL",
                    oppo_category: "IM",
                    oppo_notify_level: Some(16),
                    ..AndroidInfo::default()
                },
                ..PushInfo::default()
            };
            for (channel, quiet, loud) in QUIET {
                let mut c = case(channel, token(channel), ANN, C2C, &elems, Some(info));
                c.message.msg_key = MSG_KEY;
                c.app.badge_class = "com.example.chat.MainActivity";
                let (push, push_r) = render_full(&c).unwrap();
                let (recall, r) = replaced(&c, Replacement::Recalled).unwrap();
                assert_eq!(r.headers, push_r.headers, "{channel:?}");
                for member in quiet {
                    assert!(recall.contains(member), "{channel:?}: {recall}");
                    assert!(!push.contains(member), "{channel:?}: {push}");
                }
                for member in loud {
                    assert!(!recall.contains(member), "{channel:?}: {recall}");
                }
                for (_, members) in KEYED.iter().filter(|(c, _)| *c == channel) {
                    for member in *members {
                        assert!(recall.contains(member), "{channel:?}: {recall}");
                    }
                }
                let n = notification(&c).unwrap();
                let again = n.replaced(Replacement::Recalled);
                assert_eq!(title(&again), title(&n), "{channel:?}");
                assert_eq!(body(&again), Body::Desc(RECALLED_EN));
                let mut zh = c;
                zh.recipient.locale = Locale::Zh;
                let n = notification(&zh).unwrap().replaced(Replacement::Recalled);
                assert_eq!(body(&n), Body::Desc(RECALLED_ZH));
                let (edit, _) = replaced(
                    &c,
                    Replacement::Edited {
                        text: "see you at 1",
                    },
                )
                .unwrap();
                let encoded = ["see you at 1", "see+you+at+1", "see%2Byou%2Bat%2B1"];
                assert!(
                    encoded.iter().any(|e| edit.contains(e)),
                    "{channel:?}: {edit}"
                );
            }
        }

        /// Without a key a replacement would be a new notification: refused,
        /// as a blank edit is.
        #[test]
        fn a_replacement_needs_a_key_and_an_edit_a_text() {
            let elems = [Elem::Text("hi")];
            let c = case(Channel::Fcm, "t-1", ANN, C2C, &elems, None);
            assert_eq!(
                replaced(&c, Replacement::Recalled).unwrap_err(),
                Error::Invalid(Field::MsgKey)
            );
            let mut keyed = c;
            keyed.message.msg_key = MSG_KEY;
            for blank in ["", " \n"] {
                assert_eq!(
                    replaced(&keyed, Replacement::Edited { text: blank }).unwrap_err(),
                    Error::Invalid(Field::Body)
                );
            }
        }
    }

    /// Xiaomi and HarmonyOS have a revoke API, and only a keyed message
    /// can be revoked: `revoke` and `Channel::revocable` agree on every
    /// channel.
    #[test]
    fn revoke_names_the_notify_id_on_xiaomi_and_harmony() {
        let elems = [Elem::Text("hi")];
        for channel in Channel::ALL {
            let mut c = case(channel, token(channel), ANN, C2C, &elems, None);
            let n = notification(&c).unwrap();
            let mut buf = [0u8; 512];
            assert!(revoke(&n, &mut buf).is_none(), "{channel:?}");
            c.message.msg_key = MSG_KEY;
            let n = notification(&c).unwrap();
            let revoked = revoke(&n, &mut buf);
            assert_eq!(revoked.is_some(), channel.revocable(), "{channel:?}");
            if let Some(r) = revoked {
                let r = r.unwrap();
                assert_eq!(r.headers, Headers::None);
                let want: &[u8] = match channel {
                    Channel::Xiaomi => b"registration_id=t-1&restricted_package_name=com.example.chat&notify_id=1021119096",
                    _ => br#"{"notifyId":1021119096,"token":["t-1"]}"#,
                };
                assert_eq!(&buf[..r.len], want, "{channel:?}");
            }
        }
        let mut bad = case(Channel::Xiaomi, "t-1,t-2", ANN, C2C, &elems, None);
        bad.message.msg_key = MSG_KEY;
        let n = notification(&bad).unwrap();
        let mut buf = [0u8; 512];
        assert_eq!(
            revoke(&n, &mut buf),
            Some(Err(Error::Invalid(Field::Token)))
        );
    }

    /// The opt-in removal push: APNs background, FCM data, naming the key
    /// the message's push carried; nothing elsewhere or without a key.
    #[test]
    fn removal_is_a_background_push_naming_the_replace_key() {
        let elems = [Elem::Text("hi")];
        for channel in Channel::ALL {
            let mut c = case(channel, token(channel), ANN, C2C, &elems, None);
            c.message.life_time = Some(60);
            let n = notification(&c).unwrap();
            let mut buf = [0u8; 512];
            assert!(removal(&n, &mut buf).is_none(), "{channel:?}");
            c.message.msg_key = MSG_KEY;
            let n = notification(&c).unwrap();
            let removed = removal(&n, &mut buf).map(|r| r.unwrap());
            let body = removed.map(|r| std::str::from_utf8(&buf[..r.len]).unwrap());
            match channel {
                Channel::Apns => {
                    assert_eq!(
                        body,
                        Some(
                            r#"{"aps":{"content-available":1},"tidings":{"recall":"c2c:31906_833502_1572869830"}}"#
                        )
                    );
                    let Some(Headers::Apns(h)) = removed.map(|r| r.headers) else {
                        panic!("no APNs headers")
                    };
                    assert_eq!(
                        (h.push_type, h.priority, h.topic_suffix),
                        ("background", "5", "")
                    );
                    assert_eq!(
                        h.collapse_id,
                        Some(CollapseId::from("c2c:31906_833502_1572869830"))
                    );
                    assert_eq!(h.expiration, Some(crate::testkit::NOW + 60));
                }
                Channel::Fcm => assert_eq!(
                    body,
                    Some(
                        r#"{"message":{"token":"t-1","android":{"priority":"NORMAL","ttl":"60s"},"data":{"tidings_recall":"c2c:31906_833502_1572869830"}}}"#
                    )
                ),
                _ => assert_eq!(body, None, "{channel:?}"),
            }
        }
    }
}
