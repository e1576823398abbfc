//! Honor Push (vendors.md §4): the JSON body of `sendMessage`.
//!
//! The body is `{"data","android":{ttl, notification:{…}},"token":[…]}`:
//! Huawei's shape without the `message` wrapper, in `lowerCamelCase`
//! (vendors.md §4.2, render-map). The OAuth bearer token, the app id in the
//! URL and the `timestamp` header (epoch milliseconds, §4.1) belong to the
//! adapter, which owns the clock.
//!
//! Decisions where the spec is silent:
//! - Size: Honor's limit is unconfirmed; vendors.md §4.3 says to assume
//!   Huawei's 4096 bytes, so the `token` member is exempt as on Huawei.
//! - No per-field character cap (none documented, §4.3, §10.3): title and
//!   body are cut only to fit the byte limit.
//! - `android.ttl`: `MsgLifeTime` as a whole-second duration string, clamped
//!   to Huawei's 15 days (Honor's range is undocumented, §4.3); absent
//!   `MsgLifeTime` leaves it out.
//! - `importance`: `HonorImportance` `LOW` or `NORMAL` (§4.2); anything else
//!   is `Error::Invalid(Field::Importance)`. Unset, it is left out rather
//!   than defaulted to `NORMAL`: render-map gives no default for Honor,
//!   `NORMAL` needs approved self-classification rights (§4.2, push-rules
//!   §9.2), and Honor then applies its own default classification (§4.2).
//! - `image` (`AndroidInfo.HonorImage`) goes into `android.notification.image`
//!   (the body shape of §4.2), passed through: Honor's URL rules are not
//!   documented in vendors.md.
//! - `tag` is the conversation key (render-map "Android tag where the
//!   vendor has one"; §4.2 lists `tag`), unless the message has a key
//!   ([`crate::recall::MessageKey`]): then `tag` is its collapse key and
//!   `notifyId` its notify id, both, as on Huawei (§4.2 lists both; a
//!   replacement matches tag and id together).
//! - A replacement (`Notification::replaced` (feature `recall`)) is sent at importance
//!   `LOW` (silent, as on Huawei), whatever `HonorImportance` says (still
//!   checked), with no badge.
//! - No sound and no channel: render-map gives Honor neither, and `Sound`
//!   is honoured by Huawei and FCM only (push-rules §4.2).
//! - `badge` is `{"addNum":1,"badgeClass":<App.BadgeClass>}` only when the
//!   app has a launcher class and the badge counts (`BadgeMode` 0).

use super::kit::{
    android_texts, launcher_badge, require_token_and_title, tag_member, token_array, Rendered,
    Warnings,
};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::write::{fit, key, Layout, Writer};

/// Assumed limit on the request body, the `token` array excluded
/// (vendors.md §4.3: unconfirmed, Huawei's §3.4 value).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Longest `android.ttl`, in seconds: Huawei's 15 days (vendors.md §4.3
/// documents no Honor range).
pub const MAX_TTL_SECONDS: u32 = 1_296_000;
/// `importance` of a replacement: silent (as Huawei's `LOW`, §4.2).
pub const QUIET_IMPORTANCE: &str = "LOW";
/// `clickAction.type`: open the app (vendors.md §4.2).
pub const CLICK_OPEN_APP: u64 = 3;

struct Honor<'n, 'a> {
    n: &'n Notification<'a>,
    importance: Option<&'static str>,
}

impl Layout for Honor<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let android = n.android_info();
        w.begin_object();
        w.opt_str_member(key!("data"), Field::Ext, n.ext());

        w.key(key!("android"));
        w.begin_object();
        if let Some(seconds) = n.message().life_time {
            w.duration_member(key!("ttl"), u64::from(seconds.min(MAX_TTL_SECONDS)));
        }
        w.key(key!("notification"));
        w.begin_object();
        android_texts(w, n, (key!("title"), None), (key!("body"), None));
        w.opt_str_member(key!("image"), Field::Image, android.honor_image);
        if let Some(importance) = self.importance {
            w.str_member(key!("importance"), Field::Importance, importance);
        }
        w.key(key!("clickAction"));
        w.begin_object();
        w.u64_member(key!("type"), CLICK_OPEN_APP);
        w.end_object();
        tag_member(w, key!("tag"), n, Some(key!("notifyId")));
        launcher_badge(w, n, key!("addNum"), key!("badgeClass"));
        w.end_object();
        w.end_object();

        let token = n.case.recipient.device.token;
        w.exempt(|w| token_array(w, key!("token"), token));
        w.end_object();
        Ok(())
    }
}

/// `HonorImportance` as Honor's `importance`; `None` = left out.
fn importance(value: &str) -> Result<Option<&'static str>, Error> {
    match value {
        "" => Ok(None),
        "LOW" => Ok(Some("LOW")),
        "NORMAL" => Ok(Some("NORMAL")),
        _ => Err(Error::Invalid(Field::Importance)),
    }
}

