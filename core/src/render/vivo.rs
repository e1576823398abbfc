//! vivo Push (vendors.md §7): the JSON body of `POST /message/send`.
//!
//! The body is `{"regId","notifyType":4,"title","content","timeToLive"?,
//! "skipType":1,"classification","category"?,"clientCustomMap"?,
//! "requestId","pushMode":0}` (render-map, vendors.md §7.2), in that order.
//! `appId` and the `authToken` header are the adapter's (credentials and
//! deployment configuration, render-map): the core never renders them.
//!
//! Decisions where the spec is silent or conflicting:
//! - Title (40) and content (100) are counted with [`Counter::Weighted`]
//!   (ASCII 1, other BMP chars 2, astral chars such as emoji 4): the
//!   maximum of vivo's documented rules per char (§7.2, §10.3: every char 1,
//!   non-ASCII 2, UTF-16 units, so an emoji's two units weigh 2 each); the
//!   ellipsis of a cut text counts 2. `clientCustomMap` is counted the same way.
//! - vivo documents no byte limit on the whole body (§10.8), so the layout
//!   is fitted to the caller's buffer only (`fit(.., usize::MAX)`).
//! - `timeToLive` is `MsgLifeTime` clamped to 60 … 86 400 s (§7.4: the newer
//!   docs cap it at one day); no `MsgLifeTime` leaves it out (vivo's default).
//! - `classification`: `VIVOClassification` when set (only 0 or 1, anything
//!   else is `Error::Invalid(Field::Classification)`). When it is unset and
//!   `VIVOCategory` is one of vivo's documented categories, the class follows
//!   the category (so `MARKETING` alone does not become a 10097 mismatch);
//!   otherwise 1 (render-map default). A documented category that contradicts
//!   an explicit classification is `Error::Invalid(Field::Category)` (vivo
//!   10097, §7.3). A category that is not `[A-Z0-9_]+` is refused the same
//!   way (vivo wants uppercase, 10096); a well-formed category vivo did not
//!   document (vivo grants special ones on request) is sent as is.
//! - `clientCustomMap` is `{"ext": Ext}` when Ext is set. Its keys and values
//!   together may hold 1024 chars (§7.4), counted weighted like the texts;
//!   more is `Error::TooLong(Field::Ext)`, never cut.
//! - `requestId` (required, ≤ 64 chars, unique per request, §7.2): the model
//!   has no message id, so it is the 128-bit FNV-1a hash ([`request_id`]) of
//!   the sender account, the conversation (`c2c:` followed by `To_Account`,
//!   or `group:` followed by `GroupId`), `Now`, the uncut body and the device
//!   token, as 32 lowercase hex digits. The same message to the same device
//!   always gets the same id (a retried send is deduplicated by vivo); two
//!   identical texts from one sender in one conversation within the same
//!   second to the same device collide, which is the most the model can
//!   distinguish.
//! - A replacement (`Notification::replaced` (feature `recall`)) is sent with
//!   `notifyType` 1 (no ring, no vibration, §7.2).
//! - `notifyId` (after `pushMode`) is the message's notify id when it has
//!   a key ([`crate::recall::MessageKey`]; 1…2³¹−1, vivo's range, §7.2).

use super::kit::{android_texts, notify_id_member, require_token_and_title, Rendered, Warnings};
use crate::decide::Notification;
use crate::error::{Error, Field};
use crate::model::{AndroidInfo, Conversation};
use crate::write::{fit, key, CharLimit, Counter, Layout, Writer};

