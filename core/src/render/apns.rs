//! APNs (vendors.md §1): the JSON body and the HTTP/2 headers.
//!
//! The body is `{"aps":{...},"ext":"...","image":"..."}` (push-rules §9.1,
//! render-map). A VoIP push keeps the same `aps` content so the app has the
//! text for its call UI; only the push type, topic and limit differ.
//!
//! A message with a key ([`crate::recall::MessageKey`]) is sent with
//! `apns-collapse-id` = its collapse key, so a recall or edit sent with the
//! same id replaces it. An explicit `ApnsInfo.CollapseId` wins: the push
//! goes out with that id, and a replacement of the message then replaces
//! by that id too (whatever else was sent with it). `thread-id` stays the
//! conversation: it groups notifications, it replaces none.
//!
//! A replacement (`Notification::replaced` (feature `recall`)) has no `sound` and no
//! `badge` key, and `"interruption-level":"passive"` (iOS 15+: shown
//! without lighting the screen).

use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::model::Channel;
use crate::text::Segments;
use crate::write::{fit, key, Layout, Slot, Text, Writer};

pub use super::kit::ApnsHeaders;
use super::kit::{CollapseId, Headers, Rendered, Warnings};

/// Body limit for every push type except VoIP (vendors.md §1.5).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Body limit for VoIP pushes (vendors.md §1.5).
pub const VOIP_PAYLOAD_LIMIT: usize = 5120;
/// `apns-priority`: send now (vendors.md §1.2).
pub const PRIORITY_IMMEDIATE: &str = "10";
/// `apns-push-type` of a removal push (vendors.md §1.2).
pub const BACKGROUND: &str = "background";
/// `apns-priority` a background push must have (vendors.md §1.2).
pub const PRIORITY_BACKGROUND: &str = "5";
/// `apns-topic` suffix of VoIP pushes (vendors.md §1.3).
pub const VOIP_TOPIC_SUFFIX: &str = ".voip";
/// `aps.interruption-level` of a replacement: no sound, no screen wake.
pub const PASSIVE: &str = "passive";
/// `apns-collapse-id`: at most 64 bytes (vendors.md §1.2, §1.8).
pub const COLLAPSE_ID_LIMIT: usize = 64;

struct Apns<'n, 'a> {
    n: &'n Notification<'a>,
}

impl Layout for Apns<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let apns_info = n.apns_info();
        let body = Text {
            segments: n.body().segments(),
            limit: None,
        };
        w.begin_object();
        w.key(key!("aps"));
        w.begin_object();
        if n.ios_title().is_empty() && apns_info.sub_title.is_empty() {
            w.text_member(key!("alert"), Slot::Body, body);
        } else {
            w.key(key!("alert"));
            w.begin_object();
            if !n.ios_title().is_empty() {
                let title = Text {
                    segments: Segments::single(n.ios_title()),
                    limit: None,
                };
                w.text_member(key!("title"), Slot::Title, title);
            }
            w.opt_str_member(key!("subtitle"), Field::SubTitle, apns_info.sub_title);
            w.text_member(key!("body"), Slot::Body, body);
            w.end_object();
        }
        if let Some(badge) = n.badge() {
            w.u64_member(key!("badge"), u64::from(badge));
        }
        if let Some(sound) = n.ios_sound() {
            w.str_member(key!("sound"), Field::Sound, sound);
        }
        w.thread_key_member(key!("thread-id"), n.thread_key());
        if n.replacement().is_some() {
            w.str_member(key!("interruption-level"), Field::Payload, PASSIVE);
        }
        if apns_info.mutable_content || !apns_info.image.is_empty() {
            w.u64_member(key!("mutable-content"), 1);
        }
        w.end_object();
        w.opt_str_member(key!("ext"), Field::Ext, n.ext());
        w.opt_str_member(key!("image"), Field::Image, apns_info.image);
        w.end_object();
        Ok(())
    }
}

/// The device token and the topic, checked.
fn target<'a>(n: &Notification<'a>) -> Result<(&'a str, &'a str), Error> {
    let case = n.case;
    let token = case.recipient.device.token;
    // The token goes into `:path`: hex only, length not assumed (§1.1).
    // `fold`, not `all`: without the early exit the check vectorises, and a
    // valid token (the common case) is read whole either way.
    if token.is_empty() || !token.bytes().fold(true, |ok, b| ok & b.is_ascii_hexdigit()) {
        return Err(Error::Invalid(Field::Token));
    }
    let topic = case.app.bundle_id;
    if topic.is_empty() || !topic.bytes().fold(true, |ok, b| ok & b.is_ascii_graphic()) {
        return Err(Error::Invalid(Field::BundleId));
    }
    Ok((token, topic))
}

/// Renders the APNs body into `buf` and returns it with its headers.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    let case = n.case;
    let (token, topic) = target(n)?;
    let collapse_id = collapse_id(n)?;
    let fitted = fit(&Apns { n }, buf, limit(case.recipient.device.channel))?;
    let voip = case.recipient.device.channel == Channel::ApnsVoip;
    Ok(Rendered {
        len: fitted.len,
        cut: fitted.cut,
        headers: Headers::Apns(ApnsHeaders {
            push_type: if voip { "voip" } else { "alert" },
            priority: PRIORITY_IMMEDIATE,
            topic,
            topic_suffix: if voip { VOIP_TOPIC_SUFFIX } else { "" },
            expiration: n.expires_at(),
            collapse_id,
            device_token: token,
        }),
        warnings: Warnings::default(),
    })
}

