//! FCM HTTP v1 (vendors.md §2): the JSON body of `messages:send`.
//!
//! The body is `{"message":{"token","notification":{title, body, image},
//! "android":{priority, ttl, notification:{channel_id, sound, tag}},
//! "data":{"ext"}}}` (render-map). The OAuth bearer token and the project id
//! in the URL belong to the adapter.
//!
//! Decisions where the spec is silent:
//! - The 4096-byte limit is applied to the whole body, keys and values,
//!   `{"message":…}` wrapper included: vendors.md §2.3 says which parts FCM
//!   counts is unconfirmed, so the strictest reading wins (as sygnal does).
//! - FCM has no per-field character cap (vendors.md §2.5), so title and body
//!   are cut only to fit the byte limit.
//! - Field names are `snake_case`, the spelling of Firebase's docs (§2.1).
//! - `android.priority` is always `HIGH`: a chat notification is
//!   user-visible and time-sensitive (render-map); `vendorParams.fcmPriority`
//!   is not in the model.
//! - `android.ttl` is `MsgLifeTime` clamped to 0…2,419,200 s (§2.5), written
//!   as a whole-second duration string (`"3600s"`); without `MsgLifeTime`
//!   it is left out and FCM's default (4 weeks) applies.
//! - `notification.image` (`AndroidInfo.GoogleImage`) is passed through
//!   unchecked: FCM documents no scheme rule (§2.2), and a bad URL only
//!   costs the picture, not the push.
//! - `android.notification.sound` is `AndroidInfo.Sound` as a raw
//!   resource name (push-rules §4.2; a file extension dropped by
//!   [`crate::text::android_sound_name`]); FCM takes it only on pre-8.0 devices,
//!   the channel decides on 8.0+.
//! - A replacement (`Notification::replaced` (feature `recall`)) has no `sound`: FCM has
//!   no per-message silence, so on Android 8.0+ the channel's sound still
//!   applies (an app that wants silent replacements gives the message a
//!   quiet channel, `GoogleChannelID`).
//! - `android.notification.tag` is the message's collapse key when it has
//!   a key, else the conversation key.

use super::kit::{android_texts, tag_member, Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::write::{fit, key, Layout, Writer};

/// Limit on the request body for a token target (vendors.md §2.3, §2.5).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Longest `android.ttl`, in seconds: 4 weeks (vendors.md §2.2, §2.5).
pub const MAX_TTL_SECONDS: u32 = 2_419_200;
/// `android.priority` (vendors.md §2.2).
pub const PRIORITY: &str = "HIGH";
/// `android.priority` of a removal data message (vendors.md §2.2).
pub const REMOVAL_PRIORITY: &str = "NORMAL";

struct Fcm<'n, 'a> {
    n: &'n Notification<'a>,
}

impl Layout for Fcm<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let android = n.android_info();
        w.begin_object();
        w.key(key!("message"));
        w.begin_object();
        w.str_member(key!("token"), Field::Token, n.case.recipient.device.token);

        w.key(key!("notification"));
        w.begin_object();
        // FCM's title is optional: without any title source it is left
        // out, never sent empty (found by fuzzing, case_json).
        android_texts(w, n, (key!("title"), None), (key!("body"), None));
        w.opt_str_member(key!("image"), Field::Image, android.google_image);
        w.end_object();

        w.key(key!("android"));
        w.begin_object();
        w.str_member(key!("priority"), Field::Payload, PRIORITY);
        if let Some(seconds) = n.message().life_time {
            w.duration_member(key!("ttl"), u64::from(seconds.min(MAX_TTL_SECONDS)));
        }
        w.key(key!("notification"));
        w.begin_object();
        w.opt_str_member(
            key!("channel_id"),
            Field::ChannelId,
            android.google_channel_id,
        );
        w.opt_str_member(key!("sound"), Field::Sound, n.android_sound());
        tag_member(w, key!("tag"), n, None);
        w.end_object();
        w.end_object();

        if !n.ext().is_empty() {
            w.key(key!("data"));
            w.begin_object();
            w.str_member(key!("ext"), Field::Ext, n.ext());
            w.end_object();
        }
        w.end_object();
        w.end_object();
        Ok(())
    }
}

/// The removal data message.
struct Removal<'n, 'a> {
    n: &'n Notification<'a>,
    tag: &'n str,
}

impl Layout for Removal<'_, '_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        w.begin_object();
        w.key(key!("message"));
        w.begin_object();
        w.str_member(key!("token"), Field::Token, n.case.recipient.device.token);
        w.key(key!("android"));
        w.begin_object();
        w.str_member(key!("priority"), Field::Payload, REMOVAL_PRIORITY);
        if let Some(seconds) = n.message().life_time {
            w.duration_member(key!("ttl"), u64::from(seconds.min(MAX_TTL_SECONDS)));
        }
        w.end_object();
        w.key(key!("data"));
        w.begin_object();
        w.str_member(key!("tidings_recall"), Field::MsgKey, self.tag);
        w.end_object();
        w.end_object();
        w.end_object();
        Ok(())
    }
}

