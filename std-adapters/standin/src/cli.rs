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
use crate::honor::HonorStandin;
use crate::huawei::HuaweiStandin;
use crate::kit::generate_secret;
use crate::kit::shell::{Builder, Standin, Vendor};
use crate::meizu::MeizuStandin;
use crate::oppo::OppoStandin;
use crate::tpns::TpnsStandin;
use crate::vivo::VivoStandin;
use crate::xiaomi::XiaomiStandin;
use crate::{apns, fcm, honor, huawei, meizu, oppo, tpns, vivo, xiaomi};

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

impl CliStandin {
    fn new<S: Shutdown>(
        url: String,
        config_table: String,
        info: serde_json::Value,
        standin: S,
        summary: fn(&S) -> String,
    ) -> Self {
        Self {
            url,
            config_table,
            info,
            running: Box::new(Running { standin, summary }),
        }
    }
}

/// The providers `tidings standin` knows.
pub const PROVIDERS: &[&str] = &[
    "apns", "fcm", "huawei", "honor", "vivo", "xiaomi", "oppo", "meizu", "tpns",
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

/// Starts a shell stand-in with the command line's address, replies and
/// record file, and writes its CA to `ca.pem`.
async fn launch<V: Vendor>(
    setup: &CliSetup,
    mut builder: Builder<V>,
    what: &str,
    from_code: fn(&str) -> Option<V::Reply>,
) -> Result<(Standin<V>, PathBuf), Error> {
    builder = builder.listen(setup.listen);
    for (token, reply) in replies(setup, what, from_code)? {
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &setup.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await?;
    let ca_file = setup.dir.join("ca.pem");
    standin.write_ca_pem(&ca_file)?;
    Ok((standin, ca_file))
}

/// `[name]` and one `key = "value"` line per entry.
fn table(name: &str, entries: &[(&str, &str)]) -> String {
    let mut text = format!("[{name}]\n");
    for (key, value) in entries {
        text.push_str(&format!("{key} = {}\n", toml_string(value)));
    }
    text
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A fresh secret written (owner-only) to `file` in the folder.
fn secret_file(setup: &CliSetup, file: &str) -> Result<(String, PathBuf), Error> {
    let secret = generate_secret()?;
    let path = setup.dir.join(file);
    write_private(&path, &secret)?;
    Ok((secret, path))
}

/// `tidings standin apns`: the signing key (given, or generated into
/// `AuthKey_<key id>.p8`), the topics (default `com.example.chat`), and
/// the `[apns]` table.
async fn start_apns(setup: CliSetup) -> Result<CliStandin, Error> {
    let apns = &setup.apns;
    let (key_file, public_key) = match &apns.key_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)?;
            (std::fs::canonicalize(path)?, public_key_from_p8(&pem)?)
        }
        None => {
            let key = generate_signing_key(&apns.team_id, &apns.key_id)?;
            let path = setup.dir.join(format!("AuthKey_{}.p8", apns.key_id));
            write_private(&path, &key.p8_pem)?;
            (path, key.public_key)
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
    let ca_file = setup.dir.join("ca.pem");
    standin.write_ca_pem(&ca_file)?;
    let url = standin.url();
    let config_table = table(
        "apns",
        &[
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
            ("team_id", &apns.team_id),
            ("key_id", &apns.key_id),
            ("key_file", &path_text(&key_file)),
            ("topic", &topics[0]),
        ],
    );
    let info = json!({
        "Url": url,
        "CaFile": ca_file,
        "KeyFile": key_file,
        "TeamId": apns.team_id,
        "KeyId": apns.key_id,
        "Topics": topics,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
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
    let (standin, ca_file) = launch(&setup, builder, "an FCM code", fcm::Reply::from_code).await?;
    let key_file = setup.dir.join("service-account.json");
    write_private(&key_file, &standin.key_file_json())?;
    let (url, token_url) = (standin.url(), standin.token_url());
    let config_table = table(
        "fcm",
        &[
            ("service_account_file", &path_text(&key_file)),
            ("endpoint", &url),
            ("token_endpoint", &token_url),
            ("ca_file", &path_text(&ca_file)),
        ],
    );
    let info = json!({
        "Url": url,
        "TokenUrl": token_url,
        "CaFile": ca_file,
        "ServiceAccountFile": key_file,
        "ProjectId": standin.account().project_id,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
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
    let (secret, secret_file) = secret_file(&setup, "huawei-secret.txt")?;
    let builder = HuaweiStandin::builder().app(HUAWEI_APP_ID, &secret);
    let what = "a Huawei code";
    let (standin, ca_file) = launch(&setup, builder, what, huawei::Reply::from_code).await?;
    let (url, token_url) = (standin.url(), standin.token_url());
    let config_table = table(
        "huawei",
        &[
            ("app_id", HUAWEI_APP_ID),
            ("client_secret", &secret),
            ("endpoint", &url),
            ("token_endpoint", &token_url),
            ("ca_file", &path_text(&ca_file)),
        ],
    );
    let info = json!({
        "Url": url,
        "TokenUrl": token_url,
        "CaFile": ca_file,
        "AppId": HUAWEI_APP_ID,
        "SecretFile": secret_file,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        family_summary(s.stats(), s.accepted().len(), "access tokens")
    }))
}

/// `tidings standin honor`: a generated secret in `honor-secret.txt` and
/// the `[honor]` table.
async fn start_honor(setup: CliSetup) -> Result<CliStandin, Error> {
    let (secret, secret_file) = secret_file(&setup, "honor-secret.txt")?;
    let builder = HonorStandin::builder().app(HONOR_APP_ID, HONOR_CLIENT_ID, &secret);
    let what = "a Honor code";
    let (standin, ca_file) = launch(&setup, builder, what, honor::Reply::from_code).await?;
    let (url, token_url) = (standin.url(), standin.token_url());
    let config_table = table(
        "honor",
        &[
            ("app_id", HONOR_APP_ID),
            ("client_id", HONOR_CLIENT_ID),
            ("client_secret", &secret),
            ("endpoint", &url),
            ("token_endpoint", &token_url),
            ("ca_file", &path_text(&ca_file)),
        ],
    );
    let info = json!({
        "Url": url,
        "TokenUrl": token_url,
        "CaFile": ca_file,
        "AppId": HONOR_APP_ID,
        "ClientId": HONOR_CLIENT_ID,
        "SecretFile": secret_file,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        family_summary(s.stats(), s.accepted().len(), "access tokens")
    }))
}

/// Huawei's, Honor's and vivo's one-line summary.
fn family_summary(stats: crate::kit::Stats, accepted: usize, tokens: &str) -> String {
    format!(
        "{accepted} pushes accepted of {} requests; {} {tokens} issued",
        stats.requests, stats.token_fetches
    )
}

/// `tidings standin vivo`: a generated app secret in `vivo-secret.txt` and
/// the `[vivo]` table.
async fn start_vivo(setup: CliSetup) -> Result<CliStandin, Error> {
    let (secret, secret_file) = secret_file(&setup, "vivo-secret.txt")?;
    let builder = VivoStandin::builder().app(VIVO_APP_ID, VIVO_APP_KEY, &secret);
    let what = "a vivo result";
    let (standin, ca_file) = launch(&setup, builder, what, vivo::Reply::from_code).await?;
    let url = standin.url();
    let config_table = table(
        "vivo",
        &[
            ("app_id", &VIVO_APP_ID.to_string()),
            ("app_key", VIVO_APP_KEY),
            ("app_secret", &secret),
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
        ],
    );
    let info = json!({
        "Url": url,
        "CaFile": ca_file,
        "AppId": VIVO_APP_ID,
        "AppKey": VIVO_APP_KEY,
        "SecretFile": secret_file,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        family_summary(s.stats(), s.accepted().len(), "authTokens")
    }))
}

/// `tidings standin xiaomi`: the stand-in's AppSecret in
/// `xiaomi-app-secret` (owner-only) and the `[xiaomi]` table.
async fn start_xiaomi(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = XiaomiStandin::builder();
    let what = "a Xiaomi code";
    let (standin, ca_file) = launch(&setup, builder, what, xiaomi::Reply::from_code).await?;
    let secret_file = setup.dir.join("xiaomi-app-secret");
    write_private(&secret_file, standin.app_secret())?;
    let url = standin.url();
    let config_table = table(
        "xiaomi",
        &[
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
            ("app_secret", standin.app_secret()),
        ],
    );
    let info = json!({ "Url": url, "CaFile": ca_file, "AppSecretFile": secret_file });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        let requests = s.stats().requests;
        format!(
            "{} pushes accepted of {requests} requests",
            s.accepted().len()
        )
    }))
}