/// Renders the Honor `sendMessage` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    // Honor requires a title (as on Huawei, vendors.md §4.2): refused, not
    // sent empty (found by fuzzing, case_json).
    require_token_and_title(n)?;
    let android = n.android_info();
    let layout = Honor {
        n,
        importance: match (importance(android.honor_importance)?, n.replacement()) {
            (_, Some(_)) => Some(QUIET_IMPORTANCE),
            (importance, None) => importance,
        },
    };
    let fitted = fit(&layout, buf, PAYLOAD_LIMIT)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    use crate::model::*;
    use crate::render::kit::tests::{assert_emoji_title_cut, assert_uncut};
    use crate::testkit::{basic, leak, render_str, rendered, text, On, ANN, C2C};

    const HONOR: On = On {
        channel: Channel::Honor,
        token: "honor-token-1",
    };

    #[test]
    fn honor_basic_vector() {
        let android = AndroidInfo {
            honor_importance: "NORMAL",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(HONOR, android),
            r#"{"data":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}","android":{"notification":{"title":"Ann","body":"Ann:hi","importance":"NORMAL","clickAction":{"type":3},"tag":"c2c:ann"}},"token":["honor-token-1"]}"#,
        );
    }

    #[test]
    fn group_message() {
        let group = Conversation::Group(Group {
            id: "dev-1",
            name: "Dev",
            kind: GroupType::Public,
        });
        let sender = Sender {
            account: "ann",
            nick: "Ann",
            name_card: "",
        };
        let c = HONOR.case(&[Elem::Text("ok"), Elem::Image], group, sender, None);
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"android":{"notification":{"title":"Dev","body":"Ann(Dev):ok[image]","clickAction":{"type":3},"tag":"group:dev-1"}},"token":["honor-token-1"]}"#
        );
    }

    #[test]
    fn every_knob_set() {
        let push = PushInfo {
            ext: "x",
            android: AndroidInfo {
                honor_importance: "LOW",
                honor_image: "https://example.com/a.png",
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = HONOR.case(&[Elem::Text("hi")], C2C, ANN, Some(push));
        c.message.life_time = Some(86_400);
        c.app.badge_class = "com.example.chat.Main";
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"data":"x","android":{"ttl":"86400s","notification":{"title":"Ann","body":"Ann:hi","image":"https://example.com/a.png","importance":"LOW","clickAction":{"type":3},"tag":"c2c:ann","badge":{"addNum":1,"badgeClass":"com.example.chat.Main"}}},"token":["honor-token-1"]}"#
        );
        c.message.life_time = Some(u32::MAX);
        let (s, _) = render_str(&c).unwrap();
        assert!(s.contains(r#""ttl":"1296000s""#), "{s}");
    }

    #[test]
    fn unset_knobs_are_left_out() {
        // No push info: no data, ttl, image, importance; no launcher class,
        // so no badge although the badge counts.
        let c = HONOR.case(&[Elem::Text("hello")], C2C, ANN, None);
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"android":{"notification":{"title":"Ann","body":"Ann:hello","clickAction":{"type":3},"tag":"c2c:ann"}},"token":["honor-token-1"]}"#
        );
    }

    #[test]
    fn cjk_and_emoji_cut_at_the_byte_limit() {
        let head = r#"{"android":{"notification":{"title":""#;
        let tail = r#"…","body":"…","clickAction":{"type":3},"tag":"c2c:ann"}},"token":["honor-token-1"]}"#;
        let token = r#","token":["honor-token-1"]"#;
        assert_emoji_title_cut(HONOR, PAYLOAD_LIMIT, token, head, tail);
    }

    #[test]
    fn long_body_cut_to_the_byte_limit() {
        let body = leak("消息 ".repeat(1500)); // 10500 bytes
        let c = HONOR.case(text(body), C2C, ANN, None);
        let (s, cut) = render_str(&c).unwrap();
        let token = r#","token":["honor-token-1"]"#;
        let head = r#"{"android":{"notification":{"title":"Ann","body":"Ann:"#;
        let tail = r#"…","clickAction":{"type":3},"tag":"c2c:ann"}},"token":["honor-token-1"]}"#;
        assert!(s.starts_with(head) && s.ends_with(tail), "{s}");
        assert!(s.len() - token.len() > PAYLOAD_LIMIT - 3);
        assert!(s.len() - token.len() <= PAYLOAD_LIMIT);
        assert_eq!(cut.title, None);
        assert_eq!(cut.body, Some(4 + s.len() - head.len() - tail.len()));
    }

    #[test]
    fn invalid_importance_is_an_error() {
        for bad in ["HIGH", "normal", " LOW"] {
            let push = PushInfo {
                android: AndroidInfo {
                    honor_importance: bad,
                    ..AndroidInfo::default()
                },
                ..PushInfo::default()
            };
            let c = HONOR.case(&[Elem::Text("hi")], C2C, ANN, Some(push));
            assert_eq!(
                rendered(&c).map(|(r, _)| r),
                Some(Err(Error::Invalid(Field::Importance)))
            );
        }
    }
}
