//! Huawei Push Kit v1 (vendors.md §3): the JSON body of `messages:send`.
//!
//! The body is `{"message":{"data","android":{urgency, category, ttl,
//! notification:{…}},"token":[…]}}` (render-map). The OAuth bearer token and
//! the app id in the URL belong to the adapter.
//!
//! Decisions where the spec is silent or conflicting:
//! - The 4096-byte limit excludes the `token` member (vendors.md §3.4), so
//!   it is written exempt; everything else, wrapper included, counts.
//! - No per-field character cap: vendors.md §3.6 finds none documented and
//!   §10.3 lists none for Huawei, while push-rules §3.5 quotes 40/80 from a
//!   secondary source; render-map makes vendors.md §10.3 the counting rule,
//!   so title and body are cut only to fit the byte limit.
//! - `android.ttl` is `MsgLifeTime` clamped to 15 days (1,296,000 s), the
//!   maximum Huawei's server docs give (vendors.md §3.3 states no range),
//!   as a whole-second duration string (`"86400s"`); without `MsgLifeTime`
//!   it is left out (Huawei's default, 1 day).
//! - `importance`: `HuaWeiImportance` `LOW` or `NORMAL`, default `NORMAL`
//!   (render-map, push-rules §7); anything else (including `HIGH`, which
//!   needs a special permission, vendors.md §3.4 code 80300011) is
//!   `Error::Invalid(Field::Importance)`. Matching is exact (upper case).
//! - `sound`: Huawei wants a raw-resource path (`"/raw/shake"`, its server
//!   docs and samples), while `AndroidInfo.Sound` is the bare resource name
//!   (`"shake"`, push-rules §4.2; a file extension is dropped for every
//!   provider by [`crate::text::android_sound_name`]), so `/raw/` is prepended unless the value
//!   already starts with `/`. With a sound, `default_sound` is `false`
//!   (required by §3.3); without, `default_sound: true`.
//! - `image` (`AndroidInfo.HuaWeiImage`) must be an `https://` URL (§3.3);
//!   anything else is `Error::Invalid(Field::Image)`.
//! - `category` (`HuaWeiCategory`) is passed through: Huawei owns the list
//!   (§3.5) and rejects what it does not know.
//! - `ExtAsHuaweiIntentParam = 1` with a set `Ext`: `click_action` becomes
//!   `{"type":1,"intent":…}` (§3.3: type 1 needs an intent) with the intent
//!   URI Android's `Intent.toUri(URI_INTENT_SCHEME)` gives for the app's
//!   launcher activity plus one string extra `ext`:
//!   `intent:#Intent;action=android.intent.action.MAIN;category=android.intent.category.LAUNCHER;launchFlags=0x4000000;package=<PackageName>;S.ext=<Ext>;end`.
//!   It opens the same screen as type 3 and needs no intent filter in the
//!   app; `launchFlags` is Huawei's documented example value
//!   (`FLAG_ACTIVITY_CLEAR_TOP`); the `Ext` value is percent-encoded
//!   (RFC 3986 unreserved kept) because `Intent.parseUri` splits on `;` and
//!   decodes with `Uri.decode`. The app reads it with
//!   `getIntent().getStringExtra("ext")` (push-rules §9.2). The package name
//!   must then be a Java package name (`A-Z a-z 0-9 _ .`), else
//!   `Error::Invalid(Field::PackageName)`. `Ext` stays in `message.data`
//!   too. Without the flag, or with an empty `Ext`, `click_action` is
//!   `{"type":3}` (open the app); the console-configured action of Tencent's
//!   `ExtAsHuaweiIntentParam = 0` is not in the model.
//! - `badge` is `{"add_num":1,"class":<App.BadgeClass>}` only when the app
//!   has a launcher class and the badge counts (`BadgeMode` 0).
//! - A replacement (`Notification::replaced` (feature `recall`)) is sent at importance
//!   `LOW` (§3: silent, drawer only), whatever `HuaWeiImportance` says
//!   (still checked), with no badge; `default_sound` stays `true`, as
//!   §3.3 wants a `sound` with `false`.
//! - A message with a key ([`crate::recall::MessageKey`]) carries both of
//!   Huawei's replace fields, `tag` = its collapse key and `notify_id` =
//!   its notify id (§3.3: "same id replaces"; Android finds a shown
//!   notification by tag and id together, so a replacement must match
//!   both, and both come from the one message, so they never disagree).
//!   Without a key, `tag` is the conversation and `notify_id` is left out.

