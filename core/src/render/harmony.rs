//! HarmonyOS NEXT Push Kit, REST v3 "scenario messages" (beyond.md §11):
//! the JSON body of `POST /v3/<projectId>/messages:send` with `push-type: 0`
//! (alert).
//!
//! The body is, in this order:
//! `{"payload":{"notification":{"category","title","body","image"?,
//! "clickAction":{"actionType":0,"data"?:{"ext"}},"notifyId"?,
//! "appMessageId"?,"badge"?:{"addNum":1}}},"target":{"token":[…]},
//! "pushOptions"?:{"ttl"}}`: no `message` wrapper, `lowerCamelCase`
//! (§11.2). The JWT bearer, the project id in the URL and the `push-type`
//! header belong to the client ([`super::Headers::None`]: the header is a
//! constant of the endpoint, not of the message).
//!
//! Decisions where the spec is silent or unconfirmed:
//! - Size: 4096 bytes excluding the token array (§11.3, `80300008`), so the
//!   `token` member is written exempt, as on Huawei. No per-field cap is
//!   documented (§11.2): title and body are cut only to fit.
//! - Tokens: a render carries the one device's token; [`MAX_TOKENS`] is
//!   the most one request may carry, for a client that batches (`80300010`).
//! - `category`: `AndroidInfo.HarmonyCategory`, else `App.HarmonyCategory`,
//!   else [`DEFAULT_CATEGORY`]; a value outside [`CATEGORIES`] is
//!   `Invalid(HarmonyCategory)` or `Invalid(AppHarmonyCategory)`, naming
//!   where it came from. `PLAY_VOICE` is refused: it is for push-type 2
//!   only and this body is push-type 0. What `IM` does without granted
//!   self-classification rights is **unconfirmed** (§11.2: every
//!   notification may then count as marketing, capped per day).
//! - `clickAction`: `actionType` 0 (open the app's home). `Ext` goes in
//!   `data` as `{"ext":"<Ext>"}`, a string whatever it holds: the app reads
//!   it from `Want.parameters.ext` as with Tencent's SDK (push-rules §6),
//!   one place for every `Ext` (JSON object or not). No `Ext`, no `data`.
//!   The full `clickAction` field list is **unconfirmed** (§11.2).
//! - `image` (`HarmonyImage`) must be an `https://` URL (§11.2), like the
//!   other image fields; anything else is `Invalid(HarmonyImage)`.
//! - `notifyId` and `appMessageId` come from the message's key
//!   ([`crate::recall::MessageKey`]): `notifyId` is its 31-bit notify id
//!   (equal ids replace the shown notification; the revoke API names it,
//!   §13.2) and `appMessageId` its collapse id (≤ 64 chars; the device drops
//!   a duplicate within 24 h, so a retried send is shown once). A message
//!   without a key gets neither (Push Kit then treats it as unique). So a
//!   replacement (recall or edit) sent with the same `appMessageId` would
//!   be dropped as that duplicate: it keeps `notifyId` and leaves
//!   `appMessageId` out.
//! - `badge`: `{"addNum":1}` when the badge counts (`BadgeMode` 0, as on
//!   Huawei and Honor) and `IgnoreHarmonyBadge` is not set. HarmonyOS
//!   needs no launcher class. The names `badge`/`addNum` come from
//!   third-party code, **unconfirmed** in Huawei's text (§11.2).
//! - `pushOptions.ttl`: `MsgLifeTime` in seconds, clamped to
//!   [`MAX_TTL_SECONDS`] (15 days, §11.2) as Huawei and Honor clamp theirs;
//!   without `MsgLifeTime`, `pushOptions` is left out (Push Kit's default,
//!   one day). `testMessage` is never sent (false by default).
//! - No sound: no `sound` field is documented (§11.2, **unconfirmed**), so
//!   `AndroidInfo.Sound` is not sent. No `tag`, `style`, `foregroundShow`.

