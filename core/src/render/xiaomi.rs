//! Xiaomi Mi Push (vendors.md §5): the `application/x-www-form-urlencoded`
//! body of `POST /v3/message/regid`. The `Authorization: key=<AppSecret>`
//! header belongs to the adapter.
//!
//! Fields, in this order (render-map): `registration_id`,
//! `restricted_package_name`, `pass_through=0`, `notify_type=-1`, `title`,
//! `description`, `payload`, `time_to_live`, `extra.channel_id`,
//! `extra.sound_uri`, `extra.notify_effect=1`; `notify_id` after
//! `notify_type` when the message has a key
//! ([`crate::recall::MessageKey`]: its notify id, 1…2³¹−1 within Xiaomi's
//! 0…2147483647, §5.2; the id `/v3/message/regid/revoke` names too).
//!
//! Decisions where the spec is silent:
//! - Title and description are cut to fewer than 50 / 128 Unicode scalar
//!   values (§5.2, §10.3). Xiaomi rejects an all-whitespace (or empty) title
//!   or description (§5.2), so a blank one falls back along its default
//!   chain ([`title`], [`description`]): the title to the first non-blank of
//!   `OfflinePushInfo.Title`, nickname, `From_Account` (group: group name,
//!   `GroupId`); a blank `Desc` to the body composed from the elems. Only
//!   when the whole chain is blank is the push refused (`Invalid(Title)`,
//!   `Invalid(Body)`) rather than sent to fail.
//! - There is no whole-body byte limit (§10.8); only the caller's buffer
//!   bounds the body, and the body (then the title) is cut to fit it.
//! - `payload` is `ext`, form-encoded once, like the public Go clients
//!   (§10.6): whether Xiaomi wants a second percent-encoding inside the
//!   value is unconfirmed. The < 4 KB limit is taken on the decoded value
//!   (§10.1 item 2): an `ext` of 4096 bytes or more is `TooLong(Ext)`.
//! - `time_to_live` is `MsgLifeTime` in ms, clamped to 10 days: an IM push
//!   is a private message under Xiaomi's classification, whose current
//!   maximum is 10 days (§5.2; public messages keep 1 day, older docs said
//!   two weeks). Absent `MsgLifeTime` leaves the field out (Xiaomi default).
//! - `extra.sound_uri`: Xiaomi only plays sounds from the app's own
//!   resources, as `android.resource://<package>/raw/<name>` (§5.2 "file in
//!   app `raw/`"). `AndroidInfo.Sound` is a raw resource name (push-rules
//!   §4.2), so the URI is built from `App.PackageName`; a file extension
//!   (`shake.mp3`) was already dropped for every provider by
//!   [`crate::text::android_sound_name`]; a value that already is an `android.resource://` URI is sent as is. A
//!   name that cannot be a resource name (empty, or not `[A-Za-z0-9_]`) is
//!   `Invalid(Sound)`.
//! - A replacement (`Notification::replaced` (feature `recall`)) is sent with
//!   `notify_type=4` (lights only: no sound, no vibration, §5.2) and no
//!   `extra.sound_uri`.
//! - A `,` in the token or the package name would address several devices
//!   or packages (§5.2), so either is `Invalid`.

