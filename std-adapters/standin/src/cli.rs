//! The stand-in registry of `tidings standin <provider>`: start a
//! provider's stand-in from the command line's options with test
//! credentials, say how `tidings send` reaches it (a TOML table with its
//! URL, CA and credentials), and stop it with a one-line summary.
//!
//! It sits above the stand-ins: it imports every provider module, and no
//! provider module knows it. A new provider adds one arm to [`start`], its
//! name to [`PROVIDERS`], and one function here.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use serde_json::json;

use crate::apns::{generate_signing_key, public_key_from_p8, ApnsStandin};
use crate::error::Error;
use crate::fcm::FcmStandin;
use crate::harmony::HarmonyStandin;
use crate::honor::HonorStandin;
use crate::huawei::HuaweiStandin;
use crate::kit::generate_secret;
use crate::kit::shell::{Builder, Standin, Vendor};
use crate::meizu::MeizuStandin;
use crate::oppo::OppoStandin;
use crate::tpns::TpnsStandin;
use crate::vivo::VivoStandin;
use crate::xiaomi::XiaomiStandin;
use crate::{apns, fcm, harmony, honor, huawei, meizu, oppo, tpns, vivo, xiaomi};

/// The command line's options, common to every provider.
#[derive(Clone, Debug)]
pub struct CliSetup {
    pub listen: SocketAddr,
    /// An existing folder (absolute) for the CA, keys and `tidings.toml`.
    pub dir: PathBuf,
    /// Append one JSON line per accepted push here.
    pub record: Option<PathBuf>,
    /// `(device token, provider code)`: answer that documented error for
    /// that token (the code is the provider's own: an APNs reason, an FCM
    /// error status, a vendor result code).
    pub replies: Vec<(String, String)>,
    /// APNs only: the bundle ids it accepts, and the signing key.
    pub apns: ApnsCliSetup,
}

#[derive(Clone, Debug, Default)]
pub struct ApnsCliSetup {
    pub topics: Vec<String>,
    pub team_id: String,
    pub key_id: String,
    pub key_file: Option<PathBuf>,
    /// Every answer this long after its request (a slow provider).
    pub delay_ms: Option<u64>,
}

/// A stand-in started for the command line.
pub struct CliStandin {
    pub url: String,
    /// The `[provider]` table `tidings send --config` needs to reach it.
    pub config_table: String,
    /// What the command prints as its one JSON line (paths, ids; no secret
    /// beyond the stand-in's own test credentials' file paths).
    pub info: serde_json::Value,
    pub running: Box<dyn CliRunning>,
}

/// A running stand-in the command line can stop.
pub trait CliRunning: Send {
    /// Stops it; answers a one-line summary of what it accepted.
    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;
}

/// A stand-in that can be shut down (the shared shell's and APNs's).
trait Shutdown: Send + Sized + 'static {
    fn shut_down(self) -> impl Future<Output = Result<(), Error>> + Send;
}

impl<V: Vendor> Shutdown for Standin<V> {
    fn shut_down(self) -> impl Future<Output = Result<(), Error>> + Send {
        self.shutdown()
    }
}

impl Shutdown for ApnsStandin {
    fn shut_down(self) -> impl Future<Output = Result<(), Error>> + Send {
        self.shutdown()
    }
}

/// A stand-in and how its summary reads (taken before it stops).
struct Running<S> {
    standin: S,
    summary: fn(&S) -> String,
}

impl<S: Shutdown> CliRunning for Running<S> {
    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send>> {
        Box::pin(async move {
            let summary = (self.summary)(&self.standin);
            self.standin.shut_down().await?;
            Ok(summary)
        })
    }
}

/// The providers `tidings standin` knows.
pub const PROVIDERS: &[&str] = &[
    "apns", "fcm", "huawei", "honor", "vivo", "xiaomi", "oppo", "meizu", "tpns", "harmony",
];

/// Starts the stand-in named `provider`.
pub async fn start(provider: &str, setup: CliSetup) -> Result<CliStandin, Error> {
    match provider {
        "apns" => start_apns(setup).await,
        "fcm" => start_fcm(setup).await,
        "huawei" => start_huawei(setup).await,
        "honor" => start_honor(setup).await,
        "vivo" => start_vivo(setup).await,
        "xiaomi" => start_xiaomi(setup).await,
        "oppo" => start_oppo(setup).await,
        "meizu" => start_meizu(setup).await,
        "tpns" => start_tpns(setup).await,
        "harmony" => start_harmony(setup).await,
        other => Err(Error::Config(format!(
            "no stand-in for {other:?} (known: {})",
            PROVIDERS.join(", ")
        ))),
    }
}