use super::kit::{
    android_texts, launcher_badge, require_token_and_title, tag_member, token_array, Rendered,
    Warnings,
};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::text::Segments;
use crate::write::{fit, key, Layout, Part, Writer};

/// Limit on the request body, the `token` array excluded (vendors.md §3.4, §3.6).
pub const PAYLOAD_LIMIT: usize = 4096;
/// Longest `android.ttl`, in seconds: 15 days (Huawei server docs; vendors.md
/// §3.3 gives the format only).
pub const MAX_TTL_SECONDS: u32 = 1_296_000;
/// `android.urgency` (vendors.md §3.3).
pub const URGENCY: &str = "HIGH";
/// `importance` when `HuaWeiImportance` is unset (push-rules §7, render-map).
pub const DEFAULT_IMPORTANCE: &str = "NORMAL";
/// `importance` of a replacement: silent, drawer only (vendors.md §3, H6).
pub const QUIET_IMPORTANCE: &str = "LOW";
/// `click_action.type`: open the app (vendors.md §3.3).
pub const CLICK_OPEN_APP: u64 = 3;
/// `click_action.type`: custom intent (vendors.md §3.3).
pub const CLICK_INTENT: u64 = 1;
/// Prefix Huawei's `sound` path takes for a raw resource.
pub const RAW_SOUND_PREFIX: &str = "/raw/";
/// The intent URI up to the package name (see the module docs).
pub const INTENT_HEAD: &str = "intent:#Intent;action=android.intent.action.MAIN;\
category=android.intent.category.LAUNCHER;launchFlags=0x4000000;package=";
/// Between the package name and the percent-encoded `Ext`.
pub const INTENT_EXT: &str = ";S.ext=";
/// The intent URI's end.
pub const INTENT_END: &str = ";end";

struct Huawei<'n, 'a> {
    n: &'n Notification<'a>,
    importance: &'static str,
    intent: bool,
}

impl Layout for Huawei<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        let android = n.android_info();
        w.begin_object();
        w.key(key!("message"));
        w.begin_object();
        w.opt_str_member(key!("data"), Field::Ext, n.ext());

        w.key(key!("android"));
        w.begin_object();
        w.str_member(key!("urgency"), Field::Payload, URGENCY);
        w.opt_str_member(key!("category"), Field::Category, android.huawei_category);
        if let Some(seconds) = n.message().life_time {
            w.duration_member(key!("ttl"), u64::from(seconds.min(MAX_TTL_SECONDS)));
        }

        w.key(key!("notification"));
        w.begin_object();
        android_texts(w, n, (key!("title"), None), (key!("body"), None));

        w.key(key!("click_action"));
        w.begin_object();
        if self.intent {
            w.u64_member(key!("type"), CLICK_INTENT);
            w.parts_member(
                key!("intent"),
                Field::Ext,
                &[
                    Part::Plain(INTENT_HEAD),
                    Part::Plain(n.case.app.package_name),
                    Part::Plain(INTENT_EXT),
                    Part::Uri(n.ext()),
                    Part::Plain(INTENT_END),
                ],
            );
        } else {
            w.u64_member(key!("type"), CLICK_OPEN_APP);
        }
        w.end_object();

        w.str_member(key!("importance"), Field::Importance, self.importance);
        w.opt_str_member(
            key!("channel_id"),
            Field::ChannelId,
            android.huawei_channel_id,
        );
        if n.android_sound().is_empty() {
            w.bool_member(key!("default_sound"), true);
        } else {
            let prefix = if n.android_sound().starts_with('/') {
                ""
            } else {
                RAW_SOUND_PREFIX
            };
            let sound = Segments::pair(prefix, n.android_sound());
            w.segments_member(key!("sound"), Field::Sound, sound);
            w.bool_member(key!("default_sound"), false);
        }
        w.opt_str_member(key!("image"), Field::Image, android.huawei_image);
        tag_member(w, key!("tag"), n, Some(key!("notify_id")));
        launcher_badge(w, n, key!("add_num"), key!("class"));
        w.end_object();
        w.end_object();

        let token = n.case.recipient.device.token;
        w.exempt(|w| token_array(w, key!("token"), token));
        w.end_object();
        w.end_object();
        Ok(())
    }
}