use super::kit::{Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::recall::ReplaceKey;
use crate::text::{self, is_blank, Body, Segments};
use crate::write::{fit, pair, CharLimit, Counter, Layout, Slot, Text, Writer};

/// `title`: fewer than 50 chars, each scalar value counts 1 (vendors.md §5.2, §10.3).
pub const TITLE_LIMIT: CharLimit = CharLimit {
    counter: Counter::Scalars,
    max: 49,
};
/// `description`: fewer than 128 chars (vendors.md §5.2, §10.3).
pub const DESCRIPTION_LIMIT: CharLimit = CharLimit {
    counter: Counter::Scalars,
    max: 127,
};
/// `payload` must be shorter than 4 KB, decoded (vendors.md §5.4, §10.1).
pub const PAYLOAD_LIMIT: usize = 4096;
/// `time_to_live` ceiling: 10 days in ms, private messages (vendors.md §5.2).
pub const TTL_MAX_MS: u64 = 10 * 86_400 * 1000;
/// `pass_through`: 0 = notification (vendors.md §5.2).
pub const PASS_THROUGH_NOTIFICATION: u64 = 0;
/// `notify_type`: −1 = all defaults (vendors.md §5.2).
pub const NOTIFY_TYPE_DEFAULT_ALL: i64 = -1;
/// `notify_type`: 4 = lights only, a replacement's (vendors.md §5.2).
pub const NOTIFY_TYPE_LIGHTS: i64 = 4;
/// `extra.notify_effect`: "1" = open the launcher activity (vendors.md §5.2).
pub const NOTIFY_EFFECT_LAUNCHER: u64 = 1;
/// `extra.sound_uri` prefix and resource folder (vendors.md §5.2).
pub const SOUND_URI_SCHEME: &str = "android.resource://";
pub const SOUND_URI_RAW: &str = "/raw/";

struct Xiaomi<'n, 'a> {
    n: &'n Notification<'a>,
    title: &'a str,
    description: Body<'a>,
    /// `extra.sound_uri` as `[scheme, package, "/raw/", name]`, or a whole
    /// URI in the first piece; `None` = no sound.
    sound_uri: Option<[&'a str; 4]>,
}

impl Layout for Xiaomi<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let case = n.case;
        let android = n.android_info();
        w.form_str(
            pair!("registration_id"),
            Field::Token,
            case.recipient.device.token,
        );
        w.form_str(
            pair!("restricted_package_name"),
            Field::PackageName,
            case.app.package_name,
        );
        w.form_u64(pair!("pass_through"), PASS_THROUGH_NOTIFICATION);
        let notify_type = match n.replacement() {
            Some(_) => NOTIFY_TYPE_LIGHTS,
            None => NOTIFY_TYPE_DEFAULT_ALL,
        };
        w.form_i64(pair!("notify_type"), notify_type);
        if let Some(replace) = n.replace_key() {
            w.form_u64(pair!("notify_id"), u64::from(replace.notify_id()));
        }
        let title = Text {
            segments: Segments::single(self.title),
            limit: Some(TITLE_LIMIT),
        };
        w.form_text(pair!("title"), Slot::Title, title);
        let description = Text {
            segments: self.description.segments(),
            limit: Some(DESCRIPTION_LIMIT),
        };
        w.form_text(pair!("description"), Slot::Body, description);
        w.opt_form_str(pair!("payload"), Field::Ext, n.ext());
        if let Some(seconds) = n.message().life_time {
            let ms = u64::from(seconds).saturating_mul(1000).min(TTL_MAX_MS);
            w.form_u64(pair!("time_to_live"), ms);
        }
        w.opt_form_str(
            pair!("extra.channel_id"),
            Field::ChannelId,
            android.xiaomi_channel_id,
        );
        if let Some(uri) = self.sound_uri {
            w.form_str_segments(pair!("extra.sound_uri"), Field::Sound, uri.into_iter());
        }
        w.form_u64(pair!("extra.notify_effect"), NOTIFY_EFFECT_LAUNCHER);
        Ok(())
    }
}

/// The title sent: the first non-blank of the Android title chain; empty
/// when every one is blank (the push is then refused).
pub fn title<'a>(n: &Notification<'a>) -> &'a str {
    text::android_title_chain(n.message())
        .into_iter()
        .find(|t| !is_blank(t))
        .unwrap_or_default()
}

/// The description sent: the body, or, when it is a blank `Desc`, the body
/// composed from the elems.
pub fn description<'a>(n: &Notification<'a>) -> Body<'a> {
    match n.body() {
        Body::Desc(desc) if is_blank(desc) => Body::composed(n.message(), n.case.recipient.locale),
        body => body,
    }
}

/// The pieces of `extra.sound_uri` for an `AndroidInfo.Sound`.
fn sound_uri<'a>(sound: &'a str, package: &'a str) -> Result<Option<[&'a str; 4]>, Error> {
    if sound.is_empty() {
        return Ok(None);
    }
    if sound.starts_with(SOUND_URI_SCHEME) {
        return Ok(Some([sound, "", "", ""]));
    }
    // `decide` already dropped a file extension (`text::android_sound_name`).
    let name = sound;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::Invalid(Field::Sound));
    }
    Ok(Some([SOUND_URI_SCHEME, package, SOUND_URI_RAW, name]))
}

/// The device token and package name, each one value: a `,` would
/// address several devices or packages (§5.2).
fn target<'a>(n: &Notification<'a>) -> Result<(&'a str, &'a str), Error> {
    let case = n.case;
    let token = case.recipient.device.token;
    if token.is_empty() || token.contains(',') {
        return Err(Error::Invalid(Field::Token));
    }
    let package = case.app.package_name;
    if package.is_empty() || package.contains(',') {
        return Err(Error::Invalid(Field::PackageName));
    }
    Ok((token, package))
}

