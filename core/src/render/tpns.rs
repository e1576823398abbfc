//! TPNS, Tencent Push Notification Service (vendors.md §9): the JSON body
//! of `POST /v3/push/app`.
//!
//! The body is `{"audience_type":"token","token_list":[<token>],
//! "message_type":"notify","message":{"title","content",
//! "android":{"custom_content"}}}` (§9.2). The `AccessId`, `TimeStamp` and
//! `Sign` headers (§9.1) belong to the adapter, which signs these exact
//! bytes.
//!
//! Decisions where the spec is silent:
//! - The 4 KB limit (§9.3, §10.8: "4 KB `message`") is applied to the whole
//!   body, 4096 bytes, the envelope included: which parts TPNS counts is not
//!   documented, so the strictest reading wins (as for FCM).
//! - TPNS has no per-field character cap of its own (§9.3: "per vendor
//!   channel when relayed", which TPNS applies, not us): title and content
//!   are cut only to fit the byte limit.
//! - `audience_type` is `token` with the device token as the only element
//!   of `token_list` (§9.2: for `token`, only the first is used). The
//!   token's length (≤ 36 chars, §9.2) is TPNS's to check: a longer one is
//!   an invalid token the adapter reports, not a push refused here.
//! - `custom_content` is `ext` as a JSON *string* (§9.2, §10.5), sent only
//!   when `ext` is one JSON object ([`crate::json::is_json_object`]); any
//!   other `ext` is left out with `warnings.ext_not_json_object`, as for
//!   OPPO. Without it (and without a message key, below),
//!   `message.android` is left out.
//! - A title is required (as for the other Android vendors): a push without
//!   any title source is `Invalid(Title)`.
//! - No `expire_time`, `environment` or `message.ios`: the channel carries
//!   Android notifications, and §9.2 gives no confirmed v3 field for the
//!   message's lifetime.
//! - A message with a key ([`crate::recall::MessageKey`]) sends
//!   `message.android.n_id` = its notify id (> 0 replaces the notification
//!   with the same id, §9.2). **Unconfirmed**: §9.2 takes the `android`
//!   field names from v3's predecessor and the SDKs, not from v3's own
//!   list. A replacement (`Notification::replaced` (feature `recall`)) adds `"ring":0` and
//!   `"vibrate":0` there (field names as unconfirmed as `n_id`).

use super::kit::{
    android_texts, notify_id_member, require_token_and_title, token_array, Rendered, Warnings,
};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::json::is_json_object;
use crate::write::{fit, key, Layout, Writer};

/// Limit on the request body, bytes (vendors.md §9.3 "4 KB", §10.8).
pub const PAYLOAD_LIMIT: usize = 4096;
/// `audience_type` for one device token (vendors.md §9.2).
pub const AUDIENCE_TOKEN: &str = "token";
/// `message_type` of a notification (vendors.md §9.2).
pub const MESSAGE_NOTIFY: &str = "notify";

struct Tpns<'n, 'a> {
    n: &'n Notification<'a>,
    /// `custom_content`; empty = left out.
    custom_content: &'a str,
}

impl Layout for Tpns<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        w.begin_object();
        w.str_member(key!("audience_type"), Field::Payload, AUDIENCE_TOKEN);
        token_array(w, key!("token_list"), n.case.recipient.device.token);
        w.str_member(key!("message_type"), Field::Payload, MESSAGE_NOTIFY);
        w.key(key!("message"));
        w.begin_object();
        android_texts(w, n, (key!("title"), None), (key!("content"), None));
        if !self.custom_content.is_empty() || n.message_key().is_some() {
            w.key(key!("android"));
            w.begin_object();
            notify_id_member(w, key!("n_id"), n);
            if n.replacement().is_some() {
                w.u64_member(key!("ring"), 0);
                w.u64_member(key!("vibrate"), 0);
            }
            w.opt_str_member(key!("custom_content"), Field::Ext, self.custom_content);
            w.end_object();
        }
        w.end_object();
        w.end_object();
        Ok(())
    }
}