/// The Huawei stand-in's app id.
pub const HUAWEI_APP_ID: &str = "10400000";
/// The Honor stand-in's app and client ids.
pub const HONOR_APP_ID: &str = "104400000";
pub const HONOR_CLIENT_ID: &str = "honor-client-000001";
/// The vivo stand-in's app id and key (vivo's documented example id).
pub const VIVO_APP_ID: u64 = 10004;
pub const VIVO_APP_KEY: &str = "standin-app-key";

/// `--reply TOKEN=CODE` read by `from_code` (`what`: "a Huawei code").
fn replies<'a, R>(
    setup: &'a CliSetup,
    what: &str,
    from_code: fn(&str) -> Option<R>,
) -> Result<Vec<(&'a str, R)>, Error> {
    setup
        .replies
        .iter()
        .map(|(token, code)| {
            from_code(code)
                .map(|reply| (token.as_str(), reply))
                .ok_or_else(|| Error::Config(format!("--reply {token}={code}: not {what}")))
        })
        .collect()
}

/// What a started stand-in tells: its `[provider]` table for `tidings
/// send` and the fields of the JSON line the command prints.
struct Told {
    url: String,
    table: String,
    info: serde_json::Map<String, serde_json::Value>,
}

impl Told {
    /// Writes the stand-in's CA to `ca.pem` and starts with what every
    /// stand-in tells: its URL and that CA file.
    fn new(setup: &CliSetup, provider: &str, url: String, ca_pem: &str) -> Result<Self, Error> {
        let ca_file = setup.dir.join("ca.pem");
        std::fs::write(&ca_file, ca_pem)?;
        let told = Self {
            url: url.clone(),
            table: format!("[{provider}]\n"),
            info: serde_json::Map::new(),
        };
        Ok(told
            .both("endpoint", "Url", &url)
            .both("ca_file", "CaFile", &path_text(&ca_file)))
    }

    /// `key = "value"` in the table, and `info` in the line.
    fn both(self, key: &str, info: &str, value: &str) -> Self {
        self.key(key, value).info(info, value)
    }

    fn key(mut self, key: &str, value: &str) -> Self {
        self.table
            .push_str(&format!("{key} = {}\n", toml_string(value)));
        self
    }

    fn info(mut self, info: &str, value: impl Into<serde_json::Value>) -> Self {
        self.info.insert(info.to_owned(), value.into());
        self
    }

    fn running<S: Shutdown>(self, standin: S, summary: fn(&S) -> String) -> CliStandin {
        CliStandin {
            url: self.url,
            config_table: self.table,
            info: serde_json::Value::Object(self.info),
            running: Box::new(Running { standin, summary }),
        }
    }
}

/// Starts a shell stand-in with the command line's address, replies and
/// record file; `what` names its codes in errors ("a Huawei code").
async fn launch<V: Vendor>(
    setup: &CliSetup,
    provider: &str,
    mut builder: Builder<V>,
    what: &str,
    from_code: fn(&str) -> Option<V::Reply>,
) -> Result<(Standin<V>, Told), Error> {
    builder = builder.listen(setup.listen);
    for (token, reply) in replies(setup, what, from_code)? {
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &setup.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await?;
    let told = Told::new(setup, provider, standin.url(), standin.ca_pem())?;
    Ok((standin, told))
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Writes `text` (owner-only) to `file` in the folder; answers its path.
fn private_file(setup: &CliSetup, file: &str, text: &str) -> Result<String, Error> {
    let path = setup.dir.join(file);
    write_private(&path, text)?;
    Ok(path_text(&path))
}

/// `tidings standin apns`: the signing key (given, or generated into
/// `AuthKey_<key id>.p8`), the topics (default `com.example.chat`), and
/// the `[apns]` table.
async fn start_apns(setup: CliSetup) -> Result<CliStandin, Error> {
    let apns = &setup.apns;
    let (key_file, public_key) = match &apns.key_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)?;
            let path = std::fs::canonicalize(path)?;
            (path_text(&path), public_key_from_p8(&pem)?)
        }
        None => {
            let key = generate_signing_key(&apns.team_id, &apns.key_id)?;
            let file = format!("AuthKey_{}.p8", apns.key_id);
            (private_file(&setup, &file, &key.p8_pem)?, key.public_key)
        }
    };
    let topics = if apns.topics.is_empty() {
        vec!["com.example.chat".to_owned()]
    } else {
        apns.topics.clone()
    };
    let mut builder = ApnsStandin::builder().listen(setup.listen).signing_key(
        &apns.team_id,
        &apns.key_id,
        &public_key,
    );
    if let Some(ms) = apns.delay_ms {
        builder = builder.delay(Duration::from_millis(ms));
    }
    for topic in &topics {
        builder = builder.topic(topic);
    }
    for (token, reply) in replies(&setup, "an APNs reason", apns::Reply::from_reason)? {
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &setup.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await?;
    let told = Told::new(&setup, "apns", standin.url(), standin.ca_pem())?
        .both("team_id", "TeamId", &apns.team_id)
        .both("key_id", "KeyId", &apns.key_id)
        .both("key_file", "KeyFile", &key_file)
        .key("topic", &topics[0])
        .info("Topics", topics);
    Ok(told.running(standin, |s| {
        let stats = s.stats();
        format!(
            "{} pushes accepted over {} connections ({} streams)",
            s.accepted_count(),
            stats.connections,
            stats.streams
        )
    }))
}

