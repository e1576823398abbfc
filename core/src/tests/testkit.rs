//! Fixtures shared by the renderers' tests (compiled for tests only): the
//! case, and rendering it with the checks every golden test makes.
// Test-only, here as well as where lib.rs declares it. It reports what went
// wrong as values; the tests' own unwraps and the render kit's test
// assertions (render/kit.rs) turn them into failures.
#![cfg(test)]

extern crate std;

use std::borrow::ToOwned;

use crate::decide::{decide, Decision, Notification};
use crate::error::Error;
use crate::model::{
    AndroidInfo, App, Case, Channel, Conversation, Device, DeviceState, Elem, Message, PushInfo,
    Recipient, Sender,
};
use crate::render::{render, Rendered};
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
            harmony_category: "",
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

/// The notification `case` decides to push ([`Unrendered::NotPushed`]
/// for a suppressed case: the test's `unwrap` reports it).
pub(crate) fn notification<'a>(case: &'a Case<'a>) -> Result<Notification<'a>, Unrendered> {
    match decide(case) {
        Ok(Decision::Push(n)) => Ok(n),
        _ => Err(Unrendered::NotPushed),
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
#[derive(Debug, PartialEq)]
pub(crate) enum Unrendered {
    /// `decide` did not push the fixture case.
    NotPushed,
    /// `render` refused it.
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
/// text; a renderer's refusal is [`Unrendered::Render`], so a test compares
/// it with the error it expects.
pub(crate) fn render_into<'a, 'b>(
    case: &'a Case<'a>,
    buf: &'b mut [u8],
) -> Result<(Rendered<'a>, &'b str), Unrendered> {
    let n = notification(case)?;
    let r = render(&n, buf).map_err(Unrendered::Render)?;
    let bytes = buf.get(..r.len).ok_or(Unrendered::NotText)?;
    let s = core::str::from_utf8(bytes).map_err(|_| Unrendered::NotText)?;
    Ok((r, s))
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
