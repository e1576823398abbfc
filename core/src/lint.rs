//! Vendor lints: warnings, computed for a rendered notification, that a
//! provider will silently demote or drop the push, or that its text was
//! changed. Data, not text: a small `Copy` set of codes, each with a
//! severity, the spec section it comes from and a one-line advice.

use crate::decide::Notification;
use crate::json::is_json_object;
use crate::model::Channel;
use crate::render::{vivo, Rendered};
use crate::text::android_sound_name;

/// How bad a lint is for the push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Severity {
    /// The provider will likely not show the push at all.
    Error,
    /// The push is shown demoted: silent, folded away or capped per day.
    Warning,
    /// The push is shown, but not as the case gave it.
    Info,
}

impl Severity {
    /// The name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One lint code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Lint {
    /// Huawei without `HuaWeiCategory`: classed as marketing.
    HuaweiNoCategory,
    /// OPPO without `OPPOChannelID`: not shown on Android 8+.
    OppoNoChannel,
    /// vivo `classification` 0 (sent or implied by an operational category).
    VivoOperational,
    /// Xiaomi without `XiaoMiChannelID`: the capped public channel.
    XiaomiNoChannel,
    /// FCM without `GoogleChannelID`: the app's fallback channel on 8+.
    FcmNoChannel,
    /// HarmonyOS with no `HarmonyCategory` in the message or the app: the
    /// default `IM` is sent, which needs self-classification rights.
    HarmonyNoCategory,
    /// An Android push whose `Ext` is not a JSON object.
    ExtNotJson,
    /// The body was cut to fit.
    BodyCut,
    /// The title was cut to fit.
    TitleCut,
    /// `AndroidInfo.Sound` had a file extension (dropped).
    SoundExtension,
}

impl Lint {
    /// Every lint, in report order.
    pub const ALL: [Lint; 10] = [
        Lint::HuaweiNoCategory,
        Lint::OppoNoChannel,
        Lint::VivoOperational,
        Lint::XiaomiNoChannel,
        Lint::FcmNoChannel,
        Lint::HarmonyNoCategory,
        Lint::ExtNotJson,
        Lint::BodyCut,
        Lint::TitleCut,
        Lint::SoundExtension,
    ];

