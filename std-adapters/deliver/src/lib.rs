//! Tidings provider clients: one module per provider, each with its auth,
//! its transport and its answer → [`Outcome`] table. A client takes the
//! core's rendered body and headers as they are; nothing here builds a
//! payload.
//!
//! - [`outcome`]: the one vocabulary of delivery ([`Outcome`], [`Delivery`]);
//! - [`apns`]: Apple (HTTP/2, ES256 provider token or client certificate);
//! - [`kit`]: the plumbing written once (answer tables and their status
//!   fallback, config helpers and secrets, form bodies);
//! - [`huawei`], [`honor`]: OAuth client credentials, JSON over HTTPS (one
//!   client; Honor's differences are data);
//! - [`vivo`]: an md5-signed `authToken`, JSON over HTTPS;
//! - [`xiaomi`], [`oppo`], [`meizu`]: the form-bodied Chinese vendors
//!   (app-secret header, SHA-256-signed auth token, MD5 request signature);
//! - [`form`]: what those three share (one POST, the answer vocabulary
//!   and its outcomes, quotas);
//! - [`harmony`]: HarmonyOS NEXT Push Kit v3 (a PS256 service-account JWT
//!   as the bearer; sends and revokes);
//! - [`fcm`]: Firebase Cloud Messaging HTTP v1 (OAuth2 service account);
//! - [`tpns`]: Tencent Push Notification Service (HMAC-SHA256 signature);
//! - [`http2`]: the HTTP/2 connection pool APNs uses;
//! - [`https`]: HTTPS for the other providers, and the request timeout
//!   every send (token wait included) runs under;
//! - [`token`]: the one token cache of the providers with an auth endpoint
//!   (one fetch at a time, a failure remembered for its backoff);
//! - [`jwt`], [`tls`]: signing and TLS set-up shared by the providers.

#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::future::Future;
use std::pin::Pin;

/// `impl Provider` for a client whose own `async fn send` is the whole job.
macro_rules! provider {
    ($client:ty) => {
        impl $crate::Provider for $client {
            fn send<'a>(
                &'a self,
                push: &'a $crate::Push<'a>,
            ) -> $crate::BoxFuture<'a, $crate::Delivery> {
                Box::pin(<$client>::send(self, push))
            }
        }
    };
}

pub mod apns;
pub mod fcm;
pub mod form;
pub mod harmony;
pub mod honor;
pub mod http2;
pub mod https;
pub mod huawei;
pub mod jwt;
pub mod kit;
pub mod meizu;
pub mod oppo;
pub mod outcome;
pub mod tls;
pub mod token;
pub mod tpns;
pub mod vivo;
pub mod xiaomi;

pub use outcome::{Delivery, Outcome};
use tidings_core::render::Headers;

/// One rendered push ready to go out.
#[derive(Clone, Copy, Debug)]
pub struct Push<'a> {
    /// The provider body exactly as the core rendered it.
    pub body: &'a [u8],
    /// The request parts outside the body, as the core rendered them.
    pub headers: Headers<'a>,
    /// The push's identity, the same for every attempt (APNs: `apns-id`).
    pub id: uuid::Uuid,
    /// 0 for the first attempt; the retry policy grows with it.
    pub attempt: u32,
    /// What the body asks of the provider: a send, or the revoke of an
    /// earlier send (the body is then what the core's `render::revoke`
    /// rendered).
    pub action: Action,
}

/// What a [`Push`] asks of its provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Action {
    /// Deliver the notification in the body.
    #[default]
    Send,
    /// Withdraw a notification sent earlier (the body names it). Only
    /// HarmonyOS and Xiaomi have a revoke API; every other client answers
    /// a revoke [`Push::refuse_revoke`]'s permanent failure, so a revoke
    /// routed to the wrong channel is never sent as a notification.
    Revoke,
}

/// The reason of a revoke refused by a client whose provider has no revoke
/// API (see [`Action::Revoke`]).
pub const NO_REVOKE_API: &str = "NoRevokeApi";

impl Push<'_> {
    /// A client without a revoke API calls this first: a [`Action::Revoke`]
    /// is [`Outcome::Rejected`] (`NoRevokeApi`, logged with the provider's
    /// name), nothing sent; `None` for a send.
    pub fn refuse_revoke(&self, provider: &str) -> Option<Delivery> {
        if self.action == Action::Send {
            return None;
        }
        tracing::debug!(provider, "a revoke reached a client with no revoke API");
        Some(Delivery::local_reject(NO_REVOKE_API))
    }
}

