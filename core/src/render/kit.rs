//! What every renderer shares: the output types, and the pieces of a
//! layout more than one provider writes. The providers import this file and
//! `mod.rs` imports the providers, so nothing here may use a provider (the
//! APNs headers live here for that reason).

use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::text::Segments;
use crate::write::{key, CharLimit, Cut, Fitted, Key, Slot, Text, Writer};

/// Things a renderer chose to leave out rather than fail the push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Warnings {
    /// OPPO: `ext` is not a JSON object, so `action_parameters` was left
    /// out (push-rules OQ-19).
    pub ext_not_json_object: bool,
}

impl Warnings {
    /// The warnings' names, for reports.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        [("ExtNotJsonObject", self.ext_not_json_object)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
    }
}

/// Provider request parts that are not in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Headers<'a> {
    None,
    Apns(ApnsHeaders<'a>),
}

/// The request headers an APNs body goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApnsHeaders<'a> {
    /// `apns-push-type`: `alert` or `voip`.
    pub push_type: &'static str,
    /// `apns-priority`.
    pub priority: &'static str,
    /// `apns-topic` is `topic` followed by `topic_suffix`.
    pub topic: &'a str,
    pub topic_suffix: &'static str,
    /// `apns-expiration` (absolute Unix seconds); `None` = not sent.
    pub expiration: Option<i64>,
    /// `apns-collapse-id` (`ApnsInfo.CollapseId`); `None` = not sent.
    pub collapse_id: Option<&'a str>,
    /// The device token for `:path` (`/3/device/<token>`).
    pub device_token: &'a str,
}

/// A payload written into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rendered<'a> {
    /// Bytes of the buffer that hold the payload.
    pub len: usize,
    /// Where the body and title were cut to fit, if they were.
    pub cut: Cut,
    pub headers: Headers<'a>,
    pub warnings: Warnings,
}

impl Rendered<'_> {
    /// A body that goes with no provider headers (all but APNs).
    pub(crate) fn without_headers(fitted: Fitted, warnings: Warnings) -> Self {
        Rendered {
            len: fitted.len,
            cut: fitted.cut,
            headers: Headers::None,
            warnings,
        }
    }
}

/// What every token-addressed Android provider needs before rendering: a
/// device token, and a title (render-map: never empty; the provider would
/// refuse an empty one).
pub(crate) fn require_token_and_title(n: &Notification<'_>) -> Result<(), Error> {
    if n.case.recipient.device.token.is_empty() {
        return Err(Error::Invalid(Field::Token));
    }
    if n.android_title().is_empty() {
        return Err(Error::Invalid(Field::Title));
    }
    Ok(())
}

/// A text member's key and its provider's character cap (`None` = cut only
/// to fit the byte limit).
pub(crate) type TextKey = (Key, Option<CharLimit>);

/// The Android title and body members, the title first. An empty title is
/// left out: only FCM gets this far with one (it is optional there); every
/// other provider refused it before writing.
// As `Layout::write`: inlined on hosts (speed); one shared copy on
// firmware, 232 bytes less flash for 64 more bytes of stack.
#[cfg_attr(not(target_os = "none"), inline(always))]
pub(crate) fn android_texts(
    w: &mut Writer<'_, '_>,
    n: &Notification<'_>,
    (title_key, title_limit): TextKey,
    (body_key, body_limit): TextKey,
) {
    let title = n.android_title();
    if !title.is_empty() {
        let title = Text {
            segments: Segments::single(title),
            limit: title_limit,
        };
        w.text_member(title_key, Slot::Title, title);
    }
    let body = Text {
        segments: n.body().segments(),
        limit: body_limit,
    };
    w.text_member(body_key, Slot::Body, body);
}

/// `"<key>":["<token>"]`: the device token as a one-element array
/// (Huawei and Honor inside their exempt part, TPNS).
pub(crate) fn token_array(w: &mut Writer<'_, '_>, key: Key, token: &str) {
    w.key(key);
    w.begin_array();
    w.element();
    w.string(Field::Token, token);
    w.end_array();
}

/// Huawei's and Honor's launcher badge, `"badge":{"<add>":1,"<class>":…}`
/// with `App.BadgeClass`: only when the badge counts and the app has a
/// launcher class (render-map).
pub(crate) fn launcher_badge(w: &mut Writer<'_, '_>, n: &Notification<'_>, add: Key, class: Key) {
    let badge_class = n.case.app.badge_class;
    if n.badge().is_some() && !badge_class.is_empty() {
        w.key(key!("badge"));
        w.begin_object();
        w.u64_member(add, 1);
        w.str_member(class, Field::Payload, badge_class);
        w.end_object();
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Error, Field};
    use crate::model::{Channel, Elem, Sender};
    use crate::testkit::{render_str, rendered, On, C2C};

    /// `android_texts` leaves an empty title out: only FCM reaches it with
    /// one; every other provider that writes it refused the push first.
    #[test]
    fn an_empty_android_title_is_left_out_by_fcm_and_refused_by_the_rest() {
        let nobody = Sender {
            account: "",
            nick: "",
            name_card: "",
        };
        let elems = [Elem::Text("hi")];
        let fcm = On {
            channel: Channel::Fcm,
            token: "t-1",
        };
        let (payload, _) = render_str(&fcm.case(&elems, C2C, nobody, None)).unwrap();
        assert!(
            payload.contains(r#""notification":{"body":"hi"}"#),
            "{payload}"
        );
        for channel in [
            Channel::Huawei,
            Channel::Honor,
            Channel::Oppo,
            Channel::Vivo,
            Channel::Meizu,
            Channel::Tpns,
        ] {
            let on = On {
                channel,
                token: "t-1",
            };
            let case = on.case(&elems, C2C, nobody, None);
            assert_eq!(
                rendered(&case).map(|(r, _)| r),
                Some(Err(Error::Invalid(Field::Title))),
                "{channel:?}"
            );
        }
    }
}