/// Renders the Mi Push form body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    let (_, package) = target(n)?;
    let title = title(n);
    if title.is_empty() {
        return Err(Error::Invalid(Field::Title));
    }
    let description = description(n);
    if description.segments().all(is_blank) {
        return Err(Error::Invalid(Field::Body));
    }
    if n.ext().len() >= PAYLOAD_LIMIT {
        return Err(Error::TooLong(Field::Ext));
    }
    let sound_uri = sound_uri(n.android_sound(), package)?;
    let layout = Xiaomi {
        n,
        title,
        description,
        sound_uri,
    };
    let fitted = fit(&layout, buf, usize::MAX)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

/// The revoke form: the message's notification by its notify id.
struct Revoke<'a> {
    token: &'a str,
    package: &'a str,
    notify_id: u32,
}

impl Layout for Revoke<'_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        w.form_str(pair!("registration_id"), Field::Token, self.token);
        w.form_str(
            pair!("restricted_package_name"),
            Field::PackageName,
            self.package,
        );
        w.form_u64(pair!("notify_id"), u64::from(self.notify_id));
        Ok(())
    }
}

/// Renders the form body of `POST /v3/message/regid/revoke` into `buf`:
/// `registration_id`, `restricted_package_name`, `notify_id` (the id every
/// push of the message carried). **Unconfirmed**: beyond.md §13.2 finds the
/// V1 fields (`registration_ids`, as the Java SDK sends them) but not V3's;
/// these are V3's send names. The same `Authorization` header as a send.
pub fn revoke<'a>(
    n: &Notification<'a>,
    key: &ReplaceKey,
    buf: &mut [u8],
) -> Result<Rendered<'a>, Error> {
    let (token, package) = target(n)?;
    let layout = Revoke {
        token,
        package,
        notify_id: key.notify_id(),
    };
    let fitted = fit(&layout, buf, usize::MAX)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::render::kit::tests::{assert_short_buffer_cuts_body, assert_uncut};
    use crate::testkit::Unrendered;
    use crate::testkit::{basic, render_full, render_into, render_str, On, ANN, C2C};

    const XIAOMI: On = On {
        channel: Channel::Xiaomi,
        token: "xm-token-1",
    };

    fn push_info<'a>(ext: &'a str, channel: &'a str) -> PushInfo<'a> {
        PushInfo {
            ext,
            android: AndroidInfo {
                xiaomi_channel_id: channel,
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        }
    }

    #[test]
    fn basic_vector() {
        let android = AndroidInfo {
            xiaomi_channel_id: "xm-im",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(XIAOMI, android),
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Ann&description=Ann%3Ahi\
             &payload=%7B%22entity%22%3A%7B%22sender%22%3A%22ann%22%2C%22chatType%22%3A1%7D%7D\
             &extra.channel_id=xm-im&extra.notify_effect=1",
        );
    }

    #[test]
    fn group_message_with_ttl_and_sound() {
        let elems = [Elem::Text("lunch?"), Elem::Image];
        let group = Conversation::Group(Group {
            id: "g1",
            name: "Team A",
            kind: GroupType::Work,
        });
        let mut info = push_info("", "xm-im");
        info.android.sound = "shake.mp3";
        let mut case = XIAOMI.case(&elems, group, ANN, Some(info));
        case.message.sender.name_card = "Annie";
        case.message.life_time = Some(3600);
        let (body, _) = render_str(&case).unwrap();
        assert_eq!(
            body,
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Team+A\
             &description=Annie%28Team+A%29%3Alunch%3F%5Bimage%5D\
             &time_to_live=3600000&extra.channel_id=xm-im\
             &extra.sound_uri=android.resource%3A%2F%2Fcom.example.chat%2Fraw%2Fshake\
             &extra.notify_effect=1"
        );
    }

    #[test]
    fn ttl_is_clamped_and_uri_sound_kept() {
        let elems = [Elem::Text("hi")];
        let mut info = push_info("", "");
        info.android.sound = "android.resource://com.example.chat/raw/ding";
        let mut case = XIAOMI.case(&elems, C2C, ANN, Some(info));
        case.message.life_time = Some(u32::MAX);
        let (body, _) = render_str(&case).unwrap();
        assert_eq!(
            body,
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Ann&description=Ann%3Ahi\
             &time_to_live=864000000\
             &extra.sound_uri=android.resource%3A%2F%2Fcom.example.chat%2Fraw%2Fding\
             &extra.notify_effect=1"
        );
    }

    #[test]
    fn cjk_and_emoji_cut_by_char_limits() {
        // Title 50 scalars (limit 49), body 128 (limit 127): each keeps
        // 48 / 126 scalars plus `…`; an emoji counts 1 (§10.3).
        let title = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa😀标题😀😀";
        let text = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
                    xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx你😀好😀世界";
        assert_eq!((title.chars().count(), text.chars().count()), (50, 124));
        let elems = [Elem::Text(text)];
        let mut info = push_info("", "");
        info.title = title;
        let case = XIAOMI.case(&elems, C2C, ANN, Some(info));
        let (body, r) = render_full(&case).unwrap();
        assert_eq!(
            body,
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1\
             &title=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
             %F0%9F%98%80%E6%A0%87%E9%A2%98%E2%80%A6\
             &description=Ann%3Axxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
             xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
             %E4%BD%A0%F0%9F%98%80%E5%A5%BD%F0%9F%98%80%E2%80%A6&extra.notify_effect=1"
        );
        assert_eq!(r.cut.title, Some(55));
        assert_eq!(r.cut.body, Some(136));
    }

    #[test]
    fn blank_title_and_desc_fall_back_along_their_chains() {
        let elems = [Elem::Text("hi")];
        let mut info = push_info("", "");
        info.title = " \u{3000} ";
        info.desc = "\n ";
        let c2c = XIAOMI.case(&elems, C2C, ANN, Some(info));
        let (body, _) = render_str(&c2c).unwrap();
        assert!(body.contains("&title=Ann&description=Ann%3Ahi&"), "{body}");
        // No nickname: the account. A group: its name, then its id.
        let mut no_nick = c2c;
        no_nick.message.sender.nick = " ";
        let (body, _) = render_str(&no_nick).unwrap();
        assert!(body.contains("&title=ann&"), "{body}");
        let group = Conversation::Group(Group {
            id: "g1",
            name: "\t",
            kind: GroupType::Work,
        });
        let in_group = XIAOMI.case(&elems, group, ANN, Some(info));
        let (body, _) = render_str(&in_group).unwrap();
        assert!(body.contains("&title=g1&"), "{body}");
    }

    #[test]
    fn small_buffer_cuts_body() {
        assert_short_buffer_cuts_body(
            XIAOMI,
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Ann\
             &description=Ann%3Aa+fairly+long+message+body&extra.notify_effect=1",
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Ann\
             &description=Ann%3Aa+fairl%E2%80%A6&extra.notify_effect=1",
            60,
        );
    }

    #[test]
    fn unset_knobs_are_left_out() {
        // No push info: no payload, channel, sound or TTL.
        let elems = [Elem::Text("hi")];
        let case = XIAOMI.case(&elems, C2C, ANN, None);
        let (body, _) = render_str(&case).unwrap();
        assert_eq!(
            body,
            "registration_id=xm-token-1&restricted_package_name=com.example.chat\
             &pass_through=0&notify_type=-1&title=Ann&description=Ann%3Ahi\
             &extra.notify_effect=1"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let elems = [Elem::Text("hi")];
        let mut buf = [0u8; 8192];

        let mut no_package = XIAOMI.case(&elems, C2C, ANN, None);
        no_package.app.package_name = "";
        assert_eq!(
            render_into(&no_package, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::PackageName))
        );

        let big = [b'x'; PAYLOAD_LIMIT];
        let big = core::str::from_utf8(&big).unwrap();
        let too_big = XIAOMI.case(&elems, C2C, ANN, Some(push_info(big, "")));
        assert_eq!(
            render_into(&too_big, &mut buf).unwrap_err(),
            Unrendered::Render(Error::TooLong(Field::Ext))
        );
        let just_fits = XIAOMI.case(&elems, C2C, ANN, Some(push_info(&big[1..], "")));
        assert!(render_into(&just_fits, &mut buf).is_ok());

        let mut info = push_info("", "");
        info.android.sound = "my sound";
        let bad_sound = XIAOMI.case(&elems, C2C, ANN, Some(info));
        assert_eq!(
            render_into(&bad_sound, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::Sound))
        );

        // A blank title and sender names: nothing in the chain to show.
        let mut blank = push_info("", "");
        blank.title = " \u{3000} ";
        let mut blank_title = XIAOMI.case(&elems, C2C, ANN, Some(blank));
        blank_title.message.sender.nick = "\t";
        blank_title.message.sender.account = " ";
        assert_eq!(
            render_into(&blank_title, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::Title))
        );
        // A blank Desc over a blank composed body (no nickname, text " ").
        let spaces = [Elem::Text(" ")];
        let mut blank = push_info("", "");
        blank.desc = "\u{3000}";
        let mut blank_body = XIAOMI.case(&spaces, C2C, ANN, Some(blank));
        blank_body.message.sender.nick = "";
        assert_eq!(
            render_into(&blank_body, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::Body))
        );

        let mut two_tokens = XIAOMI.case(&elems, C2C, ANN, None);
        two_tokens.recipient.device.token = "a,b";
        assert_eq!(
            render_into(&two_tokens, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::Token))
        );
    }
}