/// A boxed send future, so providers can sit behind one `dyn Provider`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every provider client does: send one rendered push, answer one
/// [`Delivery`]. It never fails otherwise: a lost connection, a deadline
/// or a local refusal is a `Delivery` too.
pub trait Provider: Send + Sync {
    fn send<'a>(&'a self, push: &'a Push<'a>) -> BoxFuture<'a, Delivery>;
}

/// The client for a channel, from its table in the configuration: the one
/// place a channel name becomes a provider (`tidings send` and the gateway
/// both ask here). A missing table or key is an error naming it.
pub fn client_for(
    channel: tidings_core::model::Channel,
    config: &tidings_std::config::Config,
    clock: tidings_std::clock::SharedClock,
) -> Result<Box<dyn Provider>, tidings_std::config::ConfigError> {
    use tidings_core::model::Channel;
    use tidings_std::config::ConfigError;
    fn table<'c, T>(section: &'c Option<T>, name: &str) -> Result<&'c T, ConfigError> {
        section.as_ref().ok_or_else(|| {
            ConfigError::new(
                name,
                format!(
                    "no [{name}] table in the config (nor TIDINGS_{}_* variables)",
                    name.to_ascii_uppercase()
                ),
            )
        })
    }
    let init = |e: apns::InitError| ConfigError::new("", e.to_string());
    let tls = |e: tls::TlsError| ConfigError::new("", e.to_string());
    let init_error = |e: kit::InitError| match e {
        kit::InitError::Config(e) => e,
        other => ConfigError::new("", other.to_string()),
    };
    match channel {
        Channel::Apns | Channel::ApnsVoip => {
            let section = table(&config.apns, "apns")?;
            let client = apns::ApnsClient::new(apns::ApnsConfig::from_section(section)?, clock)
                .map_err(init)?;
            Ok(Box::new(client))
        }
        Channel::Huawei => {
            let section = table(&config.huawei, "huawei")?;
            let config = huawei::HuaweiConfig::from_section(section)?;
            let client = huawei::HuaweiClient::new(config, clock).map_err(tls)?;
            Ok(Box::new(client))
        }
        Channel::Honor => {
            let section = table(&config.honor, "honor")?;
            let config = honor::HonorConfig::from_section(section)?;
            let client = honor::HonorClient::new(config, clock).map_err(tls)?;
            Ok(Box::new(client))
        }
        Channel::Vivo => {
            let section = table(&config.vivo, "vivo")?;
            let config = vivo::VivoConfig::from_section(section)?;
            let client = vivo::VivoClient::new(config, clock).map_err(tls)?;
            Ok(Box::new(client))
        }
        Channel::Xiaomi => {
            let section = table(&config.xiaomi, "xiaomi")?;
            let config = xiaomi::XiaomiConfig::from_section(section)?;
            let client = xiaomi::XiaomiClient::new(config, clock).map_err(init_error)?;
            Ok(Box::new(client))
        }
        Channel::Oppo => {
            let section = table(&config.oppo, "oppo")?;
            let config = oppo::OppoConfig::from_section(section)?;
            let client = oppo::OppoClient::new(config, clock).map_err(init_error)?;
            Ok(Box::new(client))
        }
        Channel::Meizu => {
            let section = table(&config.meizu, "meizu")?;
            let config = meizu::MeizuConfig::from_section(section)?;
            let client = meizu::MeizuClient::new(config, clock).map_err(init_error)?;
            Ok(Box::new(client))
        }
        Channel::Tpns => {
            let section = table(&config.tpns, "tpns")?;
            let client = tpns::TpnsClient::new(tpns::TpnsConfig::from_section(section)?, clock)
                .map_err(init_error)?;
            Ok(Box::new(client))
        }
        Channel::Fcm => {
            let section = table(&config.fcm, "fcm")?;
            let client = fcm::FcmClient::new(fcm::FcmConfig::from_section(section)?, clock)
                .map_err(init_error)?;
            Ok(Box::new(client))
        }
        Channel::Harmony => {
            let section = table(&config.harmony, "harmony")?;
            let config = harmony::HarmonyConfig::from_section(section)?;
            let client = harmony::HarmonyClient::new(config, clock).map_err(init_error)?;
            Ok(Box::new(client))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_revoke_is_refused_by_refuse_revoke() {
        let mut push = Push {
            body: b"{}",
            headers: tidings_core::render::Headers::None,
            id: uuid::Uuid::nil(),
            attempt: 0,
            action: Action::default(),
        };
        assert_eq!(push.action, Action::Send);
        assert_eq!(push.refuse_revoke("fcm"), None);
        push.action = Action::Revoke;
        assert_eq!(
            push.refuse_revoke("fcm"),
            Some(Delivery::local_reject(NO_REVOKE_API))
        );
    }
}
