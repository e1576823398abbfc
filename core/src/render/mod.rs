//! Provider renderers: one file per provider, each with its limits as named
//! consts at the top. All write through [`crate::write`], so escaping,
//! form encoding and cutting exist once.
//!
//! Texts a provider would refuse (the spec leaves what to do open):
//!
//! | provider | falls back | refuses the push |
//! | --- | --- | --- |
//! | Xiaomi | a blank title to the next non-blank of `OfflinePushInfo.Title`, nickname, `From_Account` (group: group name, `GroupId`); a blank `Desc` to the body composed from the elems | `Invalid(Title)` / `Invalid(Body)` when the whole chain is blank (§5.2) |
//! | Huawei, Honor, OPPO, vivo, Meizu, TPNS, HarmonyOS | — (an empty title already falls back along the chain in [`crate::decide()`]; whitespace is not refused by these providers, so it is sent as is) | `Invalid(Title)` when every title source is empty |
//! | FCM | — | never: an absent title is left out |
//! | APNs | — | never: title and subtitle are optional |
//!
//! The body is never empty when rendering: an empty one is `NoDisplayText`.
//! [`title`] and [`body`] say which texts a channel is sent.

use crate::decide::Notification;
use crate::error::Error;
use crate::model::Channel;
use crate::text::Body;

pub mod apns;
pub mod fcm;
pub mod harmony;
pub mod honor;
pub mod huawei;
pub mod meizu;
pub mod oppo;
pub mod tpns;
pub mod vivo;
pub mod xiaomi;

mod kit;

pub use kit::{ApnsHeaders, Headers, Rendered, Warnings};

/// The title the recipient's provider is sent, before any cut; empty =
/// none. [`Rendered::cut`]'s `title` is measured in this text.
pub fn title<'a>(n: &Notification<'a>) -> &'a str {
    match n.case.recipient.device.channel {
        Channel::Apns | Channel::ApnsVoip => n.ios_title(),
        Channel::Xiaomi => xiaomi::title(n),
        _ => n.android_title(),
    }
}

/// The body the recipient's provider is sent, before any cut.
/// [`Rendered::cut`]'s `body` is measured in this text.
pub fn body<'a>(n: &Notification<'a>) -> Body<'a> {
    match n.case.recipient.device.channel {
        Channel::Xiaomi => xiaomi::description(n),
        _ => n.body(),
    }
}

/// Renders the notification for the recipient device's channel into `buf`.
pub fn render<'a>(notification: &Notification<'a>, buf: &mut [u8]) -> Result<Rendered<'a>, Error> {
    match notification.case.recipient.device.channel {
        Channel::Apns | Channel::ApnsVoip => apns::render(notification, buf),
        Channel::Vivo => vivo::render(notification, buf),
        Channel::Meizu => meizu::render(notification, buf),
        Channel::Xiaomi => xiaomi::render(notification, buf),
        Channel::Oppo => oppo::render(notification, buf),
        Channel::Fcm => fcm::render(notification, buf),
        Channel::Huawei => huawei::render(notification, buf),
        Channel::Honor => honor::render(notification, buf),
        Channel::Tpns => tpns::render(notification, buf),
        Channel::Harmony => harmony::render(notification, buf),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::model::{Channel, Conversation, Elem, Group, GroupType, Sender};
    use crate::testkit::{case, render_str};

    /// The thread key's prefix is stored as is and its id escaped
    /// (`Writer::thread_key_member`), in every provider that sends it.
    #[test]
    fn thread_key_ids_are_escaped_behind_their_prefix() {
        let sender = Sender {
            account: "a\"b\\",
            nick: "Ann",
            name_card: "",
        };
        let c2c = Conversation::C2c { to_account: "bob" };
        let group = Conversation::Group(Group {
            id: "g\"1\n",
            name: "Dev",
            kind: GroupType::Work,
        });
        let elems = [Elem::Text("hi")];
        for (channel, token, key) in [
            (Channel::Apns, "a1b2", "thread-id"),
            (Channel::Fcm, "t-1", "tag"),
            (Channel::Huawei, "t-1", "tag"),
            (Channel::Honor, "t-1", "tag"),
        ] {
            for (conversation, value) in [(c2c, r#"c2c:a\"b\\"#), (group, r#"group:g\"1\n"#)] {
                let c = case(channel, token, sender, conversation, &elems, None);
                let (payload, _) = render_str(&c).unwrap();
                let member = std::format!(r#""{key}":"{value}""#);
                assert!(payload.contains(&member), "{channel:?}: {payload}");
            }
        }
    }
}