use super::kit::{android_texts, require_token_and_title, token_array, Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::recall::{MessageKey, ReplaceKey};
use crate::write::{fit, key, Layout, Writer};

/// Limit on the request body, the `token` array excluded (beyond.md §11.3,
/// code `80300008`).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Longest `pushOptions.ttl`, in seconds: 15 days (beyond.md §11.2).
pub const MAX_TTL_SECONDS: u32 = 1_296_000;
/// Most tokens in one request's `target.token` (beyond.md §11.2, code
/// `80300010`); a render writes one.
pub const MAX_TOKENS: usize = 1000;
/// `clickAction.actionType`: open the app's home page (beyond.md §11.2).
pub const ACTION_OPEN_APP: u64 = 0;
/// The `push-type` header value of this body: alert (beyond.md §11.1).
pub const PUSH_TYPE_ALERT: u8 = 0;
/// `category` when neither the message nor the app sets one. Its effect
/// without granted self-classification rights is **unconfirmed**
/// (beyond.md §11.2).
pub const DEFAULT_CATEGORY: &str = "IM";
/// The documented categories a push-type 0 notification may carry
/// (beyond.md §11.2; `PLAY_VOICE` is push-type 2 only, so not here).
pub const CATEGORIES: [&str; 13] = [
    "IM",
    "VOIP",
    "MISS_CALL",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "MAIL",
    "MARKETING",
];

struct Harmony<'n, 'a> {
    n: &'n Notification<'a>,
    category: &'a str,
    key: Option<ReplaceKey>,
    badge: bool,
}

impl Layout for Harmony<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        w.begin_object();
        w.key(key!("payload"));
        w.begin_object();
        w.key(key!("notification"));
        w.begin_object();
        w.str_member(key!("category"), Field::HarmonyCategory, self.category);
        android_texts(w, n, (key!("title"), None), (key!("body"), None));
        w.opt_str_member(
            key!("image"),
            Field::HarmonyImage,
            n.android_info().harmony_image,
        );
        w.key(key!("clickAction"));
        w.begin_object();
        w.u64_member(key!("actionType"), ACTION_OPEN_APP);
        if !n.ext().is_empty() {
            w.key(key!("data"));
            w.begin_object();
            w.str_member(key!("ext"), Field::Ext, n.ext());
            w.end_object();
        }
        w.end_object();
        if let Some(replace) = &self.key {
            w.u64_member(key!("notifyId"), u64::from(replace.notify_id()));
            // A replacement reusing the message's id would be dropped by
            // the device as the duplicate of what it shows.
            if n.replacement().is_none() {
                w.str_member(key!("appMessageId"), Field::Payload, replace.collapse());
            }
        }
        if self.badge {
            w.key(key!("badge"));
            w.begin_object();
            w.u64_member(key!("addNum"), 1);
            w.end_object();
        }
        w.end_object();
        w.end_object();

        w.key(key!("target"));
        w.begin_object();
        let token = n.case.recipient.device.token;
        w.exempt(|w| token_array(w, key!("token"), token));
        w.end_object();

        if let Some(seconds) = n.message().life_time {
            w.key(key!("pushOptions"));
            w.begin_object();
            w.u64_member(key!("ttl"), u64::from(seconds.min(MAX_TTL_SECONDS)));
            w.end_object();
        }
        w.end_object();
        Ok(())
    }
}

/// The `category` sent and the key it came from: the message's
/// (`HarmonyCategory`), else the app's (`App.HarmonyCategory`), else
/// [`DEFAULT_CATEGORY`] (`None`); one outside [`CATEGORIES`] is an error
/// naming that key.
pub fn category<'a>(n: &Notification<'a>) -> Result<(&'a str, Option<Field>), Error> {
    let (value, field) = match n.android_info().harmony_category {
        "" => (n.case.app.harmony_category, Field::AppHarmonyCategory),
        message => (message, Field::HarmonyCategory),
    };
    match value {
        "" => Ok((DEFAULT_CATEGORY, None)),
        _ if CATEGORIES.contains(&value) => Ok((value, Some(field))),
        _ => Err(Error::Invalid(field)),
    }
}

/// Whether the push carries `badge: {"addNum": 1}`: the badge counts and
/// `IgnoreHarmonyBadge` is not set.
pub fn adds_badge(n: &Notification<'_>) -> bool {
    n.badge().is_some() && !n.android_info().ignore_harmony_badge
}

