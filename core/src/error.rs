//! Errors: small `Copy` enums that name the offending case-format key.

use core::fmt;

/// A case-format key an error points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Field {
    MsgBody,
    GroupAtInfo,
    ReceiveOpt,
    GlobalReceiveOpt,
    Dnd,
    Token,
    BundleId,
    PackageName,
    Title,
    SubTitle,
    Body,
    Ext,
    Image,
    Sound,
    ThreadId,
    ChannelId,
    Category,
    Importance,
    Classification,
    NotifyLevel,
    NoticeMsgType,
    RequestId,
    /// The whole rendered payload.
    Payload,
    // Case-format keys named by the no_std ingest (`ingest`, feature `json`);
    // `[]` marks a key inside an array element.
    Message,
    Sender,
    Group,
    Recipient,
    App,
    Now,
    FromAccount,
    ToAccount,
    GroupId,
    Origin,
    OfflinePushInfo,
    OnlineOnlyFlag,
    MsgLifeTime,
    SendMsgControl,
    IsSystem,
    MsgKey,
    MsgSeq,
    MsgType,
    MsgContent,
    ElemText,
    ElemDesc,
    ElemExt,
    ElemSound,
    ElemTitle,
    GroupAtAllFlag,
    GroupAtAccount,
    PushFlag,
    Desc,
    AndroidInfo,
    ApnsInfo,
    AndroidSound,
    HuaweiChannelId,
    XiaomiChannelId,
    OppoChannelId,
    GoogleChannelId,
    VivoCategory,
    HuaweiImportance,
    ExtAsHuaweiIntentParam,
    HuaweiCategory,
    HonorImportance,
    OppoCategory,
    GoogleImage,
    HuaweiImage,
    HonorImage,
    HarmonyCategory,
    HarmonyImage,
    IgnoreHarmonyBadge,
    ApnsSound,
    BadgeMode,
    ApnsTitle,
    ApnsImage,
    MutableContent,
    CollapseId,
    Nick,
    NameCard,
    GroupName,
    GroupType,
    Account,
    Device,
    Badge,
    PushEnabled,
    C2cSound,
    GroupSound,
    Locale,
    Channel,
    State,
    DndStart,
    DndStartTimeStamp,
    DndDuration,
    DndUtcOffset,
    AppHarmonyCategory,
    BadgeClass,
}

