//! What `tidings standin <provider>` needs of a stand-in: start it from the
//! command line's options, say how `tidings send` reaches it (a TOML table
//! with its URL, CA and credentials), and stop it with a one-line summary.
//! Each provider module has a `start_for_cli`; [`start`] picks by name.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;

use crate::Error;

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

/// The providers `tidings standin` knows.
pub const PROVIDERS: &[&str] = &[
    "apns", "fcm", "huawei", "honor", "vivo", "xiaomi", "oppo", "meizu", "tpns",
];

/// Starts the stand-in named `provider`.
pub async fn start(provider: &str, setup: CliSetup) -> Result<CliStandin, Error> {
    match provider {
        "apns" => crate::apns::start_for_cli(setup).await,
        "fcm" => crate::fcm::start_for_cli(setup).await,
        "huawei" => crate::huawei::start_for_cli(setup).await,
        "honor" => crate::honor::start_for_cli(setup).await,
        "vivo" => crate::vivo::start_for_cli(setup).await,
        "xiaomi" => crate::xiaomi::start_for_cli(setup).await,
        "oppo" => crate::oppo::start_for_cli(setup).await,
        "meizu" => crate::meizu::start_for_cli(setup).await,
        "tpns" => crate::tpns::start_for_cli(setup).await,
        other => Err(Error::Config(format!(
            "no stand-in for {other:?} (known: {})",
            PROVIDERS.join(", ")
        ))),
    }
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
