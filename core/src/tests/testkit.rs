//! Fixtures shared by the renderers' tests (compiled for tests only): the
//! case, and rendering it with the checks every golden test makes.
// Test-only, here as well as where lib.rs declares it. It reports what went
// wrong as values; the tests' own unwraps turn them into failures.
#![cfg(test)]

extern crate std;

use std::borrow::ToOwned;

use crate::decide::{decide, Decision, Notification};
use crate::error::Error;
use crate::model::{
    AndroidInfo, App, Case, Channel, Conversation, Device, DeviceState, Elem, Message, PushInfo,
    Recipient, Sender,
};
use crate::render::{render, Headers, Rendered, Warnings};
use crate::write::Cut;

/// The instant every fixture case happens at.
pub(crate) const NOW: i64 = 1_795_236_000;

/// The sender of the shared vectors: account `ann`, nickname `Ann`.
pub(crate) const ANN: Sender<'static> = Sender {
    account: "ann",
    nick: "Ann",
    name_card: "",
};

/// The shared vectors' one-to-one conversation: to `bob`.
pub(crate) const C2C: Conversation<'static> = Conversation::C2c { to_account: "bob" };

/// The shared vectors' `Ext`.
pub(crate) const EXT: &str = r#"{"entity":{"sender":"ann","chatType":1}}"#;

/// A provider's fixture device: its channel and the token its cases carry,
/// so a provider's tests name the device once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct On {
    pub channel: Channel,
    pub token: &'static str,
}

impl On {
    /// [`case`] on this device.
    pub(crate) fn case<'a>(
        self,
        elems: &'a [Elem<'a>],
        conversation: Conversation<'a>,
        sender: Sender<'a>,
        push_info: Option<PushInfo<'a>>,
    ) -> Case<'a> {
        case(
            self.channel,
            self.token,
            sender,
            conversation,
            elems,
            push_info,
        )
    }

    /// [`On::case`] from [`ANN`], the message lasting `life_time` seconds.
    pub(crate) fn lasting<'a>(
        self,
        elems: &'a [Elem<'a>],
        conversation: Conversation<'a>,
        push_info: Option<PushInfo<'a>>,
        life_time: Option<u32>,
    ) -> Case<'a> {
        let mut case = self.case(elems, conversation, ANN, push_info);
        case.message.life_time = life_time;
        case
    }

    /// This device with another token.
    pub(crate) fn token(self, token: &'static str) -> On {
        On { token, ..self }
    }
}

/// A REST message from `sender` to `bob`'s backgrounded device on `channel`,
/// badge 4, every recipient setting at its default.
pub(crate) fn case<'a>(
    channel: Channel,
    token: &'a str,
    sender: Sender<'a>,
    conversation: Conversation<'a>,
    elems: &'a [Elem<'a>],
    push_info: Option<PushInfo<'a>>,
) -> Case<'a> {
    Case {
        message: Message {
            push_info,
            ..Message::new(sender, conversation, elems)
        },
        recipient: Recipient {
            badge: 4,
            ..Recipient::new(
                "bob",
                Device {
                    channel,
                    token,
                    state: DeviceState::Background,
                },
            )
        },
        app: App {
            bundle_id: "com.example.chat",
            package_name: "com.example.chat",
            badge_class: "",
        },
        now: NOW,
    }
}

/// A string that lives for the rest of the test run (long generated texts
/// borrowed by a `Case<'static>`).
pub(crate) fn leak(s: std::string::String) -> &'static str {
    std::boxed::Box::leak(s.into_boxed_str())
}

