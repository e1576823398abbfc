//! Fixtures shared by the renderers' golden tests (compiled for tests only).

use crate::model::{
    App, Case, Channel, Conversation, Device, DeviceState, Elem, Message, PushInfo, Recipient,
    Sender,
};

/// The instant every fixture case happens at.
pub(crate) const NOW: i64 = 1_795_236_000;

/// The sender of the shared vectors: account `ann`, nickname `Ann`.
pub(crate) const ANN: Sender<'static> = Sender {
    account: "ann",
    nick: "Ann",
    name_card: "",
};

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