/// The removal push's body: the id the app removes.
struct Removal<'c> {
    collapse_id: &'c str,
}

impl Layout for Removal<'_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        w.begin_object();
        w.key(key!("aps"));
        w.begin_object();
        w.u64_member(key!("content-available"), 1);
        w.end_object();
        w.key(key!("tidings"));
        w.begin_object();
        w.str_member(key!("recall"), Field::CollapseId, self.collapse_id);
        w.end_object();
        w.end_object();
        Ok(())
    }
}

/// Renders the background push that asks an app which opted in to remove
/// the message's notification: `{"aps":{"content-available":1},
/// "tidings":{"recall":"<id>"}}` with `apns-push-type: background`,
/// `apns-priority: 5` (Apple requires both for a background push) and the
/// same `apns-collapse-id` as the message's push. `<id>` is that collapse
/// id, which iOS makes the delivered notification's identifier: the app
/// calls `removeDeliveredNotifications(withIdentifiers: [id])` from
/// `application(_:didReceiveRemoteNotification:fetchCompletionHandler:)`.
/// Apple delivers a few an hour at most and none to a force-quit app.
/// `Invalid(MsgKey)` for a message without a key.
pub fn removal<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    let (token, topic) = target(n)?;
    let collapse_id = collapse_id(n)?.ok_or(Error::Invalid(Field::MsgKey))?;
    let layout = Removal {
        collapse_id: collapse_id.as_str(),
    };
    let fitted = fit(&layout, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered {
        len: fitted.len,
        cut: fitted.cut,
        headers: Headers::Apns(ApnsHeaders {
            push_type: BACKGROUND,
            priority: PRIORITY_BACKGROUND,
            topic,
            topic_suffix: "",
            expiration: n.expires_at(),
            collapse_id: Some(collapse_id),
            device_token: token,
        }),
        warnings: Warnings::default(),
    })
}

/// The body limit of the channel's push type.
fn limit(channel: Channel) -> usize {
    if channel == Channel::ApnsVoip {
        VOIP_PAYLOAD_LIMIT
    } else {
        PAYLOAD_LIMIT
    }
}

/// `apns-collapse-id`: `ApnsInfo.CollapseId` when set (checked), else the
/// message's collapse key, else none.
fn collapse_id<'a>(n: &Notification<'a>) -> Result<Option<CollapseId<'a>>, Error> {
    let collapse_id = n.apns_info().collapse_id;
    // A header value: visible ASCII only, so no CR/LF can reach the request
    // (vendors.md §1.2); over 64 bytes APNs answers 400 BadCollapseId.
    if !collapse_id
        .bytes()
        .fold(true, |ok, b| ok & b.is_ascii_graphic())
    {
        return Err(Error::Invalid(Field::CollapseId));
    }
    if collapse_id.len() > COLLAPSE_ID_LIMIT {
        return Err(Error::TooLong(Field::CollapseId));
    }
    Ok(if collapse_id.is_empty() {
        // The collapse key is always visible ASCII within 64 bytes.
        n.replace_key().map(CollapseId::message)
    } else {
        Some(CollapseId::from(collapse_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{decide, Decision};
    use crate::model::{ApnsInfo, Conversation, Elem, PushInfo};

    fn headers_for(collapse_id: &str) -> Result<ApnsHeaders<'_>, Error> {
        let elems = [Elem::Text("hi")];
        let info = PushInfo {
            apns: ApnsInfo {
                collapse_id,
                ..ApnsInfo::default()
            },
            ..PushInfo::default()
        };
        let case = crate::testkit::case(
            Channel::Apns,
            "a1b2",
            crate::testkit::ANN,
            Conversation::C2c { to_account: "bob" },
            &elems,
            Some(info),
        );
        let Ok(Decision::Push(n)) = decide(&case) else {
            panic!("not pushed")
        };
        let mut buf = [0u8; 256];
        let rendered = render(&n, &mut buf)?;
        let Headers::Apns(h) = rendered.headers else {
            panic!("no APNs headers")
        };
        // The borrow of `case` ends here; only the id outlives it.
        Ok(ApnsHeaders {
            topic: "",
            device_token: "",
            collapse_id: h.collapse_id.map(|_| CollapseId::from(collapse_id)),
            ..h
        })
    }

    #[test]
    fn collapse_id_is_a_visible_ascii_header_of_at_most_64_bytes() {
        let long = "k".repeat(COLLAPSE_ID_LIMIT + 1);
        assert_eq!(headers_for("").unwrap().collapse_id, None);
        let at_limit = &long[..COLLAPSE_ID_LIMIT];
        assert_eq!(
            headers_for(at_limit).unwrap().collapse_id,
            Some(at_limit.into())
        );
        assert_eq!(
            headers_for(&long).unwrap_err(),
            Error::TooLong(Field::CollapseId)
        );
        for bad in ["a b", "a\r\nb", "caf\u{e9}", "\u{7f}"] {
            assert_eq!(
                headers_for(bad).unwrap_err(),
                Error::Invalid(Field::CollapseId),
                "{bad:?}"
            );
        }
    }
}