impl Field {
    /// The case-format key (or provider field) this names.
    pub const fn key(self) -> &'static str {
        match self {
            Field::MsgBody => "Message.MsgBody",
            Field::GroupAtInfo => "Message.GroupAtInfo",
            Field::ReceiveOpt => "Recipient.ReceiveOpt",
            Field::GlobalReceiveOpt => "Recipient.GlobalReceiveOpt",
            Field::Dnd => "Recipient.Dnd",
            Field::Token => "Recipient.Device.Token",
            Field::BundleId => "App.BundleId",
            Field::PackageName => "App.PackageName",
            Field::Title => "OfflinePushInfo.Title",
            Field::SubTitle => "OfflinePushInfo.ApnsInfo.SubTitle",
            Field::Body => "body",
            Field::Ext => "OfflinePushInfo.Ext",
            Field::Image => "image",
            Field::Sound => "sound",
            Field::ThreadId => "thread-id",
            Field::ChannelId => "OfflinePushInfo.AndroidInfo channel id",
            Field::Category => "OfflinePushInfo.AndroidInfo category",
            Field::Importance => "OfflinePushInfo.AndroidInfo importance",
            Field::Classification => "OfflinePushInfo.AndroidInfo.VIVOClassification",
            Field::NotifyLevel => "OfflinePushInfo.AndroidInfo.OPPONotifyLevel",
            Field::NoticeMsgType => "OfflinePushInfo.AndroidInfo.MeiZuNoticeMsgType",
            Field::RequestId => "requestId",
            Field::Payload => "payload",
            Field::Message => "Message",
            Field::Sender => "Sender",
            Field::Group => "Group",
            Field::Recipient => "Recipient",
            Field::App => "App",
            Field::Now => "Now",
            Field::FromAccount => "Message.From_Account",
            Field::ToAccount => "Message.To_Account",
            Field::GroupId => "Message.GroupId",
            Field::Origin => "Message.Origin",
            Field::OfflinePushInfo => "Message.OfflinePushInfo",
            Field::OnlineOnlyFlag => "Message.OnlineOnlyFlag",
            Field::MsgLifeTime => "Message.MsgLifeTime",
            Field::SendMsgControl => "Message.SendMsgControl",
            Field::IsSystem => "Message.IsSystem",
            Field::MsgKey => "Message.MsgKey",
            Field::MsgSeq => "Message.MsgSeq",
            Field::MsgType => "Message.MsgBody[].MsgType",
            Field::MsgContent => "Message.MsgBody[].MsgContent",
            Field::ElemText => "Message.MsgBody[].MsgContent.Text",
            Field::ElemDesc => "Message.MsgBody[].MsgContent.Desc",
            Field::ElemExt => "Message.MsgBody[].MsgContent.Ext",
            Field::ElemSound => "Message.MsgBody[].MsgContent.Sound",
            Field::ElemTitle => "Message.MsgBody[].MsgContent.Title",
            Field::GroupAtAllFlag => "Message.GroupAtInfo[].GroupAtAllFlag",
            Field::GroupAtAccount => "Message.GroupAtInfo[].GroupAt_Account",
            Field::PushFlag => "Message.OfflinePushInfo.PushFlag",
            Field::Desc => "Message.OfflinePushInfo.Desc",
            Field::AndroidInfo => "Message.OfflinePushInfo.AndroidInfo",
            Field::ApnsInfo => "Message.OfflinePushInfo.ApnsInfo",
            Field::AndroidSound => "Message.OfflinePushInfo.AndroidInfo.Sound",
            Field::HuaweiChannelId => "Message.OfflinePushInfo.AndroidInfo.HuaWeiChannelID",
            Field::XiaomiChannelId => "Message.OfflinePushInfo.AndroidInfo.XiaoMiChannelID",
            Field::OppoChannelId => "Message.OfflinePushInfo.AndroidInfo.OPPOChannelID",
            Field::GoogleChannelId => "Message.OfflinePushInfo.AndroidInfo.GoogleChannelID",
            Field::VivoCategory => "Message.OfflinePushInfo.AndroidInfo.VIVOCategory",
            Field::HuaweiImportance => "Message.OfflinePushInfo.AndroidInfo.HuaWeiImportance",
            Field::ExtAsHuaweiIntentParam => {
                "Message.OfflinePushInfo.AndroidInfo.ExtAsHuaweiIntentParam"
            }
            Field::HuaweiCategory => "Message.OfflinePushInfo.AndroidInfo.HuaWeiCategory",
            Field::HonorImportance => "Message.OfflinePushInfo.AndroidInfo.HonorImportance",
            Field::OppoCategory => "Message.OfflinePushInfo.AndroidInfo.OPPOCategory",
            Field::GoogleImage => "Message.OfflinePushInfo.AndroidInfo.GoogleImage",
            Field::HuaweiImage => "Message.OfflinePushInfo.AndroidInfo.HuaWeiImage",
            Field::HonorImage => "Message.OfflinePushInfo.AndroidInfo.HonorImage",
            Field::HarmonyCategory => "Message.OfflinePushInfo.AndroidInfo.HarmonyCategory",
            Field::HarmonyImage => "Message.OfflinePushInfo.AndroidInfo.HarmonyImage",
            Field::IgnoreHarmonyBadge => "Message.OfflinePushInfo.AndroidInfo.IgnoreHarmonyBadge",
            Field::ApnsSound => "Message.OfflinePushInfo.ApnsInfo.Sound",
            Field::BadgeMode => "Message.OfflinePushInfo.ApnsInfo.BadgeMode",
            Field::ApnsTitle => "Message.OfflinePushInfo.ApnsInfo.Title",
            Field::ApnsImage => "Message.OfflinePushInfo.ApnsInfo.Image",
            Field::MutableContent => "Message.OfflinePushInfo.ApnsInfo.MutableContent",
            Field::CollapseId => "Message.OfflinePushInfo.ApnsInfo.CollapseId",
            Field::Nick => "Sender.Nick",
            Field::NameCard => "Sender.NameCard",
            Field::GroupName => "Group.Name",
            Field::GroupType => "Group.Type",
            Field::Account => "Recipient.Account",
            Field::Device => "Recipient.Device",
            Field::Badge => "Recipient.Badge",
            Field::PushEnabled => "Recipient.PushEnabled",
            Field::C2cSound => "Recipient.C2cSound",
            Field::GroupSound => "Recipient.GroupSound",
            Field::Locale => "Recipient.Locale",
            Field::Channel => "Recipient.Device.Channel",
            Field::State => "Recipient.Device.State",
            Field::DndStart => "Recipient.Dnd.Start",
            Field::DndStartTimeStamp => "Recipient.Dnd.StartTimeStamp",
            Field::DndDuration => "Recipient.Dnd.Duration",
            Field::DndUtcOffset => "Recipient.Dnd.UtcOffset",
            Field::AppHarmonyCategory => "App.HarmonyCategory",
            Field::BadgeClass => "App.BadgeClass",
        }
    }
}

/// Why a case cannot be decided or rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The value is outside what the field allows.
    Invalid(Field),
    /// More than one `TIMCustomElem` in one message (push-rules OQ-7).
    MoreThanOneCustomElem,
    /// The field does not fit the provider's limit or the caller's buffer,
    /// even with the body and title cut to their shortest.
    TooLong(Field),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Invalid(field) => write!(f, "{}: invalid value", field.key()),
            Error::MoreThanOneCustomElem => {
                write!(f, "{}: more than one TIMCustomElem", Field::MsgBody.key())
            }
            Error::TooLong(field) => {
                write!(
                    f,
                    "{}: does not fit the provider limit or buffer",
                    field.key()
                )
            }
        }
    }
}