/// `tidings standin fcm`: `service-account.json` (the checked-in test key,
/// a test account of project `tidings-standin`) and the `[fcm]` table.
async fn start_fcm(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = FcmStandin::builder();
    let what = "an FCM code";
    let (standin, told) = launch(&setup, "fcm", builder, what, fcm::Reply::from_code).await?;
    let key_file = private_file(&setup, "service-account.json", &standin.key_file_json())?;
    let told = told
        .both("token_endpoint", "TokenUrl", &standin.token_url())
        .both("service_account_file", "ServiceAccountFile", &key_file)
        .info("ProjectId", standin.account().project_id.clone());
    Ok(told.running(standin, |s| {
        let stats = s.stats();
        format!(
            "{} pushes accepted, {} access tokens granted, over {} connections",
            s.accepted().len(),
            stats.token_grants,
            stats.connections
        )
    }))
}

/// `tidings standin huawei`: a generated secret in `huawei-secret.txt` and
/// the `[huawei]` table.
async fn start_huawei(setup: CliSetup) -> Result<CliStandin, Error> {
    let secret = generate_secret()?;
    let builder = HuaweiStandin::builder().app(HUAWEI_APP_ID, &secret);
    let from_code = huawei::Reply::from_code;
    let (standin, told) = launch(&setup, "huawei", builder, "a Huawei code", from_code).await?;
    let told = told
        .both("token_endpoint", "TokenUrl", &standin.token_url())
        .both("app_id", "AppId", HUAWEI_APP_ID)
        .key("client_secret", &secret)
        .info(
            "SecretFile",
            private_file(&setup, "huawei-secret.txt", &secret)?,
        );
    Ok(told.running(standin, |s| {
        tokens_summary(s.accepted().len(), s.stats(), "access tokens")
    }))
}

/// `tidings standin honor`: a generated secret in `honor-secret.txt` and
/// the `[honor]` table.
async fn start_honor(setup: CliSetup) -> Result<CliStandin, Error> {
    let secret = generate_secret()?;
    let builder = HonorStandin::builder().app(HONOR_APP_ID, HONOR_CLIENT_ID, &secret);
    let from_code = honor::Reply::from_code;
    let (standin, told) = launch(&setup, "honor", builder, "a Honor code", from_code).await?;
    let told = told
        .both("token_endpoint", "TokenUrl", &standin.token_url())
        .both("app_id", "AppId", HONOR_APP_ID)
        .both("client_id", "ClientId", HONOR_CLIENT_ID)
        .key("client_secret", &secret)
        .info(
            "SecretFile",
            private_file(&setup, "honor-secret.txt", &secret)?,
        );
    Ok(told.running(standin, |s| {
        tokens_summary(s.accepted().len(), s.stats(), "access tokens")
    }))
}

/// Huawei's, Honor's and vivo's one-line summary.
fn tokens_summary(accepted: usize, stats: crate::kit::Stats, tokens: &str) -> String {
    let requests = requests_summary(accepted, stats.requests);
    format!("{requests}; {} {tokens} issued", stats.token_fetches)
}

/// `tidings standin vivo`: a generated app secret in `vivo-secret.txt` and
/// the `[vivo]` table.
async fn start_vivo(setup: CliSetup) -> Result<CliStandin, Error> {
    let secret = generate_secret()?;
    let builder = VivoStandin::builder().app(VIVO_APP_ID, VIVO_APP_KEY, &secret);
    let from_code = vivo::Reply::from_code;
    let (standin, told) = launch(&setup, "vivo", builder, "a vivo result", from_code).await?;
    let told = told
        .key("app_id", &VIVO_APP_ID.to_string())
        .info("AppId", VIVO_APP_ID)
        .both("app_key", "AppKey", VIVO_APP_KEY)
        .key("app_secret", &secret)
        .info(
            "SecretFile",
            private_file(&setup, "vivo-secret.txt", &secret)?,
        );
    Ok(told.running(standin, |s| {
        tokens_summary(s.accepted().len(), s.stats(), "authTokens")
    }))
}

