//! Errors: small `Copy` enums that name the offending case-format key.

use core::fmt;

/// A case-format key an error points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        }
    }
}

/// Why a case cannot be decided or rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The value is outside what the field allows.
    Invalid(Field),
    /// More entries than the model's capacity for the field.
    TooMany(Field),
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
            Error::TooMany(field) => write!(f, "{}: too many entries", field.key()),
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
