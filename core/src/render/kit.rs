//! What every renderer shares: the output types, and the pieces of a
//! layout more than one provider writes. The providers import this file and
//! `mod.rs` imports the providers, so nothing here may use a provider (the
//! APNs headers live here for that reason).

use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::recall::ReplaceKey;
use crate::text::{Segments, ThreadKey};
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
    /// `apns-collapse-id`: `ApnsInfo.CollapseId`, else the message's
    /// collapse key ([`ReplaceKey::collapse`]); `None` = not sent.
    pub collapse_id: Option<CollapseId<'a>>,
    /// The device token for `:path` (`/3/device/<token>`).
    pub device_token: &'a str,
}

/// An `apns-collapse-id` value: borrowed from the case
/// (`ApnsInfo.CollapseId`, or a stored push's), or the message's collapse
/// key, which is computed and so held here. Compared and shown as its
/// text, whichever it is.
#[derive(Clone, Copy)]
pub struct CollapseId<'a>(CollapseText<'a>);

#[derive(Clone, Copy)]
enum CollapseText<'a> {
    Given(&'a str),
    Message(ReplaceKey),
}

impl CollapseId<'_> {
    /// The message's collapse key.
    pub fn message(key: ReplaceKey) -> Self {
        CollapseId(CollapseText::Message(key))
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            CollapseText::Given(text) => text,
            CollapseText::Message(key) => key.collapse(),
        }
    }
}

impl<'a> From<&'a str> for CollapseId<'a> {
    fn from(text: &'a str) -> Self {
        CollapseId(CollapseText::Given(text))
    }
}

impl PartialEq for CollapseId<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CollapseId<'_> {}

impl core::fmt::Debug for CollapseId<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl core::fmt::Display for CollapseId<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// The Android `tag`: the message's collapse key when it has one, else
/// the conversation key. A tag replaces the shown notification with the
/// same tag (FCM, Huawei, Honor), so a keyed message is its own
/// notification: a recall or edit then replaces that message only, not
/// whatever its conversation shows last.
///
/// With `id_key`, a keyed message's notify id follows as `"<id_key>":<id>`
/// (Huawei and Honor carry both). The key is derived where it is written,
/// in each write pass, rather than held by every layout: a few
/// nanoseconds for a keyed message, and one copy of the code on firmware.
pub(crate) fn tag_member(
    w: &mut Writer<'_, '_>,
    key: Key,
    n: &Notification<'_>,
    id_key: Option<Key>,
) {
    let replace = n.replace_key();
    // One member write for either: the collapse key as a thread key with
    // no prefix.
    let tag = match &replace {
        Some(replace) => ThreadKey {
            prefix: "",
            id: replace.collapse(),
        },
        None => n.thread_key(),
    };
    w.thread_key_member(key, tag);
    if let (Some(replace), Some(id_key)) = (&replace, id_key) {
        w.u64_member(id_key, u64::from(replace.notify_id()));
    }
}

/// `"<key>":<notify id>` for a keyed message; nothing otherwise.
pub(crate) fn notify_id_member(w: &mut Writer<'_, '_>, key: Key, n: &Notification<'_>) {
    if let Some(replace) = n.replace_key() {
        w.u64_member(key, u64::from(replace.notify_id()));
    }
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
pub(crate) mod tests {
    extern crate std;

    use super::{Headers, Warnings};
    use crate::error::{Error, Field};
    use crate::model::Case;
    use crate::model::{Channel, Elem, PushInfo, Sender};
    use crate::testkit::Unrendered;
    use crate::testkit::{
        leak, render_full, render_into, render_str, rendered, text, On, ANN, C2C,
    };
    use crate::write::Cut;

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
            Channel::Harmony,
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

    // Assertions the renderers' tests share.

    /// Renders `case` (twice, as [`render_full`]) and checks that the payload
    /// is `expected`, with nothing cut, no warning and no headers (every
    /// provider but APNs).
    pub(crate) fn assert_uncut(case: &Case<'_>, expected: &str) {
        let (s, r) = render_full(case).expect("rendered");
        assert_eq!(s, expected);
        assert_eq!(r.cut, Cut::default());
        assert_eq!(r.warnings, Warnings::default());
        assert_eq!(r.headers, Headers::None);
    }

    /// A form vendor (no byte limit) given a buffer 10 bytes short of `full`,
    /// the payload of `ann`'s "a fairly long message body": the body gives
    /// them up, and 9 more for its encoded `…` (%E2%80%A6), so that it keeps
    /// "Ann:a fairl" and the payload is `short`, the title whole. A buffer of
    /// `tiny` bytes cannot hold even the fixed fields: an error.
    pub(crate) fn assert_short_buffer_cuts_body(on: On, full: &str, short: &str, tiny: usize) {
        let elems = [Elem::Text("a fairly long message body")];
        let case = on.case(&elems, C2C, ANN, None);
        let (s, _) = render_str(&case).expect("rendered");
        assert_eq!(s, full);
        let mut buf = [0u8; 1024];
        let (r, body) = render_into(&case, &mut buf[..full.len() - 10]).expect("rendered");
        assert_eq!(body, short);
        assert_eq!(r.cut.body, Some("Ann:a fairl".len()));
        assert_eq!(r.cut.title, None);
        assert!(matches!(
            render_into(&case, &mut buf[..tiny]),
            Err(Unrendered::Render(Error::TooLong(_)))
        ));
    }

    /// A provider whose token member is exempt from its byte `limit`
    /// (`member` is that member's length without the token): a 3000-byte
    /// token with a body that fits only without it is sent uncut, and a
    /// body over the limit on its own is cut to exactly `limit` + member.
    pub(crate) fn assert_token_exempt(on: On, limit: usize, member: usize) {
        let on = on.token(leak("t".repeat(3000)));
        let c = on.case(text(leak("x".repeat(3800))), C2C, ANN, None);
        let (s, cut) = render_str(&c).expect("rendered");
        assert!(s.len() > limit + 2000, "{}", s.len());
        assert_eq!(cut, Cut::default());
        let c = on.case(text(leak("x".repeat(5000))), C2C, ANN, None);
        let (s, cut) = render_str(&c).expect("rendered");
        assert_eq!(s.len(), limit + 3000 + member);
        assert!(cut.body.is_some() && cut.title.is_none());
    }

    /// A 6400-byte emoji title over a 2400-byte CJK body on a provider with a
    /// byte `limit` (the `exempt` part of the payload, a token member, not
    /// counted): the body is cut to its `…` and the title to whole emoji, the
    /// payload ending within one emoji of the limit. `head` and `tail` are the
    /// payload around the kept title.
    pub(crate) fn assert_emoji_title_cut(
        on: On,
        limit: usize,
        exempt: &str,
        head: &str,
        tail: &str,
    ) {
        let push = PushInfo {
            title: leak("😀".repeat(1600)),
            ..PushInfo::default()
        };
        let c = on.case(text(leak("中文消息".repeat(200))), C2C, ANN, Some(push));
        let (s, cut) = render_str(&c).expect("rendered");
        let counted = s.len() - exempt.len();
        assert!(counted <= limit && counted > limit - 4, "{counted}");
        assert!(s.starts_with(head) && s.ends_with(tail), "{s}");
        let kept = &s[head.len()..s.len() - tail.len()];
        assert!(
            !kept.is_empty() && kept.chars().all(|c| c == '😀'),
            "{kept}"
        );
        assert_eq!(cut.body, Some(0));
        assert_eq!(cut.title, Some(kept.len()));
    }
}
