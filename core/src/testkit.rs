//! Fixtures shared by the renderers' golden tests (compiled for tests only).

use crate::model::{
    App, Case, Channel, Conversation, Device, DeviceState, Elem, Locale, Message, Origin, PushInfo,
    ReceiveOpt, Recipient, Sender,
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
            sender,
            conversation,
            origin: Origin::Rest,
            elems,
            push_info,
            online_only: false,
            life_time: None,
            with_mute_notifications: false,
            mentions: &[],
            is_system: false,
        },
        recipient: Recipient {
            account: "bob",
            device: Device {
                channel,
                token,
                state: DeviceState::Background,
            },
            badge: 4,
            push_enabled: true,
            c2c_sound: "",
            group_sound: "",
            receive_opt: ReceiveOpt::Receive,
            global_receive_opt: ReceiveOpt::Receive,
            dnd: None,
            locale: Locale::En,
        },
        app: App {
            bundle_id: "com.example.chat",
            package_name: "com.example.chat",
            badge_class: "",
        },
        now: NOW,
    }
}
