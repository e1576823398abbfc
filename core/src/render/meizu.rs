//! Meizu Push (vendors.md §8): the form body of `pushByPushId`.
//!
//! The body is `pushIds=<token>&messageJson=<JSON>` (vendors.md §8.1); the
//! JSON is `{"noticeBarInfo":{"noticeMsgType"?,"title","content"},
//! "clickTypeInfo":{"clickType":0,"parameters":{"ext"}?},
//! "pushTimeInfo":{"offLine":1,"validTime"?}}` (render-map, §8.2), in that
//! order. `appId` and `sign` are the adapter's: Meizu signs the **raw**
//! parameter values (§8.1, §10.6), so [`render_message_json`] writes the raw
//! `messageJson` alone, byte-identical to the value the form body carries
//! once decoded, for the adapter to sign.
//!
//! Decisions where the spec is silent or conflicting:
//! - Title (32) and content (100) are counted in UTF-16 code units (§10.3:
//!   Meizu's rule is unspecified, its server is Java); the ellipsis of a cut
//!   text counts 1.
//! - Meizu documents no byte limit (§10.8), and the signed `messageJson` must
//!   equal the sent one. So a Meizu payload is never cut to fit the caller's
//!   buffer: texts are cut by their char limits only, which depend on the
//!   chars alone, so [`render`] and [`render_message_json`] always make the
//!   same cuts; a buffer too small for the result is
//!   `Error::TooLong(Field::Payload)`.
//! - `validTime` is `MsgLifeTime` in hours rounded up, clamped to 1 … 72
//!   (§8.2, §8.4 reject outside, §10.7). Without `MsgLifeTime` it is left
//!   out and Meizu applies its default of 24 h (§8.2), as render-map does for
//!   every provider's TTL; `offLine: 1` is always sent.
//! - `noticeMsgType` is `MeiZuNoticeMsgType` when set (0 or 1, anything else
//!   is `Error::Invalid(Field::NoticeMsgType)`), left out otherwise (Meizu's
//!   default 0, public).
//! - `clickTypeInfo.parameters` is `{"ext": Ext}` when Ext is set, left out
//!   otherwise; `clickType` 0 opens the app.
//! - `pushIds` is a comma-separated list (§8.1): a token holding a comma, or
//!   anything but visible ASCII, would address other or no devices, so it is
//!   `Error::Invalid(Field::Token)`.
//! - A message with a key ([`crate::recall::MessageKey`]) adds
//!   `"advanceInfo":{"notifyKey":<its Meizu key>}` after `pushTimeInfo`
//!   (§8.2: ≤ 8 chars of `[0-9A-Za-z_-]`, a collapse key: only the last
//!   arrival with a key is shown). A replacement
//!   (`Notification::replaced` (feature `recall`)) adds, before it, `"suspend":0` (no
//!   floating banner) and `"notificationType":{"vibrate":0,"lights":0,
//!   "sound":0}` (Meizu's PushAPI README: each 0 off, 1 on, default 1).

use super::kit::{android_texts, Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::write::{fit_uncut, key, pair, CharLimit, Counter, Layout, Writer};

/// `noticeBarInfo.title`: 1–32 chars (vendors.md §8.2, §8.4).
pub const TITLE_LIMIT: CharLimit = CharLimit {
    counter: Counter::Utf16,
    max: 32,
};
/// `noticeBarInfo.content`: 1–100 chars (vendors.md §8.2, §8.4).
pub const CONTENT_LIMIT: CharLimit = CharLimit {
    counter: Counter::Utf16,
    max: 100,
};
/// `pushTimeInfo.validTime` range in hours (vendors.md §8.2, §8.4).
pub const MIN_VALID_HOURS: u32 = 1;
pub const MAX_VALID_HOURS: u32 = 72;
/// Seconds per `validTime` unit (vendors.md §10.7: hours).
pub const SECONDS_PER_HOUR: u32 = 3600;
/// `clickTypeInfo.clickType` 0: open the app (vendors.md §8.2).
pub const CLICK_TYPE_OPEN_APP: u64 = 0;
/// `pushTimeInfo.offLine` 1: keep for offline devices (vendors.md §8.2).
pub const OFF_LINE: u64 = 1;
/// `noticeBarInfo.noticeMsgType`: 0 public, 1 private (vendors.md §8.2).
pub const NOTICE_MSG_TYPE_MAX: u8 = 1;
/// The key of the ext entry in `clickTypeInfo.parameters` (render-map).
pub const EXT_KEY: &str = "ext";

/// `validTime` for a `MsgLifeTime` in seconds: hours rounded up, clamped.
pub fn valid_hours(life_time: u32) -> u32 {
    life_time
        .div_ceil(SECONDS_PER_HOUR)
        .clamp(MIN_VALID_HOURS, MAX_VALID_HOURS)
}

/// Everything that is checked before writing, shared by both entry points.
fn check(n: &Notification<'_>) -> Result<Option<u8>, Error> {
    let token = n.case.recipient.device.token;
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err(Error::Invalid(Field::Token));
    }
    if n.android_title().is_empty() {
        // Meizu requires 1–32 chars (§8.2); render-map says never empty.
        return Err(Error::Invalid(Field::Title));
    }
    let android = n.android_info();
    match android.meizu_notice_msg_type {
        Some(t) if t > NOTICE_MSG_TYPE_MAX => Err(Error::Invalid(Field::NoticeMsgType)),
        t => Ok(t),
    }
}

