//! OPPO Push (vendors.md §6): the `application/x-www-form-urlencoded` body
//! of `POST /server/v1/message/notification/unicast`, which is the single
//! field `message=<JSON>`. The `auth_token` form field is a credential and
//! belongs to the adapter, which appends `&auth_token=...` itself.
//!
//! `message` is `{"target_type":2,"target_value":<token>,"notification":
//! {"title","content","channel_id"?,"category"?,"notify_level"?,
//! "action_parameters"?,"off_line":true,"off_line_ttl"?}}` (render-map).
//!
//! Decisions where the spec is silent or conflicting:
//! - `title` and `content` are cut to 50 UTF-16 code units each (§6.2,
//!   §10.3: OPPO's server is Java, so an emoji may count 2). For `content`
//!   the copies conflict (50 vs 200, §6.2); 50 is the safe one (§6.4).
//! - There is no documented whole-`message` limit (§6.4): only the caller's
//!   buffer bounds the body, and the body (then the title) is cut to fit it.
//! - `action_parameters` is `ext` as a JSON *string* (§6.2), sent only when
//!   `ext` is one JSON object ([`crate::json::is_json_object`]); any other
//!   `ext` is left out with `warnings.ext_not_json_object` (push-rules
//!   OQ-19). An `ext` object over 4000 UTF-16 units is `TooLong(Ext)` (§6.4).
//! - `notify_level` must be 1, 2 or 16 (§6.2) or it is `Invalid(NotifyLevel)`,
//!   whether or not a category is set. OPPO requires `category` with it, so
//!   without `OPPOCategory` it is left out (the push goes out at OPPO's
//!   default level) rather than sent to be rejected with code 67 (§6.3).
//! - `off_line` is always `true`; `off_line_ttl` is `MsgLifeTime` in
//!   seconds, clamped to 10 days as OPPO itself would (§6.2, §6.4); absent
//!   `MsgLifeTime` leaves it out (OPPO default).
//! - `target_type` is 2 (registration id): the device token is a regId.
//! - A replacement (`Notification::replaced` (feature `recall`)) is sent at `notify_level`
//!   1 (drawer only, no ring or vibration) when `OPPOCategory` is set
//!   (OPPO takes a level only with a category); without one OPPO's default
//!   level applies: OPPO has no other sound field.
//! - `notify_id` (after `off_line_ttl`) is the message's notify id when it
//!   has a key ([`crate::recall::MessageKey`]; §6.2 "same id replaces",
//!   no range documented: 1…2³¹−1 fits a Java int).

use super::kit::{android_texts, notify_id_member, require_token_and_title, Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::json::is_json_object;
use crate::write::{fit, key, pair, CharLimit, Counter, Layout, Writer};

/// `notification.title`: at most 50 chars, counted as UTF-16 units (vendors.md §6.2, §10.3).
pub const TITLE_LIMIT: CharLimit = CharLimit {
    counter: Counter::Utf16,
    max: 50,
};
/// `notification.content`, style 1: at most 50 (the safe copy, vendors.md §6.4).
pub const CONTENT_LIMIT: CharLimit = CharLimit {
    counter: Counter::Utf16,
    max: 50,
};
/// `notification.action_parameters`: at most 4000 chars (vendors.md §6.4).
pub const ACTION_PARAMETERS_MAX_UNITS: usize = 4000;
/// `notification.off_line_ttl` ceiling: 10 days in seconds (vendors.md §6.2).
pub const OFF_LINE_TTL_MAX_SECONDS: u64 = 10 * 86_400;
/// `target_type`: 2 = registration id (vendors.md §6.2).
pub const TARGET_TYPE_REGISTRATION_ID: u64 = 2;
/// `notify_level` values OPPO accepts (vendors.md §6.2).
pub const NOTIFY_LEVELS: [u8; 3] = [1, 2, 16];
/// `notify_level` 1: the drawer only, a replacement's (vendors.md §6.2).
pub const NOTIFY_LEVEL_DRAWER: u8 = 1;

struct Oppo<'n, 'a> {
    n: &'n Notification<'a>,
    /// `action_parameters`; empty = left out.
    action_parameters: &'a str,
    /// `notify_level`, only with a category.
    notify_level: Option<u8>,
}

impl Layout for Oppo<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let android = n.android_info();
        w.form_json(pair!("message"), |w| {
            w.begin_object();
            w.u64_member(key!("target_type"), TARGET_TYPE_REGISTRATION_ID);
            w.str_member(
                key!("target_value"),
                Field::Token,
                n.case.recipient.device.token,
            );
            w.key(key!("notification"));
            w.begin_object();
            android_texts(
                w,
                n,
                (key!("title"), Some(TITLE_LIMIT)),
                (key!("content"), Some(CONTENT_LIMIT)),
            );
            w.opt_str_member(
                key!("channel_id"),
                Field::ChannelId,
                android.oppo_channel_id,
            );
            w.opt_str_member(key!("category"), Field::Category, android.oppo_category);
            if let Some(level) = self.notify_level {
                w.u64_member(key!("notify_level"), u64::from(level));
            }
            w.opt_str_member(
                key!("action_parameters"),
                Field::Ext,
                self.action_parameters,
            );
            w.bool_member(key!("off_line"), true);
            if let Some(seconds) = n.message().life_time {
                let ttl = u64::from(seconds).min(OFF_LINE_TTL_MAX_SECONDS);
                w.u64_member(key!("off_line_ttl"), ttl);
            }
            notify_id_member(w, key!("notify_id"), n);
            w.end_object();
            w.end_object();
            Ok(())
        })
    }
}

