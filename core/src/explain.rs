//! Why a case was decided as it was: the trace of [`crate::decide()`].
//!
//! `decide` is [`decide_observed`] with the [`Silent`] observer, whose
//! methods are empty and never build a record, so the trace costs the
//! plain decision nothing (the firmware build links no part of it).
//! [`explain`] runs the very same code with a [`Trace`] observer, which
//! keeps, in fixed storage:
//!
//! - each suppression check of push-rules §2.1 in the order it is
//!   evaluated, with the inputs it read and whether it fired, up to the
//!   first that fires;
//! - for a push, the case-format key every merged setting came from
//!   ([`Sources`]).
//!
//! [`cuts`] says what the renderer cut from the body and title;
//! [`replace_fields`] where a keyed message's replace key goes.

// The observer and its records belong to `decide`, which calls them; they
// are re-exported here, where the trace is read.
pub use crate::decide::{Check, Observer, Read, Silent, Sources};

use crate::decide::{decide_observed, Decision, Notification, Reason};
use crate::error::{Error, Field};
use crate::model::{Case, Channel};
use crate::recall::ReplaceKey;
use crate::render::Rendered;
use crate::text::Segments;

/// The checks in the order `decide` evaluates them: [`Reason::ALL`]
/// except that row 14's conversation option (`MutedConversation`, then
/// `NotMentioned`) comes before the global one (`MutedGlobal`).
pub const ORDER: [Reason; 15] = {
    let mut order = Reason::ALL;
    // `Reason::ALL` ends `MutedGlobal, NotMentioned`.
    let [.., global, mentioned] = &mut order;
    core::mem::swap(global, mentioned);
    order
};

/// The row of push-rules §2.1 a check is (`OnlineOnly` is rows 3–4).
pub const fn row(reason: Reason) -> &'static str {
    match reason {
        Reason::SystemMessage => "1",
        Reason::GroupTips => "2",
        Reason::OnlineOnly => "3-4",
        Reason::PushDisabledByMessage => "5",
        Reason::NoPushInfo => "6",
        Reason::GroupTypeNoPush => "7",
        Reason::SelfSent => "8",
        Reason::NoDisplayText => "9",
        Reason::RecipientLoggedOut => "10",
        Reason::NoToken => "11",
        Reason::PushDisabledByUser => "12",
        Reason::Foreground => "13",
        Reason::MutedConversation | Reason::NotMentioned | Reason::MutedGlobal => "14",
    }
}

/// The checks' capacity: one per reason.
pub const MAX_CHECKS: usize = ORDER.len();

/// An observer that keeps everything, in fixed storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trace<'a> {
    checks: [Option<Check<'a>>; MAX_CHECKS],
    /// Set when the case pushes.
    pub sources: Option<Sources>,
}

impl Default for Trace<'_> {
    fn default() -> Self {
        Trace {
            checks: [None; MAX_CHECKS],
            sources: None,
        }
    }
}

impl<'a> Trace<'a> {
    /// The checks evaluated, in order; the last one fired if any did.
    pub fn checks(&self) -> impl Iterator<Item = &Check<'a>> {
        self.checks.iter().flatten()
    }
}

impl<'a> Observer<'a> for Trace<'a> {
    fn check(&mut self, check: impl FnOnce() -> Check<'a>) {
        if let Some(slot) = self.checks.iter_mut().find(|c| c.is_none()) {
            *slot = Some(check());
        }
    }

    fn sources(&mut self, sources: impl FnOnce() -> Sources) {
        self.sources = Some(sources());
    }
}

/// A decision and its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation<'a> {
    pub decision: Decision<'a>,
    pub trace: Trace<'a>,
}

/// Decides the case as [`crate::decide()`] does, by the same code, and
/// keeps the trace.
pub fn explain<'a>(case: &'a Case<'a>) -> Result<Explanation<'a>, Error> {
    let mut trace = Trace::default();
    let decision = decide_observed(case, &mut trace)?;
    Ok(Explanation { decision, trace })
}

/// The part of a message's [`ReplaceKey`] a provider field carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPart {
    /// [`ReplaceKey::collapse`].
    Collapse,
    /// [`ReplaceKey::notify_id`].
    NotifyId,
    /// [`ReplaceKey::meizu_key`].
    MeizuKey,
}

/// One part of a replace key as a provider field carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValue<'k> {
    Text(&'k str),
    Number(u32),
}

impl KeyPart {
    /// This part of `key`.
    pub fn of(self, key: &ReplaceKey) -> KeyValue<'_> {
        match self {
            KeyPart::Collapse => KeyValue::Text(key.collapse()),
            KeyPart::NotifyId => KeyValue::Number(key.notify_id()),
            KeyPart::MeizuKey => KeyValue::Text(key.meizu_key()),
        }
    }
}