/// `HuaWeiImportance` as Huawei's `importance`.
fn importance(value: &str) -> Result<&'static str, Error> {
    match value {
        "" => Ok(DEFAULT_IMPORTANCE),
        "LOW" => Ok("LOW"),
        "NORMAL" => Ok("NORMAL"),
        _ => Err(Error::Invalid(Field::Importance)),
    }
}

/// Whether `url` starts with `https://` (scheme case-insensitive).
fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Whether `name` can stand in an intent URI's `package=` unescaped.
fn is_package_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Renders the Huawei v1 `messages:send` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    // Huawei requires a title (vendors.md §3.3): refused, not sent empty
    // (found by fuzzing, case_json).
    require_token_and_title(n)?;
    let android = n.android_info();
    let importance = match (importance(android.huawei_importance)?, n.replacement()) {
        (_, Some(_)) => QUIET_IMPORTANCE,
        (importance, None) => importance,
    };
    if !android.huawei_image.is_empty() && !is_https(android.huawei_image) {
        return Err(Error::Invalid(Field::Image));
    }
    let intent = android.ext_as_huawei_intent_param && !n.ext().is_empty();
    if intent && !is_package_name(n.case.app.package_name) {
        return Err(Error::Invalid(Field::PackageName));
    }
    let layout = Huawei {
        n,
        importance,
        intent,
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
    use crate::testkit::{basic, leak, render_str, rendered, text, On, ANN, C2C, EXT};
    use crate::write::Cut;

    const HUAWEI: On = On {
        channel: Channel::Huawei,
        token: "hw-token-1",
    };

    #[test]
    fn huawei_basic_vector() {
        let android = AndroidInfo {
            huawei_category: "IM",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(HUAWEI, android),
            r#"{"message":{"data":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}","android":{"urgency":"HIGH","category":"IM","notification":{"title":"Ann","body":"Ann:hi","click_action":{"type":3},"importance":"NORMAL","default_sound":true,"tag":"c2c:ann"}},"token":["hw-token-1"]}}"#,
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
        let mut c = HUAWEI.case(&[Elem::Text("ok")], group, sender, None);
        c.app.badge_class = "com.example.chat.MainActivity";
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"android":{"urgency":"HIGH","notification":{"title":"Dev","body":"A.(Dev):ok","click_action":{"type":3},"importance":"NORMAL","default_sound":true,"tag":"group:dev-1","badge":{"add_num":1,"class":"com.example.chat.MainActivity"}}},"token":["hw-token-1"]}}"#
        );
    }

    #[test]
    fn every_knob_set() {
        let push = PushInfo {
            ext: r#"{"a":"b c;d"}"#,
            android: AndroidInfo {
                sound: "shake",
                huawei_channel_id: "im_channel",
                huawei_importance: "LOW",
                ext_as_huawei_intent_param: true,
                huawei_category: "IM",
                huawei_image: "https://example.com/a.png",
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = HUAWEI.case(&[Elem::Sound], C2C, ANN, Some(push));
        c.message.life_time = Some(600);
        c.app.badge_class = "com.example.chat.Main";
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"data":"{\"a\":\"b c;d\"}","android":{"urgency":"HIGH","category":"IM","ttl":"600s","notification":{"title":"Ann","body":"Ann:[audio]","click_action":{"type":1,"intent":"intent:#Intent;action=android.intent.action.MAIN;category=android.intent.category.LAUNCHER;launchFlags=0x4000000;package=com.example.chat;S.ext=%7B%22a%22%3A%22b%20c%3Bd%22%7D;end"},"importance":"LOW","channel_id":"im_channel","sound":"/raw/shake","default_sound":false,"image":"https://example.com/a.png","tag":"c2c:ann","badge":{"add_num":1,"class":"com.example.chat.Main"}}},"token":["hw-token-1"]}}"#
        );
        // Fifteen days at most; a sound given as a path is kept.
        c.message.life_time = Some(30 * 86_400);
        if let Some(p) = c.message.push_info.as_mut() {
            p.android.sound = "/raw/ding";
        }
        let (s, _) = render_str(&c).unwrap();
        assert!(s.contains(r#""ttl":"1296000s""#), "{s}");
        assert!(s.contains(r#""sound":"/raw/ding","#), "{s}");
    }

    #[test]
    fn unset_knobs_are_left_out() {
        // Intent flag without an Ext, badge not counted: open-app click, no
        // data, no badge even with a launcher class; importance defaults.
        let push = PushInfo {
            android: AndroidInfo {
                ext_as_huawei_intent_param: true,
                ..AndroidInfo::default()
            },
            apns: ApnsInfo {
                badge_not_counted: true,
                ..ApnsInfo::default()
            },
            ..PushInfo::default()
        };
        let mut c = HUAWEI.case(&[Elem::Text("hello")], C2C, ANN, Some(push));
        c.app.badge_class = "com.example.chat.Main";
        let (s, _) = render_str(&c).unwrap();
        assert_eq!(
            s,
            r#"{"message":{"android":{"urgency":"HIGH","notification":{"title":"Ann","body":"Ann:hello","click_action":{"type":3},"importance":"NORMAL","default_sound":true,"tag":"c2c:ann"}},"token":["hw-token-1"]}}"#
        );
    }

    #[test]
    fn cjk_and_emoji_cut_at_the_byte_limit() {
        let head = r#"{"message":{"android":{"urgency":"HIGH","notification":{"title":""#;
        let tail = r#"…","body":"…","click_action":{"type":3},"importance":"NORMAL","default_sound":true,"tag":"c2c:ann"}},"token":["hw-token-1"]}}"#;
        let token = r#","token":["hw-token-1"]"#;
        assert_emoji_title_cut(HUAWEI, PAYLOAD_LIMIT, token, head, tail);
    }

    #[test]
    fn tokens_do_not_count_against_the_limit() {
        // A 3000-byte token and a body that fits only without it: nothing
        // is cut, and the payload is longer than 4096 bytes.
        let token = leak("t".repeat(3000));
        let body = leak("x".repeat(3800));
        let mut c = HUAWEI.case(text(body), C2C, ANN, None);
        c.recipient.device.token = token;
        let (s, cut) = render_str(&c).unwrap();
        assert!(s.len() > PAYLOAD_LIMIT + 2000, "{}", s.len());
        assert_eq!(cut, Cut::default());
        // A body over the limit on its own is cut to exactly 4096 + token.
        let body = leak("x".repeat(5000));
        let mut c = HUAWEI.case(text(body), C2C, ANN, None);
        c.recipient.device.token = token;
        let (s, cut) = render_str(&c).unwrap();
        let token_member = 3000 + r#","token":[""]"#.len();
        assert_eq!(s.len(), PAYLOAD_LIMIT + token_member);
        assert!(cut.body.is_some() && cut.title.is_none());
    }

    #[test]
    fn invalid_knobs_are_errors() {
        let with = |android: AndroidInfo<'static>| PushInfo {
            ext: EXT,
            android,
            ..PushInfo::default()
        };
        let high = with(AndroidInfo {
            huawei_importance: "HIGH",
            ..AndroidInfo::default()
        });
        let c = HUAWEI.case(&[Elem::Text("hi")], C2C, ANN, Some(high));
        assert_eq!(
            rendered(&c).map(|(r, _)| r),
            Some(Err(Error::Invalid(Field::Importance)))
        );

        let http = with(AndroidInfo {
            huawei_image: "http://example.com/a.png",
            ..AndroidInfo::default()
        });
        let c = HUAWEI.case(&[Elem::Text("hi")], C2C, ANN, Some(http));
        assert_eq!(
            rendered(&c).map(|(r, _)| r),
            Some(Err(Error::Invalid(Field::Image)))
        );

        let intent = with(AndroidInfo {
            ext_as_huawei_intent_param: true,
            ..AndroidInfo::default()
        });
        let mut c = HUAWEI.case(&[Elem::Text("hi")], C2C, ANN, Some(intent));
        c.app.package_name = "com.example;end";
        assert_eq!(
            rendered(&c).map(|(r, _)| r),
            Some(Err(Error::Invalid(Field::PackageName)))
        );
    }
}