/// `title`: at most 40 chars (vendors.md §7.2, §7.4).
pub const TITLE_LIMIT: CharLimit = CharLimit {
    counter: Counter::Weighted,
    max: 40,
};
/// `content`: at most 100 chars (vendors.md §7.2, §7.4).
pub const CONTENT_LIMIT: CharLimit = CharLimit {
    counter: Counter::Weighted,
    max: 100,
};
/// `clientCustomMap`: keys and values together, in chars (vendors.md §7.4).
pub const CUSTOM_MAP_LIMIT: usize = 1024;
/// `timeToLive` range in seconds (vendors.md §7.2, §7.4, §10.7).
pub const MIN_TTL: u32 = 60;
pub const MAX_TTL: u32 = 86_400;
/// `notifyType` 4: ring and vibrate (vendors.md §7.2).
pub const NOTIFY_TYPE_RING_VIBRATE: u64 = 4;
/// `notifyType` 1: no ring, no vibration, a replacement's (vendors.md §7.2).
pub const NOTIFY_TYPE_NONE: u64 = 1;
/// `skipType` 1: open the app's home (vendors.md §7.2).
pub const SKIP_TYPE_OPEN_APP: u64 = 1;
/// `pushMode` 0: production (vendors.md §7.2).
pub const PUSH_MODE_PRODUCTION: u64 = 0;
/// `classification` values (vendors.md §7.2) and the render-map default.
pub const CLASSIFICATION_OPERATIONAL: u8 = 0;
pub const CLASSIFICATION_SYSTEM: u8 = 1;
pub const DEFAULT_CLASSIFICATION: u8 = CLASSIFICATION_SYSTEM;
/// vivo's documented system categories (vendors.md §7.2).
pub const SYSTEM_CATEGORIES: [&str; 6] = [
    "IM",
    "ACCOUNT",
    "TODO",
    "DEVICE_REMINDER",
    "ORDER",
    "SUBSCRIPTION",
];
/// vivo's documented operational categories (vendors.md §7.2; `NEWS` from
/// vivo's category table as relayed by Alibaba EMAS).
pub const OPERATIONAL_CATEGORIES: [&str; 4] = ["NEWS", "CONTENT", "MARKETING", "SOCIAL"];
/// `requestId` length: 128 bits as lowercase hex (≤ 64, vendors.md §7.2).
pub const REQUEST_ID_LEN: usize = 32;
/// The key of the ext entry in `clientCustomMap` (render-map).
pub const EXT_KEY: &str = "ext";

/// FNV-1a 128-bit parameters (Fowler/Noll/Vo, IETF draft-eastlake-fnv).
pub const FNV128_OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
pub const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// A running FNV-1a 128 hash.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a128(u128);

impl Default for Fnv1a128 {
    fn default() -> Self {
        Fnv1a128(FNV128_OFFSET_BASIS)
    }
}

impl Fnv1a128 {
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(FNV128_PRIME);
        }
    }

    /// Ends a field with `0xFF`, a byte UTF-8 never contains, so that
    /// `("ab", "c")` and `("a", "bc")` hash differently.
    pub fn end_field(&mut self) {
        self.write(&[0xff]);
    }

    /// The hash value.
    pub fn finish(&self) -> u128 {
        self.0
    }
}

/// The `requestId` of a notification (see the module doc): FNV-1a 128 over
/// sender account, conversation, `Now` (8 bytes little-endian), the body's
/// segments joined, and the device token, each ended by `0xFF`; written as
/// 32 lowercase hex digits.
pub fn request_id(n: &Notification<'_>) -> [u8; REQUEST_ID_LEN] {
    let case = n.case;
    let mut h = Fnv1a128::default();
    h.write(case.message.sender.account.as_bytes());
    h.end_field();
    match case.message.conversation {
        Conversation::C2c { to_account } => {
            h.write(b"c2c:");
            h.write(to_account.as_bytes());
        }
        Conversation::Group(group) => {
            h.write(b"group:");
            h.write(group.id.as_bytes());
        }
    }
    h.end_field();
    h.write(&case.now.to_le_bytes());
    h.end_field();
    for segment in n.body().segments() {
        h.write(segment.as_bytes());
    }
    h.end_field();
    h.write(case.recipient.device.token.as_bytes());
    h.end_field();
    hex128(h.finish())
}

fn hex128(value: u128) -> [u8; REQUEST_ID_LEN] {
    const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; REQUEST_ID_LEN];
    for (i, digit) in out.iter_mut().enumerate() {
        let shift = (REQUEST_ID_LEN - 1 - i) * 4;
        let nibble = ((value >> shift) & 0xf) as usize;
        *digit = HEX_LOWER.get(nibble).copied().unwrap_or(b'0');
    }
    out
}

