//! The builder and the running stand-in every request/response provider
//! shares. A provider module defines its settings type (the [`Vendor`]),
//! its running state and its routes; the listen address, the clock, the
//! per-token scripts, the record file, TLS, the URL and shutdown are here
//! once. `pub type HuaweiStandin = Standin<Huawei>` keeps each provider's
//! own names.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidings_std::clock::{SharedClock, SystemClock};

use std::time::Duration;

use super::https::HttpsServer;
use super::record::{Accepted, Accepts, Recorder, Stats};
use super::script::{PendingScripts, Scripts};
use super::tls::CertificateAuthority;
use super::token::{IssuedTokens, TokenEndpoint, TokenFault};
use crate::error::Error;

/// A provider's stand-in: its own settings (`Self`, set through
/// provider-specific builder methods), what it keeps while running, and
/// how it answers.
pub trait Vendor: Sized + Send + Sync + 'static {
    /// What can be scripted for a device token.
    type Reply: Clone + Send + Sync + 'static;
    /// The running stand-in's state, shared with its routes.
    type State: Send + Sync + 'static;
    /// One accepted push.
    type Accepted: Clone + Send + Sync + 'static;
    /// The counts [`Standin::stats`] answers.
    type Stats;
    /// The provider's name, for errors and logs.
    const NAME: &'static str;

    /// The settings a fresh builder starts from.
    fn defaults() -> Self;
    /// Checks the settings and makes the running state and its routes.
    fn start(self, base: Base<Self>) -> Result<(Arc<Self::State>, axum::Router), Error>;
    /// `connections`: TCP connections the server accepted so far.
    fn stats(state: &Self::State, connections: u64) -> Self::Stats;
    /// Called once the server listens at `url` (FCM checks assertions'
    /// `aud` against its token URL).
    fn started(_state: &Self::State, _url: &str) {}
}

/// A provider with a token endpoint (Huawei, Honor, vivo, OPPO, FCM).
pub trait TokenVendor: Vendor {
    /// The token endpoint's path.
    const TOKEN_PATH: &'static str;
    fn token_endpoint(state: &Self::State) -> &TokenEndpoint;
    /// Expires every token issued so far.
    fn expire_tokens(state: &Self::State);
}

/// What every stand-in's state starts from: the builder's clock, and the
/// scripts and accepted pushes it shares with the running [`Standin`].
pub struct Base<V: Vendor> {
    pub(crate) clock: SharedClock,
    pub(crate) scripts: Arc<Scripts<V::Reply>>,
    pub(crate) accepted: Arc<Accepts<V::Accepted>>,
}

/// Configures a stand-in; [`Builder::start`] runs it.
pub struct Builder<V: Vendor> {
    listen: SocketAddr,
    clock: SharedClock,
    scripts: PendingScripts<V::Reply>,
    record_to: Option<PathBuf>,
    pub(crate) vendor: V,
}

impl<V: Vendor> std::fmt::Debug for Builder<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("vendor", &V::NAME)
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl<V: Vendor> Builder<V> {
    super::util::listen_and_clock!("token lifetimes and timestamps run on");

    /// Every valid request naming `token` gets `reply`.
    pub fn reply_always(mut self, token: &str, reply: V::Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, None));
        self
    }

    /// The next `n` valid requests naming `token` get `reply`.
    pub fn reply_next(mut self, token: &str, n: u32, reply: V::Reply) -> Self {
        self.scripts.push((token.to_owned(), reply, Some(n)));
        self
    }

    /// Also append one JSON line per accepted push to `path`.
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    pub async fn start(self) -> Result<Standin<V>, Error> {
        let scripts = Arc::new(Scripts::new(self.scripts));
        let accepted = Arc::new(Accepts::new(self.record_to.as_deref())?);
        let base = Base {
            clock: self.clock,
            scripts: scripts.clone(),
            accepted: accepted.clone(),
        };
        let (state, router) = self.vendor.start(base)?;
        let ca = CertificateAuthority::generate()?;
        let server = HttpsServer::start(router, &ca, self.listen).await?;
        V::started(&state, &server.url());
        tracing::debug!(addr = %server.addr(), "{} stand-in listening", V::NAME);
        Ok(Standin {
            server,
            ca,
            state,
            scripts,
            accepted,
        })
    }
}

/// A running stand-in; stops on [`Standin::shutdown`] or drop.
pub struct Standin<V: Vendor> {
    server: HttpsServer,
    ca: CertificateAuthority,
    state: Arc<V::State>,
    scripts: Arc<Scripts<V::Reply>>,
    accepted: Arc<Accepts<V::Accepted>>,
}

impl<V: Vendor> std::fmt::Debug for Standin<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standin")
            .field("vendor", &V::NAME)
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl<V: Vendor> Standin<V> {
    /// Defaults: `127.0.0.1:0`, the system clock, no scripts, no record
    /// file, and the provider's own defaults.
    pub fn builder() -> Builder<V> {
        Builder {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clock: Arc::new(SystemClock),
            scripts: Vec::new(),
            record_to: None,
            vendor: V::defaults(),
        }
    }

    pub(crate) fn state(&self) -> &V::State {
        &self.state
    }

    /// `https://127.0.0.1:PORT`: the provider's base URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        self.ca.write_pem(path)
    }

    /// Every accepted push so far, in arrival order.
    pub fn accepted(&self) -> Vec<V::Accepted> {
        self.accepted.all()
    }

    pub fn stats(&self) -> V::Stats {
        V::stats(&self.state, self.server.connections())
    }

    /// From now on every valid request naming `token` gets `reply`.
    pub fn script(&self, token: &str, reply: V::Reply) {
        self.scripts.set(token, reply, None);
    }

    /// The next `n` valid requests naming `token` get `reply`.
    pub fn script_next(&self, token: &str, n: u32, reply: V::Reply) {
        self.scripts.set(token, reply, Some(n));
    }

    pub fn unscript(&self, token: &str) {
        self.scripts.remove(token);
    }

    pub async fn shutdown(self) -> Result<(), Error> {
        self.server.shutdown().await
    }
}

impl<V: TokenVendor> Standin<V> {
    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.url(), V::TOKEN_PATH)
    }

    /// From now on the token endpoint answers `fault` instead of a token
    /// (`None`: normally again). Every request counts in the stats'
    /// `token_requests`.
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        V::token_endpoint(&self.state).set_fault(fault);
    }

    /// Every token issued so far is expired from now on: the next send
    /// with one is answered the provider's expired-token error.
    pub fn expire_tokens(&self) {
        V::expire_tokens(&self.state);
    }
}

/// What a JSON-bodied stand-in with a token endpoint keeps (the Huawei
/// family, vivo): its clock, the tokens it issued, the endpoint's fault
/// switch, the per-token scripts and the record.
pub struct Issuing<R> {
    pub(crate) clock: SharedClock,
    pub(crate) tokens: IssuedTokens,
    pub(crate) token_endpoint: TokenEndpoint,
    pub(crate) scripts: Arc<Scripts<R>>,
    pub(crate) recorder: Recorder,
}

impl<R> Issuing<R> {
    /// Issued tokens live `lifetime` on the builder's clock.
    pub(crate) fn new<V: Vendor<Reply = R, Accepted = Accepted>>(
        base: Base<V>,
        lifetime: Duration,
    ) -> Self {
        Self {
            tokens: IssuedTokens::new(base.clock.clone(), lifetime),
            recorder: Recorder::new(base.accepted),
            clock: base.clock,
            scripts: base.scripts,
            token_endpoint: TokenEndpoint::default(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.recorder
            .stats(self.tokens.fetches(), self.token_endpoint.requests())
    }
}