/// Renders the OPPO unicast form body (`message=<JSON>`) into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    require_token_and_title(n)?;
    let android = n.android_info();
    let notify_level = match android.oppo_notify_level {
        Some(level) if !NOTIFY_LEVELS.contains(&level) => {
            return Err(Error::Invalid(Field::NotifyLevel))
        }
        _ if android.oppo_category.is_empty() => None,
        _ if n.replacement().is_some() => Some(NOTIFY_LEVEL_DRAWER),
        level => level,
    };
    let mut warnings = Warnings::default();
    let action_parameters = if n.ext().is_empty() {
        ""
    } else if is_json_object(n.ext()) {
        if Counter::Utf16.count(n.ext()) > ACTION_PARAMETERS_MAX_UNITS {
            return Err(Error::TooLong(Field::Ext));
        }
        n.ext()
    } else {
        warnings.ext_not_json_object = true;
        ""
    };
    let layout = Oppo {
        n,
        action_parameters,
        notify_level,
    };
    let fitted = fit(&layout, buf, usize::MAX)?;
    Ok(Rendered::without_headers(fitted, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::render::kit::tests::{assert_short_buffer_cuts_body, assert_uncut};
    use crate::testkit::Unrendered;
    use crate::testkit::{basic, render_full, render_into, render_str, On, ANN, C2C};

    const OPPO: On = On {
        channel: Channel::Oppo,
        token: "oppo-token-1",
    };

    fn push_info<'a>(ext: &'a str, channel: &'a str) -> PushInfo<'a> {
        PushInfo {
            ext,
            android: AndroidInfo {
                oppo_channel_id: channel,
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        }
    }

    #[test]
    fn basic_vector() {
        // Decoded: message={"target_type":2,"target_value":"oppo-token-1",
        // "notification":{"title":"Ann","content":"Ann:hi","channel_id":"oppo-im",
        // "action_parameters":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}",
        // "off_line":true}}
        let android = AndroidInfo {
            oppo_channel_id: "oppo-im",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(OPPO, android),
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22Ann%22%2C%22content%22%3A%22Ann%3Ahi%22\
             %2C%22channel_id%22%3A%22oppo-im%22%2C%22action_parameters%22%3A%22\
             %7B%5C%22entity%5C%22%3A%7B%5C%22sender%5C%22%3A%5C%22ann%5C%22%2C\
             %5C%22chatType%5C%22%3A1%7D%7D%22%2C%22off_line%22%3Atrue%7D%7D",
        );
    }

    #[test]
    fn group_message_with_category_level_and_ttl() {
        // Decoded: message={"target_type":2,"target_value":"oppo-token-1",
        // "notification":{"title":"Team A","content":"Annie(Team A):lunch?[image]",
        // "channel_id":"oppo-im","category":"IM","notify_level":16,"off_line":true,
        // "off_line_ttl":864000}}
        let elems = [Elem::Text("lunch?"), Elem::Image];
        let group = Conversation::Group(Group {
            id: "g1",
            name: "Team A",
            kind: GroupType::Work,
        });
        let mut info = push_info("", "oppo-im");
        info.android.oppo_category = "IM";
        info.android.oppo_notify_level = Some(16);
        let mut case = OPPO.case(&elems, group, ANN, Some(info));
        case.message.sender.name_card = "Annie";
        case.message.life_time = Some(30 * 86_400);
        let (body, _) = render_str(&case).unwrap();
        assert_eq!(
            body,
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22Team+A%22\
             %2C%22content%22%3A%22Annie%28Team+A%29%3Alunch%3F%5Bimage%5D%22\
             %2C%22channel_id%22%3A%22oppo-im%22%2C%22category%22%3A%22IM%22\
             %2C%22notify_level%22%3A16%2C%22off_line%22%3Atrue\
             %2C%22off_line_ttl%22%3A864000%7D%7D"
        );
    }

    #[test]
    fn cjk_and_emoji_cut_by_utf16_limits() {
        // Title: 45 + 😀 (2) + 标题 (2) + 😀 (2) = 51 units > 50: keeps
        // 45 + 😀标题 (49) and `…` (50). Content: "Ann:" + 41 + 你😀好😀 = 51:
        // keeps "Ann:" + 41 + 你😀好 (49) and `…`. Each emoji counts 2.
        let title = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa😀标题😀";
        let text = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx你😀好😀";
        assert_eq!(Counter::Utf16.count(title), 51);
        assert_eq!(Counter::Utf16.count(text) + 4, 51);
        let elems = [Elem::Text(text)];
        let mut info = push_info("", "");
        info.title = title;
        let case = OPPO.case(&elems, C2C, ANN, Some(info));
        let (body, r) = render_full(&case).unwrap();
        // Decoded: {"title":"a…(45 a)😀标题…","content":"Ann:x…(41 x)你😀好…"}
        assert_eq!(
            body,
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22\
             aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
             %F0%9F%98%80%E6%A0%87%E9%A2%98%E2%80%A6%22\
             %2C%22content%22%3A%22Ann%3Axxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
             %E4%BD%A0%F0%9F%98%80%E5%A5%BD%E2%80%A6%22%2C%22off_line%22%3Atrue%7D%7D"
        );
        assert_eq!(r.cut.title, Some(45 + 4 + 3 + 3));
        assert_eq!(r.cut.body, Some(4 + 41 + 3 + 4 + 3));
    }

    #[test]
    fn small_buffer_cuts_body() {
        assert_short_buffer_cuts_body(
            OPPO,
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22Ann%22\
             %2C%22content%22%3A%22Ann%3Aa+fairly+long+message+body%22\
             %2C%22off_line%22%3Atrue%7D%7D",
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22Ann%22\
             %2C%22content%22%3A%22Ann%3Aa+fairl%E2%80%A6%22%2C%22off_line%22%3Atrue%7D%7D",
            40,
        );
    }

    #[test]
    fn unset_knobs_are_left_out_and_non_object_ext_warns() {
        // Ext "hello" is not a JSON object: no action_parameters, a warning.
        // A notify level without a category is left out.
        let elems = [Elem::Text("hi")];
        let mut info = push_info("hello", "");
        info.android.oppo_notify_level = Some(2);
        let case = OPPO.case(&elems, C2C, ANN, Some(info));
        let (body, r) = render_full(&case).unwrap();
        assert_eq!(
            body,
            "message=%7B%22target_type%22%3A2%2C%22target_value%22%3A%22oppo-token-1%22\
             %2C%22notification%22%3A%7B%22title%22%3A%22Ann%22\
             %2C%22content%22%3A%22Ann%3Ahi%22%2C%22off_line%22%3Atrue%7D%7D"
        );
        assert!(r.warnings.ext_not_json_object);
        assert!(r.warnings.names().eq(["ExtNotJsonObject"]));

        // A JSON array is not an object either.
        let elems = [Elem::Text("hi")];
        let array = OPPO.case(&elems, C2C, ANN, Some(push_info("[1,2]", "")));
        let (_, r) = render_full(&array).unwrap();
        assert!(r.warnings.ext_not_json_object);

        // No ext at all: no warning.
        let none = OPPO.case(&elems, C2C, ANN, None);
        let (_, r) = render_full(&none).unwrap();
        assert_eq!(r.warnings, Warnings::default());
    }

    #[test]
    fn errors_name_the_field() {
        let elems = [Elem::Text("hi")];
        let mut buf = [0u8; 16384];

        let mut info = push_info("", "");
        info.android.oppo_category = "IM";
        info.android.oppo_notify_level = Some(3);
        let bad_level = OPPO.case(&elems, C2C, ANN, Some(info));
        assert_eq!(
            render_into(&bad_level, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::NotifyLevel))
        );

        // A JSON object of 4001 UTF-16 units is too long; 4000 fits.
        let mut big = [b'x'; ACTION_PARAMETERS_MAX_UNITS + 1];
        big[..6].copy_from_slice(br#"{"k":""#);
        big[ACTION_PARAMETERS_MAX_UNITS - 1..].copy_from_slice(br#""}"#);
        let big = core::str::from_utf8(&big).unwrap();
        assert!(is_json_object(big));
        let too_big = OPPO.case(&elems, C2C, ANN, Some(push_info(big, "")));
        assert_eq!(
            render_into(&too_big, &mut buf).unwrap_err(),
            Unrendered::Render(Error::TooLong(Field::Ext))
        );
        let mut max = [b'x'; ACTION_PARAMETERS_MAX_UNITS];
        max[..6].copy_from_slice(br#"{"k":""#);
        max[ACTION_PARAMETERS_MAX_UNITS - 2..].copy_from_slice(br#""}"#);
        let max = core::str::from_utf8(&max).unwrap();
        let fits = OPPO.case(&elems, C2C, ANN, Some(push_info(max, "")));
        let (_, r) = render_full(&fits).unwrap();
        assert_eq!(r.warnings, Warnings::default());

        let mut untitled = OPPO.case(&elems, C2C, ANN, None);
        untitled.message.sender.nick = "";
        untitled.message.sender.account = "";
        assert_eq!(
            render_into(&untitled, &mut buf).unwrap_err(),
            Unrendered::Render(Error::Invalid(Field::Title))
        );
    }
}