/// Where `channel`'s push carries a keyed message's replace key: each
/// field as a dotted path in the payload (a form body decoded, its JSON
/// fields too), or APNs' `apns-collapse-id` header, with the part it
/// carries. On APNs an explicit `ApnsInfo.CollapseId` takes the header's
/// place (the rendered headers say which went out).
pub const fn replace_fields(channel: Channel) -> &'static [(&'static str, KeyPart)] {
    match channel {
        Channel::Apns | Channel::ApnsVoip => &[("apns-collapse-id", KeyPart::Collapse)],
        Channel::Fcm => &[("message.android.notification.tag", KeyPart::Collapse)],
        Channel::Huawei => &[
            ("message.android.notification.tag", KeyPart::Collapse),
            ("message.android.notification.notify_id", KeyPart::NotifyId),
        ],
        Channel::Honor => &[
            ("android.notification.tag", KeyPart::Collapse),
            ("android.notification.notifyId", KeyPart::NotifyId),
        ],
        Channel::Xiaomi => &[("notify_id", KeyPart::NotifyId)],
        Channel::Oppo => &[("message.notification.notify_id", KeyPart::NotifyId)],
        Channel::Vivo => &[("notifyId", KeyPart::NotifyId)],
        Channel::Meizu => &[("messageJson.advanceInfo.notifyKey", KeyPart::MeizuKey)],
        Channel::Tpns => &[("message.android.n_id", KeyPart::NotifyId)],
        // `appMessageId` (the collapse key) is sent too, but it only drops
        // a duplicate; `notifyId` is what replaces.
        Channel::Harmony => &[("payload.notification.notifyId", KeyPart::NotifyId)],
    }
}

/// What a cut removed from one text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removed {
    /// [`Field::Body`] or [`Field::Title`].
    pub field: Field,
    /// Bytes of the text kept before the `…`.
    pub kept_bytes: usize,
    pub removed_bytes: usize,
    /// Unicode scalar values removed.
    pub removed_chars: usize,
}

/// What the renderer cut from the body and the title (in that order),
/// measured in the texts the provider is sent ([`crate::render::body`],
/// [`crate::render::title`]).
pub fn cuts(n: &Notification<'_>, rendered: &Rendered<'_>) -> [Option<Removed>; 2] {
    let body = rendered
        .cut
        .body
        .map(|kept| removed(Field::Body, crate::render::body(n).segments(), kept));
    let title = rendered.cut.title.map(|kept| {
        removed(
            Field::Title,
            Segments::single(crate::render::title(n)),
            kept,
        )
    });
    [body, title]
}

fn removed(field: Field, text: Segments<'_>, kept: usize) -> Removed {
    let (mut offset, mut removed_bytes, mut removed_chars) = (0usize, 0usize, 0usize);
    for piece in text {
        for (i, c) in piece.char_indices() {
            if offset.saturating_add(i) >= kept {
                removed_bytes = removed_bytes.saturating_add(c.len_utf8());
                removed_chars = removed_chars.saturating_add(1);
            }
        }
        offset = offset.saturating_add(piece.len());
    }
    Removed {
        field,
        kept_bytes: kept,
        removed_bytes,
        removed_chars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, Conversation, Elem, PushInfo};
    use crate::testkit::{case, ANN};
    use crate::text::android_sound_name;

    const C2C: Conversation<'static> = Conversation::C2c { to_account: "bob" };

    #[test]
    fn android_sound_loses_its_extension_once() {
        assert_eq!(android_sound_name("shake.mp3"), "shake");
        assert_eq!(android_sound_name("shake"), "shake");
        assert_eq!(android_sound_name("shake.v2.ogg"), "shake");
        assert_eq!(android_sound_name("/raw/ding.ogg"), "/raw/ding");
        assert_eq!(
            android_sound_name("android.resource://com.example.chat/raw/a.wav"),
            "android.resource://com.example.chat/raw/a"
        );
        assert_eq!(android_sound_name(""), "");
        assert_eq!(android_sound_name(".mp3"), "");
    }

    #[test]
    fn a_push_traces_all_fifteen_checks_and_its_sources() {
        let elems = [Elem::Text("hi")];
        let mut push = PushInfo::default();
        push.android.sound = "ring.mp3";
        push.ext = "{}";
        let c = case(Channel::Huawei, "t", ANN, C2C, &elems, Some(push));
        let e = explain(&c).unwrap();
        let Decision::Push(n) = e.decision else {
            panic!("{:?}", e.decision)
        };
        assert_eq!(n.android_sound(), "ring");
        let order: [Reason; 15] =
            core::array::from_fn(|i| e.trace.checks().nth(i).map(|c| c.reason).unwrap());
        assert_eq!(order, ORDER);
        assert!(e.trace.checks().all(|c| !c.fired));
        let s = e.trace.sources.unwrap();
        assert_eq!(s.android_title, Some(Field::Nick));
        assert_eq!(s.ios_title, None);
        assert_eq!(s.ios_sound, None);
        assert_eq!(s.android_sound, Some(Field::AndroidSound));
        assert_eq!(s.badge, Field::Badge);
        assert_eq!(s.ext, Some(Field::Ext));
        assert_eq!(s.expiry, None);
    }

    #[test]
    fn a_suppression_stops_at_the_check_that_fired() {
        let elems = [Elem::Text("hi")];
        let mut c = case(Channel::Apns, "t", ANN, C2C, &elems, None);
        c.recipient.account = "ann";
        let e = explain(&c).unwrap();
        assert_eq!(e.decision, Decision::Suppress(Reason::SelfSent));
        let last = e.trace.checks().last().unwrap();
        assert_eq!(last.reason, Reason::SelfSent);
        assert!(last.fired);
        assert_eq!(
            last.read,
            Read::SelfSent {
                sender: "ann",
                recipient: "ann"
            }
        );
        assert_eq!(e.trace.checks().count(), 7);
        assert!(e.trace.sources.is_none());
    }

    #[test]
    fn removed_counts_bytes_and_chars_after_the_kept_prefix() {
        let r = removed(Field::Body, Segments::pair("ab", "中文x"), 5);
        assert_eq!((r.kept_bytes, r.removed_bytes, r.removed_chars), (5, 4, 2));
        let r = removed(Field::Title, Segments::single("héllo"), 6);
        assert_eq!((r.removed_bytes, r.removed_chars), (0, 0));
    }
}