/// `tidings standin oppo`: the app key and MasterSecret in
/// `oppo-credentials.json` (owner-only) and the `[oppo]` table.
async fn start_oppo(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = OppoStandin::builder();
    let (standin, ca_file) = launch(&setup, builder, "a OPPO code", oppo::Reply::from_code).await?;
    let credentials = setup.dir.join("oppo-credentials.json");
    let (key, secret) = (standin.app_key(), standin.master_secret());
    let file = json!({ "app_key": key, "master_secret": secret });
    write_private(&credentials, &file.to_string())?;
    let url = standin.url();
    let config_table = table(
        "oppo",
        &[
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
            ("app_key", key),
            ("master_secret", secret),
        ],
    );
    let info = json!({
        "Url": url,
        "CaFile": ca_file,
        "AppKey": key,
        "CredentialsFile": credentials,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        let stats = s.stats();
        format!(
            "{} pushes accepted of {} requests; {} auth tokens issued",
            s.accepted().len(),
            stats.requests,
            stats.token_fetches
        )
    }))
}

/// `tidings standin meizu`: the app id and secret in
/// `meizu-credentials.json` (owner-only) and the `[meizu]` table.
async fn start_meizu(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = MeizuStandin::builder();
    let what = "a Meizu code";
    let (standin, ca_file) = launch(&setup, builder, what, meizu::Reply::from_code).await?;
    let credentials = setup.dir.join("meizu-credentials.json");
    let (id, secret) = (standin.app_id(), standin.app_secret());
    let file = json!({ "app_id": id, "app_secret": secret });
    write_private(&credentials, &file.to_string())?;
    let url = standin.url();
    let config_table = table(
        "meizu",
        &[
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
            ("app_id", id),
            ("app_secret", secret),
        ],
    );
    let info = json!({
        "Url": url,
        "CaFile": ca_file,
        "AppId": id,
        "CredentialsFile": credentials,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        let requests = s.stats().requests;
        format!(
            "{} pushes accepted of {requests} requests",
            s.accepted().len()
        )
    }))
}

/// `tidings standin tpns`: the stand-in's random test SecretKey in
/// `tpns-secret-key` and the `[tpns]` table.
async fn start_tpns(setup: CliSetup) -> Result<CliStandin, Error> {
    let builder = TpnsStandin::builder();
    let what = "a TPNS ret_code";
    let (standin, ca_file) = launch(&setup, builder, what, tpns::Reply::from_code).await?;
    let secret_file = setup.dir.join("tpns-secret-key");
    write_private(&secret_file, standin.secret_key())?;
    let url = standin.url();
    let config_table = table(
        "tpns",
        &[
            ("access_id", standin.access_id()),
            ("secret_key", standin.secret_key()),
            ("endpoint", &url),
            ("ca_file", &path_text(&ca_file)),
        ],
    );
    let info = json!({
        "Url": url,
        "CaFile": ca_file,
        "AccessId": standin.access_id(),
        "SecretKeyFile": secret_file,
    });
    Ok(CliStandin::new(url, config_table, info, standin, |s| {
        let stats = s.stats();
        format!(
            "{} pushes accepted of {} requests ({} refused at auth)",
            s.accepted().len(),
            stats.requests,
            stats.auth_failures
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
