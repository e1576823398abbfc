//! `tidings standin apns`: the APNs stand-in on a local address, for users
//! testing their own integration (and for the delivery benchmark).
//!
//! It writes into its folder the stand-in's CA (`ca.pem`), the signing key
//! it accepts (a generated `AuthKey_<key id>.p8` unless `--key-file` names
//! yours) and a `tidings.toml` that points `tidings send` at it; prints one
//! JSON line with those paths and its URL; and serves until Ctrl-C/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;
use tidings_standin::apns::{generate_signing_key, public_key_from_p8, ApnsStandin, Reply};

/// The stand-in's defaults: a team and key id of Apple's 10-character
/// shape, and the bundle id of the repo's examples.
pub const DEFAULT_TEAM_ID: &str = "TEAM000001";
pub const DEFAULT_KEY_ID: &str = "KEY0000001";
pub const DEFAULT_TOPIC: &str = "com.example.chat";

pub struct ApnsArgs {
    pub listen: SocketAddr,
    pub dir: PathBuf,
    pub topics: Vec<String>,
    pub team_id: String,
    pub key_id: String,
    pub key_file: Option<PathBuf>,
    pub record: Option<PathBuf>,
    /// `TOKEN=Reason`: answer that Apple reason for that device token.
    pub replies: Vec<String>,
}

pub fn run_apns(args: ApnsArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve_apns(args))
}

async fn serve_apns(args: ApnsArgs) -> Result<(), String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("--dir {}: {e}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)
        .map_err(|e| format!("--dir {}: {e}", args.dir.display()))?;
    let (key_file, public_key) = match &args.key_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("--key-file {}: {e}", path.display()))?;
            let public = public_key_from_p8(&pem)
                .map_err(|e| format!("--key-file {}: {e}", path.display()))?;
            let path = std::fs::canonicalize(path)
                .map_err(|e| format!("--key-file {}: {e}", path.display()))?;
            (path, public)
        }
        None => {
            let key =
                generate_signing_key(&args.team_id, &args.key_id).map_err(|e| e.to_string())?;
            let path = dir.join(format!("AuthKey_{}.p8", args.key_id));
            write_private(&path, &key.p8_pem)?;
            (path, key.public_key)
        }
    };
    let mut builder = ApnsStandin::builder().listen(args.listen).signing_key(
        &args.team_id,
        &args.key_id,
        &public_key,
    );
    let topics = if args.topics.is_empty() {
        vec![DEFAULT_TOPIC.to_owned()]
    } else {
        args.topics.clone()
    };
    for topic in &topics {
        builder = builder.topic(topic);
    }
    for spec in &args.replies {
        let (token, reason) = spec
            .split_once('=')
            .ok_or_else(|| format!("--reply {spec:?}: give TOKEN=Reason"))?;
        let reply = Reply::from_reason(reason)
            .ok_or_else(|| format!("--reply {spec:?}: {reason:?} is not an APNs reason"))?;
        builder = builder.reply_always(token, reply);
    }
    if let Some(record) = &args.record {
        builder = builder.record_to(record);
    }
    let standin = builder.start().await.map_err(|e| e.to_string())?;
    let ca_file = dir.join("ca.pem");
    standin
        .write_ca_pem(&ca_file)
        .map_err(|e| format!("{}: {e}", ca_file.display()))?;
    let config_file = dir.join("tidings.toml");
    let config = format!(
        "# Written by `tidings standin apns`: sends go to the stand-in.\n\
         [apns]\nendpoint = {}\nca_file = {}\nteam_id = {}\nkey_id = {}\nkey_file = {}\ntopic = {}\n",
        toml_string(&standin.url()),
        toml_string(&ca_file.to_string_lossy()),
        toml_string(&args.team_id),
        toml_string(&args.key_id),
        toml_string(&key_file.to_string_lossy()),
        toml_string(&topics[0]),
    );
    std::fs::write(&config_file, config).map_err(|e| format!("{}: {e}", config_file.display()))?;
    println!(
        "{}",
        json!({
            "Url": standin.url(),
            "Config": config_file,
            "CaFile": ca_file,
            "KeyFile": key_file,
            "TeamId": args.team_id,
            "KeyId": args.key_id,
            "Topics": topics,
        })
    );
    eprintln!(
        "APNs stand-in on {}; try: tidings send --config {} CASE (Ctrl-C stops)",
        standin.url(),
        config_file.display()
    );
    shutdown_signal().await;
    let stats = standin.stats();
    let accepted = standin.accepted_count();
    standin.shutdown().await.map_err(|e| e.to_string())?;
    eprintln!(
        "stopped: {accepted} pushes accepted over {} connections ({} streams)",
        stats.connections, stats.streams
    );
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// A TOML basic string (JSON's escaping is a subset TOML reads).
fn toml_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Writes a key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}