/// The `messageJson` document, written by both layouts.
fn message_json(
    n: &Notification<'_>,
    notice_msg_type: Option<u8>,
    w: &mut Writer<'_, '_>,
) -> Result<(), Error> {
    w.begin_object();
    w.key(key!("noticeBarInfo"));
    w.begin_object();
    if let Some(t) = notice_msg_type {
        w.u64_member(key!("noticeMsgType"), u64::from(t));
    }
    android_texts(
        w,
        n,
        (key!("title"), Some(TITLE_LIMIT)),
        (key!("content"), Some(CONTENT_LIMIT)),
    );
    w.end_object();
    w.key(key!("clickTypeInfo"));
    w.begin_object();
    w.u64_member(key!("clickType"), CLICK_TYPE_OPEN_APP);
    if !n.ext().is_empty() {
        w.key(key!("parameters"));
        w.begin_object();
        w.str_member(key!("ext"), Field::Ext, n.ext()); // EXT_KEY
        w.end_object();
    }
    w.end_object();
    w.key(key!("pushTimeInfo"));
    w.begin_object();
    w.u64_member(key!("offLine"), OFF_LINE);
    if let Some(seconds) = n.message().life_time {
        w.u64_member(key!("validTime"), u64::from(valid_hours(seconds)));
    }
    w.end_object();
    if let Some(replace) = n.replace_key() {
        w.key(key!("advanceInfo"));
        w.begin_object();
        if n.replacement().is_some() {
            w.u64_member(key!("suspend"), 0);
            w.key(key!("notificationType"));
            w.begin_object();
            w.u64_member(key!("vibrate"), 0);
            w.u64_member(key!("lights"), 0);
            w.u64_member(key!("sound"), 0);
            w.end_object();
        }
        w.str_member(key!("notifyKey"), Field::MsgKey, replace.meizu_key());
        w.end_object();
    }
    w.end_object();
    Ok(())
}

/// The form body.
struct Meizu<'n, 'a> {
    n: &'n Notification<'a>,
    notice_msg_type: Option<u8>,
}

impl Layout for Meizu<'_, '_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        w.form_str(
            pair!("pushIds"),
            Field::Token,
            self.n.case.recipient.device.token,
        );
        w.form_json(pair!("messageJson"), |w| {
            message_json(self.n, self.notice_msg_type, w)
        })
    }
}

/// The raw `messageJson` alone, for the adapter's signature.
struct MessageJson<'n, 'a> {
    n: &'n Notification<'a>,
    notice_msg_type: Option<u8>,
}

impl Layout for MessageJson<'_, '_> {
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        message_json(self.n, self.notice_msg_type, w)
    }
}

/// Renders the Meizu form body (`pushIds`, `messageJson`) into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    let notice_msg_type = check(n)?;
    let fitted = fit_uncut(&Meizu { n, notice_msg_type }, buf)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