/// One text elem, leaked like [`leak`].
pub(crate) fn text(s: &'static str) -> &'static [Elem<'static>] {
    std::boxed::Box::leak(std::vec![Elem::Text(s)].into_boxed_slice())
}

/// The notification `case` decides to push; a suppressed case fails the
/// test.
pub(crate) fn notification<'a>(case: &'a Case<'a>) -> Notification<'a> {
    match decide(case) {
        Ok(Decision::Push(n)) => n,
        other => panic!("not pushed: {other:?}"),
    }
}

/// Decides `case` and renders it into a buffer larger than any provider's
/// limit, prefilled so stray writes would show; `None` when the case is not
/// pushed (a broken fixture: every caller's assertion then fails).
pub(crate) fn rendered<'c>(
    case: &'c Case<'c>,
) -> Option<(Result<Rendered<'c>, Error>, [u8; 16384])> {
    let Ok(Decision::Push(n)) = decide(case) else {
        return None;
    };
    let mut buf = [0xa5u8; 16384];
    let r = render(&n, &mut buf);
    Some((r, buf))
}

/// Why [`render_full`] has no payload to give: each is a test failure,
/// which the test's own `unwrap` reports.
#[derive(Debug)]
pub(crate) enum Unrendered {
    /// `decide` did not push the fixture case.
    NotPushed,
    /// `render` refused it (shown by `Debug` in the test's `unwrap`).
    #[allow(dead_code)]
    Render(Error),
    /// The payload is not UTF-8 (or its length is past the buffer).
    NotText,
    /// A second run gave other bytes.
    NotRepeatable,
}

/// The rendered payload as a string with its result, checked to be
/// byte-identical on a second run.
pub(crate) fn render_full<'c>(
    case: &'c Case<'c>,
) -> Result<(std::string::String, Rendered<'c>), Unrendered> {
    let payload = |case: &'c Case<'c>| {
        let (r, buf) = rendered(case).ok_or(Unrendered::NotPushed)?;
        let r = r.map_err(Unrendered::Render)?;
        let bytes = buf.get(..r.len).ok_or(Unrendered::NotText)?;
        let s = core::str::from_utf8(bytes).map_err(|_| Unrendered::NotText)?;
        Ok((s.to_owned(), r))
    };
    let (s, r) = payload(case)?;
    if payload(case)?.0 != s {
        return Err(Unrendered::NotRepeatable);
    }
    Ok((s, r))
}

/// [`render_full`]'s payload and cut.
pub(crate) fn render_str(case: &Case<'_>) -> Result<(std::string::String, Cut), Unrendered> {
    let (s, r) = render_full(case)?;
    Ok((s, r.cut))
}

/// Decides `case` and renders it into `buf`: the result and the payload as
/// text. Unlike the helpers above it fails the test itself (a case that is
/// not pushed, a payload that is not UTF-8), so that a test can compare its
/// result with the renderer's error directly.
pub(crate) fn render_into<'a, 'b>(
    case: &'a Case<'a>,
    buf: &'b mut [u8],
) -> Result<(Rendered<'a>, &'b str), Error> {
    let Ok(Decision::Push(n)) = decide(case) else {
        panic!("not pushed")
    };
    let r = render(&n, buf)?;
    Ok((
        r,
        core::str::from_utf8(&buf[..r.len]).expect("UTF-8 payload"),
    ))
}

/// The shared vectors' basic case on `on`: `ann`'s "hi" to `bob` with
/// [`EXT`] and the provider's Android knobs.
pub(crate) fn basic(on: On, android: AndroidInfo<'static>) -> Case<'static> {
    let push = PushInfo {
        ext: EXT,
        android,
        ..PushInfo::default()
    };
    on.case(&[Elem::Text("hi")], C2C, ANN, Some(push))
}

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
        Err(Error::TooLong(_))
    ));
}

/// A 6400-byte emoji title over a 2400-byte CJK body on a provider with a
/// byte `limit` (the `exempt` part of the payload, a token member, not
/// counted): the body is cut to its `…` and the title to whole emoji, the
/// payload ending within one emoji of the limit. `head` and `tail` are the
/// payload around the kept title.
pub(crate) fn assert_emoji_title_cut(on: On, limit: usize, exempt: &str, head: &str, tail: &str) {
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