/// Renders the data message that asks an app which opted in to remove the
/// message's notification: `{"message":{"token","android":{"priority":
/// "NORMAL","ttl"?},"data":{"tidings_recall":"<tag>"}}}`. `<tag>` is the
/// tag the message's push carried; the app's `onMessageReceived` calls
/// `NotificationManager.cancel(tag, 0)` (FCM posts its notifications
/// with id 0). `NORMAL`: nothing is shown, so it need not wake the device.
/// `Invalid(MsgKey)` for a message without a key.
pub fn removal<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    if n.case.recipient.device.token.is_empty() {
        return Err(Error::Invalid(Field::Token));
    }
    let key = n.replace_key().ok_or(Error::Invalid(Field::MsgKey))?;
    let layout = Removal {
        n,
        tag: key.collapse(),
    };
    let fitted = fit(&layout, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

/// Renders the FCM v1 `messages:send` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    if n.case.recipient.device.token.is_empty() {
        return Err(Error::Invalid(Field::Token));
    }
    let fitted = fit(&Fcm { n }, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    use crate::model::*;
    use crate::render::kit::tests::{assert_emoji_title_cut, assert_uncut};
    use crate::testkit::{basic, leak, render_str, rendered, text, On, ANN, C2C};

    const FCM: On = On {
        channel: Channel::Fcm,
        token: "fcm-token-1",
    };

    #[test]
    fn fcm_basic_vector() {
        let android = AndroidInfo {
            google_channel_id: "im",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(FCM, android),
            r#"{"message":{"token":"fcm-token-1","notification":{"title":"Ann","body":"Ann:hi"},"android":{"priority":"HIGH","notification":{"channel_id":"im","tag":"c2c:ann"}},"data":{"ext":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"}}}"#,
        );
    }

    #[test]
    fn group_title_is_the_group_name() {
        let group = Conversation::Group(Group {
            id: "dev-1",
            name: "Dev",
            kind: GroupType::Work,
        });
        let sender = Sender {
            account: "ann",
            nick: "",
            name_card: "A.",
        };
        let c = FCM.case(&[Elem::Text("ok")], group, sender, None);
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"token":"fcm-token-1","notification":{"title":"Dev","body":"A.(Dev):ok"},"android":{"priority":"HIGH","notification":{"tag":"group:dev-1"}}}}"#
        );
    }

    #[test]
    fn every_knob_set() {
        let push = PushInfo {
            ext: "x",
            android: AndroidInfo {
                sound: "shake",
                google_channel_id: "im",
                google_image: "https://example.com/a.png",
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = FCM.case(&[Elem::Image], C2C, ANN, Some(push));
        c.message.life_time = Some(3600);
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"token":"fcm-token-1","notification":{"title":"Ann","body":"Ann:[image]","image":"https://example.com/a.png"},"android":{"priority":"HIGH","ttl":"3600s","notification":{"channel_id":"im","sound":"shake","tag":"c2c:ann"}},"data":{"ext":"x"}}}"#
        );
        // A life time past four weeks is clamped.
        c.message.life_time = Some(u32::MAX);
        let (s, _) = render_str(&c).unwrap();
        assert!(s.contains(r#""ttl":"2419200s""#), "{s}");
    }

    #[test]
    fn unset_knobs_are_left_out() {
        // No OfflinePushInfo, no ext, no life time: no image, ttl,
        // channel_id, sound or data; the admin sender has no nick.
        let sender = Sender {
            account: "admin",
            nick: "",
            name_card: "",
        };
        let c = FCM.case(&[Elem::Text("hello")], C2C, sender, None);
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"token":"fcm-token-1","notification":{"title":"admin","body":"hello"},"android":{"priority":"HIGH","notification":{"tag":"c2c:admin"}}}}"#
        );
    }

    // Envelope of a C2C push from "ann" without push info, title "Ann".
    const HEAD: &str = r#"{"message":{"token":"fcm-token-1","notification":{"title":""#;

    #[test]
    fn cjk_and_emoji_cut_at_the_byte_limit() {
        // FCM has no char cap: a CJK body and an emoji title that cannot
        // both fit are cut at char boundaries, body first (to "…"), then
        // the title, so that the whole body is exactly 4096 bytes.
        let tail =
            r#"…","body":"…"},"android":{"priority":"HIGH","notification":{"tag":"c2c:ann"}}}}"#;
        assert_emoji_title_cut(FCM, PAYLOAD_LIMIT, "", HEAD, tail);
    }

    #[test]
    fn long_body_cut_to_the_byte_limit() {
        let c = FCM.case(text(leak("ab\"".repeat(2000))), C2C, ANN, None);
        let (s, cut) = render_str(&c).unwrap();
        // An escaped quote costs 2 bytes: the cut lands within 1 byte.
        assert!(s.len() == PAYLOAD_LIMIT || s.len() == PAYLOAD_LIMIT - 1);
        let head =
            r#"{"message":{"token":"fcm-token-1","notification":{"title":"Ann","body":"Ann:"#;
        let tail = r#"…"},"android":{"priority":"HIGH","notification":{"tag":"c2c:ann"}}}}"#;
        assert!(s.starts_with(head) && s.ends_with(tail), "{s}");
        // The escaped quote is never split from its backslash.
        let kept = &s[head.len()..s.len() - tail.len()];
        assert!(kept.ends_with('a') || kept.ends_with('b') || kept.ends_with("\\\""));
        assert_eq!(cut.title, None);
        assert!(cut.body.is_some());
    }

    #[test]
    fn oversized_ext_is_an_error_naming_it() {
        let ext = leak("e".repeat(5000));
        let push = PushInfo {
            ext,
            ..PushInfo::default()
        };
        let c = FCM.case(&[Elem::Text("hi")], C2C, ANN, Some(push));
        assert_eq!(
            rendered(&c).map(|(r, _)| r),
            Some(Err(Error::TooLong(Field::Ext)))
        );
    }
}