/// `tidings standin xiaomi`: the stand-in's AppSecret in
/// `xiaomi-app-secret` (owner-only) and the `[xiaomi]` table.
async fn start_xiaomi(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = XiaomiStandin::builder();
    let what = "a Xiaomi code";
    let (standin, told) = launch(&setup, "xiaomi", builder, what, xiaomi::Reply::from_code).await?;
    let secret_file = private_file(&setup, "xiaomi-app-secret", standin.app_secret())?;
    let told = told
        .key("app_secret", standin.app_secret())
        .info("AppSecretFile", secret_file);
    Ok(told.running(standin, |s| {
        let summary = requests_summary(s.accepted().len(), s.stats().requests);
        format!("{summary}, {} revokes", s.revokes().len())
    }))
}

/// The form vendors' one-line summary.
fn requests_summary(accepted: usize, requests: u64) -> String {
    format!("{accepted} pushes accepted of {requests} requests")
}

/// `tidings standin oppo`: the app key and MasterSecret in
/// `oppo-credentials.json` (owner-only) and the `[oppo]` table.
async fn start_oppo(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = OppoStandin::builder();
    let what = "a OPPO code";
    let (standin, told) = launch(&setup, "oppo", builder, what, oppo::Reply::from_code).await?;
    let (key, secret) = (standin.app_key(), standin.master_secret());
    let file = json!({ "app_key": key, "master_secret": secret }).to_string();
    let told = told
        .both("app_key", "AppKey", key)
        .key("master_secret", secret)
        .info(
            "CredentialsFile",
            private_file(&setup, "oppo-credentials.json", &file)?,
        );
    Ok(told.running(standin, |s| {
        let summary = requests_summary(s.accepted().len(), s.stats().requests);
        format!("{summary}; {} auth tokens issued", s.stats().token_fetches)
    }))
}

/// `tidings standin meizu`: the app id and secret in
/// `meizu-credentials.json` (owner-only) and the `[meizu]` table.
async fn start_meizu(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = MeizuStandin::builder();
    let what = "a Meizu code";
    let (standin, told) = launch(&setup, "meizu", builder, what, meizu::Reply::from_code).await?;
    let (id, secret) = (standin.app_id(), standin.app_secret());
    let file = json!({ "app_id": id, "app_secret": secret }).to_string();
    let told = told
        .both("app_id", "AppId", id)
        .key("app_secret", secret)
        .info(
            "CredentialsFile",
            private_file(&setup, "meizu-credentials.json", &file)?,
        );
    Ok(told.running(standin, |s| {
        requests_summary(s.accepted().len(), s.stats().requests)
    }))
}

/// `tidings standin tpns`: the stand-in's random test SecretKey in
/// `tpns-secret-key` and the `[tpns]` table.
async fn start_tpns(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = TpnsStandin::builder();
    let what = "a TPNS ret_code";
    let (standin, told) = launch(&setup, "tpns", builder, what, tpns::Reply::from_code).await?;
    let told = told
        .both("access_id", "AccessId", standin.access_id())
        .key("secret_key", standin.secret_key())
        .info(
            "SecretKeyFile",
            private_file(&setup, "tpns-secret-key", standin.secret_key())?,
        );
    Ok(told.running(standin, |s| {
        let stats = s.stats();
        let summary = requests_summary(s.accepted().len(), stats.requests);
        format!("{summary} ({} refused at auth)", stats.auth_failures)
    }))
}

/// `tidings standin harmony`: `harmony-service-account.json` (the
/// checked-in test key, a test account of the stand-in's project) and the
/// `[harmony]` table, with the client id revokes need.
async fn start_harmony(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = HarmonyStandin::builder();
    let what = "a HarmonyOS code or token reason";
    let from_code = harmony::Reply::from_code;
    let (standin, told) = launch(&setup, "harmony", builder, what, from_code).await?;
    let key_file = private_file(
        &setup,
        "harmony-service-account.json",
        &standin.account().key_file_json(),
    )?;
    let told = told
        .both("service_account_file", "ServiceAccountFile", &key_file)
        .both("client_id", "ClientId", standin.client_id())
        .info("ProjectId", standin.account().project_id.clone());
    Ok(told.running(standin, |s| {
        let summary = requests_summary(s.accepted().len(), s.stats().requests);
        let jwts = s.stats().token_fetches;
        format!(
            "{summary}, {} revokes; {jwts} distinct JWTs",
            s.revokes().len()
        )
    }))
}

/// A TOML basic string (JSON's escaping is a subset TOML reads).
pub fn toml_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Writes a file readable by its owner only (keys, secrets).
pub fn write_private(path: &std::path::Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(Error::Io)
}