    /// The code in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Lint::HuaweiNoCategory => "HuaweiNoCategory",
            Lint::OppoNoChannel => "OppoNoChannel",
            Lint::VivoOperational => "VivoOperational",
            Lint::XiaomiNoChannel => "XiaomiNoChannel",
            Lint::FcmNoChannel => "FcmNoChannel",
            Lint::HarmonyNoCategory => "HarmonyNoCategory",
            Lint::ExtNotJson => "ExtNotJson",
            Lint::BodyCut => "BodyCut",
            Lint::TitleCut => "TitleCut",
            Lint::SoundExtension => "SoundExtension",
        }
    }

    pub const fn severity(self) -> Severity {
        match self {
            Lint::OppoNoChannel => Severity::Error,
            Lint::HuaweiNoCategory
            | Lint::VivoOperational
            | Lint::XiaomiNoChannel
            | Lint::FcmNoChannel
            | Lint::HarmonyNoCategory
            | Lint::ExtNotJson => Severity::Warning,
            Lint::BodyCut | Lint::TitleCut | Lint::SoundExtension => Severity::Info,
        }
    }

    /// The spec sections it comes from.
    pub const fn source(self) -> &'static str {
        match self {
            Lint::HuaweiNoCategory => "vendors.md §3.5; push-rules §10",
            Lint::OppoNoChannel => "push-rules §10; vendors.md §6.2",
            Lint::VivoOperational => "vendors.md §7.2; push-rules §10",
            Lint::XiaomiNoChannel => "vendors.md §5.2; push-rules §10",
            Lint::FcmNoChannel => "vendors.md §2.2; push-rules §4.2, §10",
            Lint::HarmonyNoCategory => "beyond.md §11.2",
            Lint::ExtNotJson => "push-rules §10, §9.3",
            Lint::BodyCut | Lint::TitleCut => "push-rules §3.5; vendors.md §10.8",
            Lint::SoundExtension => "push-rules §4.2",
        }
    }

    /// One line of advice.
    pub const fn advice(self) -> &'static str {
        match self {
            Lint::HuaweiNoCategory => "set AndroidInfo.HuaWeiCategory (IM): without it Huawei classes the push as marketing, silent and capped per day",
            Lint::OppoNoChannel => "set AndroidInfo.OPPOChannelID: OPPO shows nothing on Android 8+ without a channel",
            Lint::VivoOperational => "use VIVOClassification 1 (or a system VIVOCategory such as IM): operational messages are capped per day",
            Lint::XiaomiNoChannel => "set AndroidInfo.XiaoMiChannelID to your private-message channel: the default public channel is capped per day",
            Lint::FcmNoChannel => "set AndroidInfo.GoogleChannelID: on Android 8+ the push lands in the app's fallback channel, with its sound",
            Lint::HarmonyNoCategory => "set AndroidInfo.HarmonyCategory or App.HarmonyCategory: the default IM needs granted self-classification rights, without which HarmonyOS may count every push as marketing, capped per day",
            Lint::ExtNotJson => "make OfflinePushInfo.Ext a JSON object: Android vendors need JSON (OPPO drops the push's action otherwise)",
            Lint::BodyCut => "the body was cut to the provider's limit; shorten the text or the Desc",
            Lint::TitleCut => "the title was cut to the provider's limit; shorten it",
            Lint::SoundExtension => "give AndroidInfo.Sound as the raw resource name without extension (the extension was dropped)",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of lints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Lints(u16);

impl Lints {
    pub const NONE: Lints = Lints(0);

    pub const fn contains(self, lint: Lint) -> bool {
        self.0 & lint.bit() != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `lint` added when `on`.
    #[must_use]
    pub const fn with(self, lint: Lint, on: bool) -> Lints {
        if on {
            Lints(self.0 | lint.bit())
        } else {
            self
        }
    }

    /// The lints in the set, in [`Lint::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Lint> {
        Lint::ALL.into_iter().filter(move |l| self.contains(*l))
    }
}

/// The lints of a rendered notification.
pub fn lints(n: &Notification<'_>, rendered: &Rendered<'_>) -> Lints {
    let android = n.android_info();
    let channel = n.case.recipient.device.channel;
    // One arm per channel with a lint of its own; a new channel needs none.
    let lints = match channel {
        Channel::Huawei => {
            Lints::NONE.with(Lint::HuaweiNoCategory, android.huawei_category.is_empty())
        }
        Channel::Oppo => Lints::NONE.with(Lint::OppoNoChannel, android.oppo_channel_id.is_empty()),
        Channel::Vivo => Lints::NONE.with(
            Lint::VivoOperational,
            vivo::classify(&android).is_ok_and(|(c, _)| c == vivo::CLASSIFICATION_OPERATIONAL),
        ),
        Channel::Xiaomi => {
            Lints::NONE.with(Lint::XiaomiNoChannel, android.xiaomi_channel_id.is_empty())
        }
        Channel::Fcm => Lints::NONE.with(Lint::FcmNoChannel, android.google_channel_id.is_empty()),
        Channel::Harmony => Lints::NONE.with(
            Lint::HarmonyNoCategory,
            android.harmony_category.is_empty() && n.case.app.harmony_category.is_empty(),
        ),
        _ => Lints::NONE,
    };
    // HarmonyOS NEXT is not Android: `Ext` goes as a string any app reads,
    // and no sound is sent.
    let android_device = !channel.is_apple() && channel != Channel::Harmony;
    let sound = android.sound;
    lints
        .with(
            Lint::ExtNotJson,
            android_device && !n.ext().is_empty() && !is_json_object(n.ext()),
        )
        .with(Lint::BodyCut, rendered.cut.body.is_some())
        .with(Lint::TitleCut, rendered.cut.title.is_some())
        .with(
            Lint::SoundExtension,
            android_device && android_sound_name(sound) != sound,
        )
}