/// Whether `url` starts with `https://` (scheme case-insensitive).
fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Renders the HarmonyOS v3 `messages:send` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    // `title` and `body` are required (beyond.md §11.2).
    require_token_and_title(n)?;
    let android = n.android_info();
    let (category, _) = category(n)?;
    if !android.harmony_image.is_empty() && !is_https(android.harmony_image) {
        return Err(Error::Invalid(Field::HarmonyImage));
    }
    let layout = Harmony {
        n,
        category,
        key: MessageKey::of(n.message()).map(|k| k.replace_key()),
        badge: adds_badge(n),
    };
    let fitted = fit(&layout, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    use crate::model::*;
    use crate::render::kit::tests::{assert_emoji_title_cut, assert_token_exempt, assert_uncut};
    use crate::testkit::{basic, leak, render_str, rendered, On, ANN, C2C};

    const HARMONY: On = On {
        channel: Channel::Harmony,
        token: "hm-token-1",
    };

    /// `ann`'s "hi" to `bob` with HarmonyOS knobs.
    fn hi(android: AndroidInfo<'static>) -> Case<'static> {
        let push = PushInfo {
            android,
            ..PushInfo::default()
        };
        HARMONY.case(&[Elem::Text("hi")], C2C, ANN, Some(push))
    }

    fn refused(c: &Case<'_>) -> Option<Result<(), Error>> {
        rendered(c).map(|(r, _)| r.map(|_| ()))
    }

    #[test]
    fn harmony_basic_vector() {
        assert_uncut(
            &basic(HARMONY, AndroidInfo::default()),
            r#"{"payload":{"notification":{"category":"IM","title":"Ann","body":"Ann:hi","clickAction":{"actionType":0,"data":{"ext":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"}},"badge":{"addNum":1}}},"target":{"token":["hm-token-1"]}}"#,
        );
    }

    #[test]
    fn group_message() {
        let group = Conversation::Group(Group {
            id: "dev-1",
            name: "Dev",
            kind: GroupType::Work,
        });
        let sender = Sender {
            account: "ann",
            nick: "Ann",
            name_card: "A.",
        };
        let mut c = HARMONY.case(&[Elem::Text("ok"), Elem::Image], group, sender, None);
        c.message.msg_seq = Some(42);
        let (s, _) = render_str(&c).unwrap();
        let key = MessageKey::of(&c.message).unwrap().replace_key();
        assert_eq!(key.collapse(), "group:dev-1:42");
        let expected = std::format!(
            r#"{{"payload":{{"notification":{{"category":"IM","title":"Dev","body":"A.(Dev):ok[image]","clickAction":{{"actionType":0}},"notifyId":{},"appMessageId":"group:dev-1:42","badge":{{"addNum":1}}}}}},"target":{{"token":["hm-token-1"]}}}}"#,
            key.notify_id()
        );
        assert_eq!(s, expected);
    }

    #[test]
    fn every_knob_set() {
        let push = PushInfo {
            ext: "not json",
            android: AndroidInfo {
                sound: "shake",
                harmony_category: "WORK",
                harmony_image: "HTTPS://example.com/a.png",
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = HARMONY.lasting(&[Elem::Text("hi")], C2C, Some(push), Some(600));
        c.message.msg_key = "1_2_3";
        c.app.harmony_category = "MAIL";
        let (s, _) = render_str(&c).unwrap();
        let id = MessageKey::of(&c.message)
            .unwrap()
            .replace_key()
            .notify_id();
        assert!((1..=0x7fff_ffff).contains(&id));
        // The message's category wins over the app's; no sound is sent.
        let expected = std::format!(
            r#"{{"payload":{{"notification":{{"category":"WORK","title":"Ann","body":"Ann:hi","image":"HTTPS://example.com/a.png","clickAction":{{"actionType":0,"data":{{"ext":"not json"}}}},"notifyId":{id},"appMessageId":"c2c:1_2_3","badge":{{"addNum":1}}}}}},"target":{{"token":["hm-token-1"]}},"pushOptions":{{"ttl":600}}}}"#
        );
        assert_eq!(s, expected);
    }

    #[test]
    fn ttl_is_clamped_to_fifteen_days() {
        for (life_time, ttl) in [
            (MAX_TTL_SECONDS, MAX_TTL_SECONDS),
            (u32::MAX, MAX_TTL_SECONDS),
        ] {
            let c = HARMONY.lasting(&[Elem::Text("hi")], C2C, None, Some(life_time));
            let (s, _) = render_str(&c).unwrap();
            let member = std::format!(r#","pushOptions":{{"ttl":{ttl}}}}}"#);
            assert!(s.ends_with(&member), "{s}");
        }
    }

    #[test]
    fn the_app_category_is_the_default_and_both_are_checked() {
        let mut c = hi(AndroidInfo::default());
        c.app.harmony_category = "SUBSCRIPTION";
        let (s, _) = render_str(&c).unwrap();
        assert!(s.contains(r#""category":"SUBSCRIPTION""#), "{s}");
        for bad in ["im", "PLAY_VOICE", "NEWS", " IM"] {
            c.app.harmony_category = bad;
            assert_eq!(
                refused(&c),
                Some(Err(Error::Invalid(Field::AppHarmonyCategory)))
            );
            let mut m = hi(AndroidInfo {
                harmony_category: bad,
                ..AndroidInfo::default()
            });
            m.app.harmony_category = "IM";
            assert_eq!(
                refused(&m),
                Some(Err(Error::Invalid(Field::HarmonyCategory)))
            );
        }
        for good in CATEGORIES {
            c.app.harmony_category = good;
            assert_eq!(refused(&c), Some(Ok(())), "{good}");
        }
    }

    #[test]
    fn badge_counts_unless_ignored_or_not_counted() {
        let plain = hi(AndroidInfo::default());
        let ignored = hi(AndroidInfo {
            ignore_harmony_badge: true,
            ..AndroidInfo::default()
        });
        let mut not_counted = hi(AndroidInfo::default());
        if let Some(p) = not_counted.message.push_info.as_mut() {
            p.apns.badge_not_counted = true;
        }
        for (c, badge) in [(plain, true), (ignored, false), (not_counted, false)] {
            let (s, _) = render_str(&c).unwrap();
            assert_eq!(s.contains(r#""badge":{"addNum":1}"#), badge, "{s}");
        }
    }

    #[test]
    fn keys_are_there_only_with_a_message_key() {
        let mut c = hi(AndroidInfo::default());
        let (s, _) = render_str(&c).unwrap();
        assert!(
            !s.contains("notifyId") && !s.contains("appMessageId"),
            "{s}"
        );
        // A key too long for a collapse id is hashed to 18 chars (≤ 64).
        c.message.msg_key = leak("k".repeat(100));
        let (s, _) = render_str(&c).unwrap();
        let key = MessageKey::of(&c.message).unwrap().replace_key();
        assert_eq!(key.collapse().len(), 18);
        let members = std::format!(
            r#""notifyId":{},"appMessageId":"{}""#,
            key.notify_id(),
            key.collapse()
        );
        assert!(s.contains(&members), "{s}");
    }

    /// A replacement keeps `notifyId` and drops `appMessageId`, which the
    /// device would take for a duplicate of the push it replaces.
    #[cfg(feature = "recall")]
    #[test]
    fn a_replacement_keeps_the_notify_id_without_the_message_id() {
        use crate::recall::Replacement;
        let mut c = hi(AndroidInfo::default());
        c.message.msg_key = "1_2_3";
        let key = MessageKey::of(&c.message).unwrap().replace_key();
        let n = crate::decide::decide(&c).unwrap();
        let crate::decide::Decision::Push(n) = n else {
            panic!("not pushed")
        };
        let mut buf = [0u8; 4096];
        let r = render(&n.replaced(Replacement::Edited { text: "fixed" }), &mut buf).unwrap();
        let s = core::str::from_utf8(&buf[..r.len]).unwrap();
        assert!(
            s.contains(&std::format!(r#""notifyId":{}"#, key.notify_id())),
            "{s}"
        );
        assert!(!s.contains("appMessageId") && !s.contains("badge"), "{s}");
        assert!(s.contains(r#""body":"fixed""#), "{s}");
    }

    #[test]
    fn invalid_knobs_are_errors() {
        for image in ["http://example.com/a.png", "example.com/a.png", "https:/"] {
            let c = hi(AndroidInfo {
                harmony_image: image,
                ..AndroidInfo::default()
            });
            assert_eq!(refused(&c), Some(Err(Error::Invalid(Field::HarmonyImage))));
        }
        let c = HARMONY.token("").case(&[Elem::Text("hi")], C2C, ANN, None);
        // An empty token is no registration: decide suppresses it.
        assert_eq!(refused(&c), None);
    }

    #[test]
    fn cjk_and_emoji_cut_at_the_byte_limit() {
        let head = r#"{"payload":{"notification":{"category":"IM","title":""#;
        let tail = r#"…","body":"…","clickAction":{"actionType":0},"badge":{"addNum":1}}},"target":{"token":["hm-token-1"]}}"#;
        let token = r#""token":["hm-token-1"]"#;
        assert_emoji_title_cut(HARMONY, PAYLOAD_LIMIT, token, head, tail);
    }

    #[test]
    fn tokens_do_not_count_against_the_limit() {
        // `"token":[…]` is the first member of `target`: no comma.
        assert_token_exempt(HARMONY, PAYLOAD_LIMIT, r#""token":[""]"#.len());
    }

    #[test]
    fn an_ext_too_large_to_fit_is_refused_naming_it() {
        let push = PushInfo {
            ext: leak("e".repeat(5000)),
            ..PushInfo::default()
        };
        let c = HARMONY.case(&[Elem::Text("hi")], C2C, ANN, Some(push));
        assert_eq!(refused(&c), Some(Err(Error::TooLong(Field::Ext))));
    }
}