/// Writes the raw (not form-encoded) `messageJson` into `buf` and returns
/// its length: exactly the bytes the adapter signs (vendors.md §8.1), equal
/// to the `messageJson` value of [`render`]'s body once form-decoded.
pub fn render_message_json(n: &Notification<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let notice_msg_type = check(n)?;
    Ok(fit_uncut(&MessageJson { n, notice_msg_type }, buf)?.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::testkit::{notification, On, C2C, EXT};
    use crate::write::Cut;

    const MEIZU: On = On {
        channel: Channel::Meizu,
        token: "mz-token-1",
    };

    fn ext_info(ext: &str) -> PushInfo<'_> {
        PushInfo {
            ext,
            ..PushInfo::default()
        }
    }

    /// Decodes a form value (`+` = space, `%XX`) into `out`.
    fn form_decode<'o>(value: &str, out: &'o mut [u8]) -> &'o str {
        let bytes = value.as_bytes();
        let (mut i, mut len) = (0, 0);
        while i < bytes.len() {
            let b = match bytes[i] {
                b'+' => b' ',
                b'%' => {
                    let hex = core::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    i += 2;
                    u8::from_str_radix(hex, 16).unwrap()
                }
                b => b,
            };
            out[len] = b;
            len += 1;
            i += 1;
        }
        core::str::from_utf8(&out[..len]).unwrap()
    }

    /// Renders the form body and the raw messageJson, checks that the form
    /// carries exactly `pushIds=<token>&messageJson=<raw>`, and returns the
    /// raw JSON.
    fn render_both<'b>(case: &Case<'_>, raw: &'b mut [u8]) -> (&'b str, Cut) {
        let n = notification(case).unwrap();
        let mut form = [0u8; 4096];
        let r = render(&n, &mut form).unwrap();
        let body = core::str::from_utf8(&form[..r.len]).unwrap();
        let again = {
            let mut second = [0u8; 4096];
            let r2 = render(&n, &mut second).unwrap();
            second[..r2.len] == form[..r.len]
        };
        assert!(again, "not byte-identical when rendered twice");
        let (ids, json) = body.split_once("&messageJson=").unwrap();
        let token = ids.strip_prefix("pushIds=").unwrap();
        let mut decoded = [0u8; 1024];
        assert_eq!(
            form_decode(token, &mut decoded),
            case.recipient.device.token
        );
        let mut decoded = [0u8; 4096];
        let decoded = form_decode(json, &mut decoded);
        let len = render_message_json(&n, raw).unwrap();
        let raw = core::str::from_utf8(&raw[..len]).unwrap();
        assert_eq!(decoded, raw, "signed messageJson differs from the sent one");
        (raw, r.cut)
    }

    #[test]
    fn basic_vector() {
        let elems = [Elem::Text("hi")];
        let c = MEIZU.lasting(&elems, C2C, Some(ext_info(EXT)), None);
        let n = notification(&c).unwrap();
        let mut buf = [0u8; 1024];
        let r = render(&n, &mut buf).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..r.len]).unwrap(),
            "pushIds=mz-token-1&messageJson=%7B%22noticeBarInfo%22%3A%7B%22title%22%3A%22Ann%22%2C%22content%22%3A%22Ann%3Ahi%22%7D%2C%22clickTypeInfo%22%3A%7B%22clickType%22%3A0%2C%22parameters%22%3A%7B%22ext%22%3A%22%7B%5C%22entity%5C%22%3A%7B%5C%22sender%5C%22%3A%5C%22ann%5C%22%2C%5C%22chatType%5C%22%3A1%7D%7D%22%7D%7D%2C%22pushTimeInfo%22%3A%7B%22offLine%22%3A1%7D%7D"
        );
        let mut raw = [0u8; 1024];
        let (json, cut) = render_both(&c, &mut raw);
        assert_eq!(
            json,
            r#"{"noticeBarInfo":{"title":"Ann","content":"Ann:hi"},"clickTypeInfo":{"clickType":0,"parameters":{"ext":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"}},"pushTimeInfo":{"offLine":1}}"#
        );
        assert_eq!(cut, Cut::default());
    }

    #[test]
    fn group_message() {
        let elems = [Elem::Text("lunch at 12 & 1?"), Elem::Image];
        let group = Conversation::Group(Group {
            id: "g1",
            name: "Team",
            kind: GroupType::Work,
        });
        let info = PushInfo {
            android: AndroidInfo {
                meizu_notice_msg_type: Some(1),
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let c = MEIZU.lasting(&elems, group, Some(info), Some(7200));
        let n = notification(&c).unwrap();
        let mut buf = [0u8; 1024];
        let r = render(&n, &mut buf).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..r.len]).unwrap(),
            "pushIds=mz-token-1&messageJson=%7B%22noticeBarInfo%22%3A%7B%22noticeMsgType%22%3A1%2C%22title%22%3A%22Team%22%2C%22content%22%3A%22Ann%28Team%29%3Alunch+at+12+%26+1%3F%5Bimage%5D%22%7D%2C%22clickTypeInfo%22%3A%7B%22clickType%22%3A0%7D%2C%22pushTimeInfo%22%3A%7B%22offLine%22%3A1%2C%22validTime%22%3A2%7D%7D"
        );
        let mut raw = [0u8; 1024];
        let (json, _) = render_both(&c, &mut raw);
        assert_eq!(
            json,
            r#"{"noticeBarInfo":{"noticeMsgType":1,"title":"Team","content":"Ann(Team):lunch at 12 & 1?[image]"},"clickTypeInfo":{"clickType":0},"pushTimeInfo":{"offLine":1,"validTime":2}}"#
        );
    }

    #[test]
    fn cjk_and_emoji_cut_by_utf16_limits() {
        // Title: 33 CJK = 33 units > 32: 31 kept + "…" = 32.
        let title = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三";
        // Body: "Ann:" (4) + 49 emoji (98) = 102 > 100: 4 + 47 × 2 + 1 = 99
        // (a 48th emoji would need 101 units with the ellipsis).
        let emoji = "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀";
        let elems = [Elem::Text(emoji)];
        let info = PushInfo {
            title,
            ..PushInfo::default()
        };
        let c = MEIZU.lasting(&elems, C2C, Some(info), None);
        let mut raw = [0u8; 1024];
        let (json, cut) = render_both(&c, &mut raw);
        assert_eq!(
            json,
            r#"{"noticeBarInfo":{"title":"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一…","content":"Ann:😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀…"},"clickTypeInfo":{"clickType":0},"pushTimeInfo":{"offLine":1}}"#
        );
        assert_eq!(
            cut,
            Cut {
                body: Some(4 + 47 * 4),
                title: Some(31 * 3)
            }
        );
    }

    #[test]
    fn small_buffer_is_an_error_not_a_cut() {
        // No byte limit, and a cut the signed JSON would not share breaks
        // the signature: both entry points refuse rather than cut.
        let elems = [Elem::Text("hello there")];
        let c = MEIZU.lasting(&elems, C2C, None, None);
        let n = notification(&c).unwrap();
        let mut buf = [0u8; 1024];
        let full = render(&n, &mut buf).unwrap().len;
        let raw_len = render_message_json(&n, &mut buf).unwrap();
        assert_eq!(
            render(&n, &mut buf[..full - 1]),
            Err(Error::TooLong(Field::Payload))
        );
        assert_eq!(render(&n, &mut buf[..full]).unwrap().len, full);
        assert_eq!(
            render_message_json(&n, &mut buf[..raw_len - 1]),
            Err(Error::TooLong(Field::Payload))
        );
        assert_eq!(render_message_json(&n, &mut buf[..raw_len]), Ok(raw_len));
    }

    #[test]
    fn unset_knobs_are_left_out() {
        let elems = [Elem::Text("hi")];
        let c = MEIZU.lasting(&elems, C2C, None, None);
        let mut raw = [0u8; 1024];
        let (json, _) = render_both(&c, &mut raw);
        // No noticeMsgType, parameters or validTime.
        assert_eq!(
            json,
            r#"{"noticeBarInfo":{"title":"Ann","content":"Ann:hi"},"clickTypeInfo":{"clickType":0},"pushTimeInfo":{"offLine":1}}"#
        );
    }

    #[test]
    fn valid_time_is_hours_rounded_up_and_clamped() {
        for (seconds, hours) in [
            (1, 1),
            (3600, 1),
            (3601, 2),
            (86_400, 24),
            (259_200, 72),
            (604_800, 72),
            (u32::MAX, 72),
        ] {
            assert_eq!(valid_hours(seconds), hours, "{seconds}");
        }
        let elems = [Elem::Text("hi")];
        let c = MEIZU.lasting(&elems, C2C, None, Some(604_800));
        let mut raw = [0u8; 1024];
        let (json, _) = render_both(&c, &mut raw);
        assert!(json.ends_with(r#""pushTimeInfo":{"offLine":1,"validTime":72}}"#));
    }

    #[test]
    fn errors_name_the_field() {
        let elems = [Elem::Text("hi")];
        let mut buf = [0u8; 1024];
        let info = PushInfo {
            android: AndroidInfo {
                meizu_notice_msg_type: Some(2),
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let c = MEIZU.lasting(&elems, C2C, Some(info), None);
        let n = notification(&c).unwrap();
        assert_eq!(
            render(&n, &mut buf),
            Err(Error::Invalid(Field::NoticeMsgType))
        );
        assert_eq!(
            render_message_json(&n, &mut buf),
            Err(Error::Invalid(Field::NoticeMsgType))
        );
        for token in ["mz-1,mz-2", "mz 1", "mz-ü"] {
            let c = MEIZU.token(token).lasting(&elems, C2C, None, None);
            assert_eq!(
                render(&notification(&c).unwrap(), &mut buf),
                Err(Error::Invalid(Field::Token))
            );
        }
    }
}