/// `classification` and `category` as sent (see the module doc).
pub(crate) fn classify<'a>(android: &AndroidInfo<'a>) -> Result<(u8, &'a str), Error> {
    let explicit = match android.vivo_classification {
        None => None,
        Some(c @ (CLASSIFICATION_OPERATIONAL | CLASSIFICATION_SYSTEM)) => Some(c),
        Some(_) => return Err(Error::Invalid(Field::Classification)),
    };
    let category = android.vivo_category;
    if category.is_empty() {
        return Ok((explicit.unwrap_or(DEFAULT_CLASSIFICATION), ""));
    }
    let well_formed = category
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(Error::Invalid(Field::Category));
    }
    let implied = if SYSTEM_CATEGORIES.contains(&category) {
        Some(CLASSIFICATION_SYSTEM)
    } else if OPERATIONAL_CATEGORIES.contains(&category) {
        Some(CLASSIFICATION_OPERATIONAL)
    } else {
        None
    };
    match (explicit, implied) {
        (Some(e), Some(i)) if e != i => Err(Error::Invalid(Field::Category)),
        _ => Ok((
            explicit.or(implied).unwrap_or(DEFAULT_CLASSIFICATION),
            category,
        )),
    }
}

struct Vivo<'n, 'a> {
    n: &'n Notification<'a>,
    classification: u8,
    category: &'a str,
    request_id: &'n str,
}

impl Layout for Vivo<'_, '_> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write(&self, w: &mut Writer<'_, '_>) -> Result<(), Error> {
        let n = self.n;
        w.begin_object();
        w.str_member(key!("regId"), Field::Token, n.case.recipient.device.token);
        let notify_type = match n.replacement() {
            Some(_) => NOTIFY_TYPE_NONE,
            None => NOTIFY_TYPE_RING_VIBRATE,
        };
        w.u64_member(key!("notifyType"), notify_type);
        android_texts(
            w,
            n,
            (key!("title"), Some(TITLE_LIMIT)),
            (key!("content"), Some(CONTENT_LIMIT)),
        );
        if let Some(seconds) = n.message().life_time {
            w.u64_member(
                key!("timeToLive"),
                u64::from(seconds.clamp(MIN_TTL, MAX_TTL)),
            );
        }
        w.u64_member(key!("skipType"), SKIP_TYPE_OPEN_APP);
        w.u64_member(key!("classification"), u64::from(self.classification));
        w.opt_str_member(key!("category"), Field::Category, self.category);
        if !n.ext().is_empty() {
            w.key(key!("clientCustomMap"));
            w.begin_object();
            w.str_member(key!("ext"), Field::Ext, n.ext()); // EXT_KEY
            w.end_object();
        }
        w.str_member(key!("requestId"), Field::RequestId, self.request_id);
        w.u64_member(key!("pushMode"), PUSH_MODE_PRODUCTION);
        notify_id_member(w, key!("notifyId"), n);
        w.end_object();
        Ok(())
    }
}