/// Renders the TPNS `push/app` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    require_token_and_title(n)?;
    let mut warnings = Warnings::default();
    let custom_content = if n.ext().is_empty() {
        ""
    } else if is_json_object(n.ext()) {
        n.ext()
    } else {
        warnings.ext_not_json_object = true;
        ""
    };
    let fitted = fit(&Tpns { n, custom_content }, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered::without_headers(fitted, warnings))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    use crate::model::*;
    use crate::render::kit::Headers;
    use crate::testkit::{leak, render_full, rendered, text};
    use crate::testkit::{On, C2C, EXT};
    use crate::write::Cut;

    const TPNS: On = On {
        channel: Channel::Tpns,
        token: TOKEN,
    };

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123";

    fn with_ext(ext: &'static str) -> Option<PushInfo<'static>> {
        Some(PushInfo {
            ext,
            ..PushInfo::default()
        })
    }

    #[test]
    fn tpns_basic_vector() {
        let c = TPNS.case(&[Elem::Text("hi")], C2C, crate::testkit::ANN, with_ext(EXT));
        let (s, r) = render_full(&c).unwrap();
        assert_eq!(
            s,
            r#"{"audience_type":"token","token_list":["0123456789abcdef0123456789abcdef0123"],"message_type":"notify","message":{"title":"Ann","content":"Ann:hi","android":{"custom_content":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"}}}"#
        );
        assert_eq!(r.cut, Cut::default());
        assert_eq!(r.warnings, Warnings::default());
        assert_eq!(r.headers, Headers::None);
    }

    #[test]
    fn group_message_without_ext() {
        let group = Conversation::Group(Group {
            id: "dev-1",
            name: "Dev",
            kind: GroupType::Public,
        });
        let c = TPNS.case(
            &[Elem::Text("ok"), Elem::Image],
            group,
            crate::testkit::ANN,
            None,
        );
        let (s, _) = render_full(&c).unwrap();
        assert_eq!(
            s,
            r#"{"audience_type":"token","token_list":["0123456789abcdef0123456789abcdef0123"],"message_type":"notify","message":{"title":"Dev","content":"Ann(Dev):ok[image]"}}"#
        );
    }

    #[test]
    fn ext_that_is_not_a_json_object_is_left_out_with_a_warning() {
        for ext in ["hello", "[1,2]", "\"s\""] {
            let c = TPNS.case(&[Elem::Text("hi")], C2C, crate::testkit::ANN, with_ext(ext));
            let (s, r) = render_full(&c).unwrap();
            assert!(!s.contains("android"), "{s}");
            assert!(r.warnings.ext_not_json_object);
        }
    }

    #[test]
    fn cjk_body_and_emoji_title_cut_at_the_byte_limit() {
        let title = leak("😀".repeat(1600)); // 6400 bytes
        let body = leak("中文消息".repeat(400)); // 4800 bytes
        let push = PushInfo {
            title,
            ext: EXT,
            ..PushInfo::default()
        };
        let c = TPNS.case(text(body), C2C, crate::testkit::ANN, Some(push));
        let (s, r) = render_full(&c).unwrap();
        assert!(
            s.len() <= PAYLOAD_LIMIT && s.len() > PAYLOAD_LIMIT - 4,
            "{}",
            s.len()
        );
        let head = r#"{"audience_type":"token","token_list":["0123456789abcdef0123456789abcdef0123"],"message_type":"notify","message":{"title":""#;
        assert!(s.starts_with(head), "{s}");
        assert!(s.ends_with(r#"…","android":{"custom_content":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"}}}"#));
        assert!(r.cut.title.is_some() || r.cut.body.is_some());
        assert!(
            s.contains(r#"…","content":""#) || s.contains(r#"…","android""#),
            "{s}"
        );
    }

    #[test]
    fn refused_without_a_title() {
        let mut untitled = TPNS.case(&[Elem::Text("hi")], C2C, crate::testkit::ANN, None);
        untitled.message.sender.nick = "";
        untitled.message.sender.account = "";
        assert_eq!(
            rendered(&untitled).map(|(r, _)| r),
            Some(Err(Error::Invalid(Field::Title)))
        );
    }
}