/// Renders the vivo `/message/send` body into `buf`.
pub fn render<'a>(n: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    // vivo requires a title (§7.2).
    require_token_and_title(n)?;
    let android = n.android_info();
    let (classification, category) = classify(&android)?;
    if !n.ext().is_empty() {
        let chars = Counter::Weighted
            .count(EXT_KEY)
            .saturating_add(Counter::Weighted.count(n.ext()));
        if chars > CUSTOM_MAP_LIMIT {
            return Err(Error::TooLong(Field::Ext));
        }
    }
    let id = request_id(n);
    let request_id = core::str::from_utf8(&id).map_err(|_| Error::Invalid(Field::RequestId))?;
    let layout = Vivo {
        n,
        classification,
        category,
        request_id,
    };
    let fitted = fit(&layout, buf, usize::MAX)?;
    Ok(Rendered::without_headers(fitted, Warnings::default()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::model::*;
    use crate::render::kit::tests::assert_uncut;
    use crate::testkit::{basic, notification, render_str, On, C2C, EXT};
    use crate::write::Cut;

    const VIVO: On = On {
        channel: Channel::Vivo,
        token: "vivo-token-1",
    };

    fn vivo_info(classification: Option<u8>, category: &str) -> PushInfo<'_> {
        PushInfo {
            ext: EXT,
            android: AndroidInfo {
                vivo_classification: classification,
                vivo_category: category,
                ..AndroidInfo::default()
            },
            ..PushInfo::default()
        }
    }

    fn id_of(case: &Case<'_>) -> [u8; REQUEST_ID_LEN] {
        request_id(&notification(case).unwrap())
    }

    #[test]
    fn fnv1a_128_reference_values() {
        // Published FNV-1a 128 test values (draft-eastlake-fnv).
        assert_eq!(Fnv1a128::default().finish(), FNV128_OFFSET_BASIS);
        let mut h = Fnv1a128::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xd228cb696f1a8caf78912b704e4a8964);
        let mut h = Fnv1a128::default();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x343e1662793c64bf6f0d3597ba446f18);
    }

    #[test]
    fn basic_vector() {
        let android = AndroidInfo {
            vivo_classification: Some(1),
            vivo_category: "IM",
            ..AndroidInfo::default()
        };
        assert_uncut(
            &basic(VIVO, android),
            r#"{"regId":"vivo-token-1","notifyType":4,"title":"Ann","content":"Ann:hi","skipType":1,"classification":1,"category":"IM","clientCustomMap":{"ext":"{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}"},"requestId":"14474a8e2ada15f44cf79e2de799a374","pushMode":0}"#,
        );
    }

    #[test]
    fn group_message() {
        let elems = [Elem::Text("lunch?"), Elem::Image];
        let group = Conversation::Group(Group {
            id: "g1",
            name: "Team",
            kind: GroupType::Work,
        });
        let c = VIVO.lasting(&elems, group, None, Some(3600));
        let (out, _) = render_str(&c).unwrap();
        assert_eq!(
            out,
            r#"{"regId":"vivo-token-1","notifyType":4,"title":"Team","content":"Ann(Team):lunch?[image]","timeToLive":3600,"skipType":1,"classification":1,"requestId":"0d64851e3ebf5e2a92976908bc2c5bd1","pushMode":0}"#
        );
    }

    #[test]
    fn cjk_and_emoji_cut_by_weighted_limits() {
        // Title: 21 CJK = 42 weighted > 40: 19 kept + "…" (2) = 40.
        let title = "一二三四五六七八九十一二三四五六七八九十一";
        // Body: "Ann:" (4) + 50 emoji (4 each: two UTF-16 units weighted 2,
        // §10.3) = 204 > 100: 4 + 23 × 4 + 2 = 98, and a 24th would make 102.
        let emoji = "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀";
        let elems = [Elem::Text(emoji)];
        let info = PushInfo {
            title,
            ..PushInfo::default()
        };
        let c = VIVO.lasting(&elems, C2C, Some(info), None);
        let (out, cut) = render_str(&c).unwrap();
        assert_eq!(
            out,
            r#"{"regId":"vivo-token-1","notifyType":4,"title":"一二三四五六七八九十一二三四五六七八九…","content":"Ann:😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀…","skipType":1,"classification":1,"requestId":"134d861a1ea4be69aaef4a4670d8306b","pushMode":0}"#
        );
        assert_eq!(
            cut,
            Cut {
                body: Some(4 + 23 * 4),
                title: Some(19 * 3)
            }
        );
    }

    #[test]
    fn small_buffer_cuts_the_body_to_fit() {
        // vivo has no byte limit; a buffer too small for the whole body
        // still gets the body cut (then the title), never a partial payload.
        let elems = [Elem::Text("abcdefghijklmnopqrstuvwxyz")];
        let c = VIVO.token("t").lasting(&elems, C2C, None, None);
        let (whole, _) = render_str(&c).unwrap();
        let whole_len = whole.len();
        let mut buf = [0u8; 1024];
        let small = &mut buf[..whole_len - 10];
        let n = notification(&c).unwrap();
        let r = render(&n, small).unwrap();
        let out = core::str::from_utf8(&small[..r.len]).unwrap();
        assert!(out.contains(r#""content":"Ann:abcdefghijklm…""#), "{out}");
        assert_eq!(r.len, whole_len - 10);
        assert_eq!(r.cut.body, Some(17));
        // Nothing left to cut: an error naming the largest uncuttable field.
        let mut tiny = [0u8; 40];
        assert_eq!(render(&n, &mut tiny), Err(Error::TooLong(Field::RequestId)));
    }

    #[test]
    fn unset_knobs_are_left_out() {
        let elems = [Elem::Text("hi")];
        let c = VIVO.lasting(&elems, C2C, None, None);
        let (out, _) = render_str(&c).unwrap();
        // No timeToLive, category or clientCustomMap; classification 1.
        assert_eq!(
            out,
            r#"{"regId":"vivo-token-1","notifyType":4,"title":"Ann","content":"Ann:hi","skipType":1,"classification":1,"requestId":"14474a8e2ada15f44cf79e2de799a374","pushMode":0}"#
        );
    }

    #[test]
    fn ttl_is_clamped_to_vivo_range() {
        let elems = [Elem::Text("hi")];
        for (life, ttl) in [(1, 60), (59, 60), (60, 60), (7200, 7200), (604_800, 86_400)] {
            let c = VIVO.token("t").lasting(&elems, C2C, None, Some(life));
            let (out, _) = render_str(&c).unwrap();
            let expected = std::format!(r#""timeToLive":{ttl},"#);
            assert!(out.contains(&expected), "{life}: {out}");
        }
    }

    #[test]
    fn classification_follows_a_documented_category() {
        let elems = [Elem::Text("hi")];
        let c = VIVO
            .token("t")
            .lasting(&elems, C2C, Some(vivo_info(None, "MARKETING")), None);
        let (out, _) = render_str(&c).unwrap();
        assert!(
            out.contains(r#""classification":0,"category":"MARKETING""#),
            "{out}"
        );
        // An undocumented but well-formed category passes through.
        let c = VIVO
            .token("t")
            .lasting(&elems, C2C, Some(vivo_info(Some(0), "SPECIAL_1")), None);
        let (out, _) = render_str(&c).unwrap();
        assert!(
            out.contains(r#""classification":0,"category":"SPECIAL_1""#),
            "{out}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let elems = [Elem::Text("hi")];
        let mut buf = [0u8; 1024];
        let cases = [
            (
                vivo_info(Some(2), ""),
                Error::Invalid(Field::Classification),
            ),
            (vivo_info(Some(0), "IM"), Error::Invalid(Field::Category)),
            (vivo_info(Some(1), "im"), Error::Invalid(Field::Category)),
        ];
        for (info, error) in cases {
            let c = VIVO.token("t").lasting(&elems, C2C, Some(info), None);
            assert_eq!(render(&notification(&c).unwrap(), &mut buf), Err(error));
        }
        // clientCustomMap: "ext" (3) + 1021 = 1024 fits, 1022 does not.
        let long = [b'x'; 1022];
        let long = core::str::from_utf8(&long).unwrap();
        for (ext, ok) in [(&long[..1021], true), (long, false)] {
            let info = PushInfo {
                ext,
                ..PushInfo::default()
            };
            let c = VIVO.token("t").lasting(&elems, C2C, Some(info), None);
            let mut big = [0u8; 2048];
            let result = render(&notification(&c).unwrap(), &mut big);
            assert_eq!(result.is_ok(), ok);
            if !ok {
                assert_eq!(result, Err(Error::TooLong(Field::Ext)));
            }
        }
    }

    #[test]
    fn request_id_is_deterministic_and_distinguishes_inputs() {
        let elems = [Elem::Text("hi")];
        let base = VIVO.token("tok-a").lasting(&elems, C2C, None, None);
        let id = id_of(&base);
        assert_eq!(id, id_of(&base));
        assert!(id
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
        let other_token = VIVO.token("tok-b").lasting(&elems, C2C, None, None);
        assert_ne!(id, id_of(&other_token));
        let mut later = base;
        later.now += 1;
        assert_ne!(id, id_of(&later));
        let other_text = [Elem::Text("hi!")];
        assert_ne!(
            id,
            id_of(&VIVO.token("tok-a").lasting(&other_text, C2C, None, None))
        );
        let group = Conversation::Group(Group {
            id: "bob",
            name: "",
            kind: GroupType::Work,
        });
        assert_ne!(
            id,
            id_of(&VIVO.token("tok-a").lasting(&elems, group, None, None))
        );
        // The title and ext do not identify the message.
        let info = PushInfo {
            ext: EXT,
            ..PushInfo::default()
        };
        assert_eq!(
            id,
            id_of(&VIVO.token("tok-a").lasting(&elems, C2C, Some(info), None))
        );
    }
}
