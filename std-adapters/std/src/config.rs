//! The TOML configuration: one table per provider, each key overridable by
//! an environment variable `TIDINGS_<TABLE>_<KEY>` (e.g.
//! `TIDINGS_APNS_KEY_FILE`), so secrets and per-host values can stay out of
//! the file. Relative paths are read from the config file's folder.
//!
//! Errors name the key (`apns.key_file: …`); unknown keys are errors, so a
//! typo is never a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variable naming the config file when `--config` is absent.
pub const ENV_CONFIG: &str = "TIDINGS_CONFIG";

/// A configuration error: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// A setting's kind: how an environment value is read, and whether it is
/// hidden from `Debug`.
macro_rules! setting_type {
    (text) => {
        String
    };
    (secret) => {
        String
    };
    (path) => {
        PathBuf
    };
    (number) => {
        u64
    };
}

macro_rules! setting_from_env {
    (text, $key:expr, $v:expr) => {
        Ok::<_, ConfigError>($v)
    };
    (secret, $key:expr, $v:expr) => {
        Ok::<_, ConfigError>($v)
    };
    (path, $key:expr, $v:expr) => {
        Ok::<_, ConfigError>(PathBuf::from($v))
    };
    (number, $key:expr, $v:expr) => {
        $v.parse::<u64>()
            .map_err(|_| ConfigError::new($key, format!("{:?} is not a whole number", $v)))
    };
}

macro_rules! setting_debug {
    (secret, $value:expr) => {
        &$value.as_ref().map(|_| "..") as &dyn std::fmt::Debug
    };
    ($kind:ident, $value:expr) => {
        &$value as &dyn std::fmt::Debug
    };
}

macro_rules! setting_resolve {
    (path, $value:expr, $base:expr) => {
        if let Some(path) = $value.as_mut().filter(|p| p.is_relative()) {
            *path = $base.join(&*path);
        }
    };
    ($kind:ident, $value:expr, $base:expr) => {};
}

/// A list setting: a TOML array of strings, or one string of
/// comma-separated items (as an environment variable gives it). Kept as
/// the comma-separated string; an item of the array with a comma in it is
/// refused, since it would read as two.
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct List;
    impl<'de> serde::de::Visitor<'de> for List {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
            let mut items: Vec<String> = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                if item.contains(',') {
                    return Err(serde::de::Error::custom(format!(
                        "item {} of the array has a comma in it",
                        items.len()
                    )));
                }
                items.push(item);
            }
            Ok(items.join(","))
        }
    }
    d.deserialize_any(List).map(Some)
}

/// One provider's table: every key optional in the file (the provider's
/// `from_section` says which it needs), each overridable by
/// `TIDINGS_<TABLE>_<KEY>`, secrets hidden from `Debug`, paths resolved
/// against the config file's folder.
macro_rules! section {
    ($(#[$meta:meta])* $name:ident, $table:literal {
        $( $(#[$fmeta:meta])* $field:ident : $kind:ident ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Default, Deserialize, PartialEq, Eq)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<setting_type!($kind)>, )*
        }

        impl $name {
            /// The table's name in the file.
            pub const TABLE: &'static str = $table;

            fn apply_env(slot: &mut Option<Self>, env: &dyn Env) -> Result<(), ConfigError> {
                $(
                    let key = format!("TIDINGS_{}_{}", $table, stringify!($field)).to_ascii_uppercase();
                    if let Some(value) = env.var(&key) {
                        let value = setting_from_env!($kind, key, value)?;
                        slot.get_or_insert_with(Self::default).$field = Some(value);
                    }
                )*
                Ok(())
            }

            fn resolve_paths(&mut self, base: &Path) {
                let _ = base; // tables without paths
                $( setting_resolve!($kind, self.$field, base); )*
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $( .field(stringify!($field), setting_debug!($kind, self.$field)) )*
                    .finish()
            }
        }
    };
}

section! {
    /// `[app]`: the app identity for cases without `App`.
    AppSection, "app" {
        /// APNs topic (also `[apns] topic`).
        bundle_id: text,
        package_name: text,
        /// Android launcher class, for Huawei/Honor badges.
        badge_class: text,
        /// HarmonyOS `category` for cases without one (default `IM`).
        harmony_category: text,
    }
}

section! {
    /// `[apns]` (vendors.md §1): token auth (`team_id`, `key_id`,
    /// `key_file`) or certificate auth (`cert_file`, `cert_password`).
    ApnsSection, "apns" {
        team_id: text,
        key_id: text,
        /// The `.p8` key (PKCS#8 PEM).
        key_file: path,
        /// PEM with certificate and key, or `.p12`/`.pfx`.
        cert_file: path,
        /// The PKCS#12 password; better given as `TIDINGS_APNS_CERT_PASSWORD`.
        cert_password: secret,
        /// The app's bundle id, for cases without `App.BundleId`.
        topic: text,
        /// `production` (default), `sandbox`, or `https://host:port`.
        endpoint: text,
        /// An extra CA to trust (a stand-in's `ca.pem`).
        ca_file: path,
        /// Most HTTP/2 connections to open.
        connections: number,
        /// A send's whole deadline, in seconds.
        request_timeout_secs: number,
    }
}

section! {
    /// `[fcm]` (vendors.md §2): a service-account JSON key file as Google
    /// issues it; `project_id` and `token_endpoint` default to the file's.
    FcmSection, "fcm" {
        service_account_file: path,
        project_id: text,
        endpoint: text,
        token_endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[huawei]` (vendors.md §3): OAuth client credentials.
    HuaweiSection, "huawei" {
        app_id: text,
        /// Defaults to `app_id` (Huawei's client id is the app id).
        client_id: text,
        client_secret: secret,
        endpoint: text,
        token_endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[honor]` (vendors.md §4): OAuth client credentials.
    HonorSection, "honor" {
        app_id: text,
        client_id: text,
        client_secret: secret,
        endpoint: text,
        token_endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[xiaomi]` (vendors.md §5): `Authorization: key=<app_secret>`.
    XiaomiSection, "xiaomi" {
        app_secret: secret,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[oppo]` (vendors.md §6): `sign = sha256(app_key + timestamp + master_secret)`.
    OppoSection, "oppo" {
        app_key: text,
        master_secret: secret,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[vivo]` (vendors.md §7): `sign = md5(app_id + app_key + timestamp + app_secret)`.
    VivoSection, "vivo" {
        app_id: text,
        app_key: text,
        app_secret: secret,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[meizu]` (vendors.md §8): md5 over the sorted parameters and the app secret.
    MeizuSection, "meizu" {
        app_id: text,
        app_secret: secret,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[tpns]` (vendors.md §9): HMAC-SHA256 `Sign` over the body.
    TpnsSection, "tpns" {
        access_id: text,
        secret_key: secret,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[harmony]` (beyond.md §11): HarmonyOS NEXT Push Kit v3, a service
    /// account's JSON key file signing PS256 JWTs.
    HarmonySection, "harmony" {
        /// The key file from AppGallery Connect (`project_id`, `key_id`,
        /// `private_key`, `sub_account`).
        service_account_file: path,
        /// Defaults to the key file's `project_id`.
        project_id: text,
        /// The app's client id: the revoke path names it (§13.2); needed
        /// only to revoke.
        client_id: text,
        endpoint: text,
        ca_file: path,
        request_timeout_secs: number,
    }
}

section! {
    /// `[server]`: `tidings serve`'s HTTP API and its local store.
    ServerSection, "server" {
        /// `host:port` (default 127.0.0.1:8080).
        listen: text,
        /// Where the local queue's database lives (default ./tidings-data).
        data_dir: path,
        /// Bearer tokens the API accepts: a TOML array of strings, or one
        /// string of comma-separated tokens (the form an environment
        /// variable takes); none = no auth.
        #[serde(default, deserialize_with = "string_or_list")]
        api_tokens: secret,
        /// Largest request body, bytes (default 1 MiB).
        max_body_bytes: number,
        /// Most devices in one push request (default 10,000).
        max_devices: number,
        /// Devices queued above which new pushes get 503 (default 1,000,000).
        high_water: number,
        /// How long SIGTERM waits for sends in flight, seconds (default 10).
        drain_secs: number,
        /// Sends in flight per provider (default 256).
        concurrency: number,
        /// A device's retry budget when its message has no lifetime,
        /// seconds (default 3,600).
        retry_budget_secs: number,
        /// `text` (default) or `json` log lines.
        log_format: text,
        /// How long a finished job and its devices' states are kept in the
        /// local store, seconds from acceptance (default 604800, a week).
        job_ttl_secs: number,
        /// How long a client has to send a request's headers (and, over
        /// TLS, finish its handshake), seconds (default 10).
        header_timeout_secs: number,
        /// How long a client has to send a request's body, seconds
        /// (default 30; past it the answer is 408).
        body_timeout_secs: number,
        /// How long a connection may wait between requests, seconds
        /// (default 60).
        idle_timeout_secs: number,
        /// Connections open at once; past it new ones are closed at once
        /// (default 10,000).
        max_connections: number,
        /// Requests a second each API token may make (default: no limit).
        rate_limit_per_second: number,
        /// Requests a token may make at once above its rate (default:
        /// `rate_limit_per_second`).
        rate_limit_burst: number,
        /// Failed authentications a client address may make a minute
        /// before its next ones are answered 429 (default 60).
        auth_failures_per_minute: number,
        /// The listener's certificate chain, PEM; with `tls_key_file` the
        /// API is served over TLS (HTTP/2 by ALPN), reloaded on SIGHUP.
        tls_cert_file: path,
        /// The certificate's private key, PEM.
        tls_key_file: path,
    }
}

section! {
    /// `[queue]`: where the work lives: `local` (default, an embedded
    /// store under `server.data_dir`) or `nats` (JetStream, shared by
    /// every gateway on the same server or cluster).
    QueueSection, "queue" {
        kind: text,
        /// NATS server(s), comma-separated (default nats://127.0.0.1:4222);
        /// a `user:password@` in it is a secret.
        url: secret,
        /// A NATS `.creds` file (JWT + nkey seed).
        credentials_file: path,
        /// An extra CA for the NATS server's TLS.
        ca_file: path,
        /// Work stream name (default TIDINGS); `_RETRY`, `_FEEDBACK`,
        /// `_DEAD`, `_JOBS` and `_KEYS` name its siblings.
        stream: text,
        /// Subject prefix (default tidings): `.job`, `.device`, `.retry`,
        /// `.feedback`, `.dead`.
        subject: text,
        /// The durable pull consumer every gateway shares (default
        /// tidings); `_retry` (parked devices) and `_webhook` name its
        /// siblings.
        consumer: text,
        /// Stream and bucket replicas in a cluster (default 1).
        replicas: number,
        /// Seconds before an unacknowledged message is delivered again (default 30).
        ack_wait_secs: number,
        /// Real send attempts at one device before it goes to the dead
        /// letters (default 10; deliveries handed back without a send do
        /// not count).
        max_deliver: number,
        /// Messages every gateway together may hold unacknowledged on the
        /// shared consumer (default 100,000, sized for a fleet): when it is
        /// reached, nothing more is handed out until some are acked.
        max_ack_pending: number,
        /// JetStream's message-id de-duplication window (default 120).
        duplicate_window_secs: number,
        /// How long job states are kept (default 604800, a week).
        job_ttl_secs: number,
    }
}

section! {
    /// `[feedback]`: invalid-token feedback POSTed in batches to a webhook.
    FeedbackSection, "feedback" {
        webhook_url: text,
        /// An extra CA for the webhook's TLS.
        ca_file: path,
        /// Records per POST (default 100).
        batch: number,
        /// Signs every POST: `Tidings-Signature: t=<unix seconds>,v1=<hex
        /// HMAC-SHA256(secret, "<t>.<body>")>`. Better given as
        /// `TIDINGS_FEEDBACK_SIGNING_SECRET`.
        signing_secret: secret,
        /// How long a feedback record is kept in the local store, seconds
        /// (default 604800, a week; never past the webhook's cursor).
        ttl_secs: number,
    }
}

section! {
    /// `[recall]`: what `POST /v1/recall` and the Tencent IM callback do
    /// to notifications already sent (beyond.md §13).
    RecallSection, "recall" {
        /// Channels whose recall is a removal push the app acts on (an
        /// APNs background push, an FCM data message) instead of a silent
        /// replacement: `["apns", "fcm"]` or a part of it; default none
        /// (only apps that implement removal opt in).
        #[serde(default, deserialize_with = "string_or_list")]
        remove_on: text,
        /// Tencent IM's callback authentication token (the console's
        /// 回调鉴权 Token): callbacks must carry `RequestTime` and
        /// `Sign = hex(sha256(token + RequestTime))`. Unset: callbacks
        /// carry an API token as `?token=`. Better given as
        /// `TIDINGS_RECALL_CALLBACK_TOKEN`.
        callback_token: secret,
        /// The Tencent IM `SdkAppid` callbacks must name (default: any).
        sdk_app_id: text,
    }
}

/// The whole file: one optional table per provider.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub app: Option<AppSection>,
    pub apns: Option<ApnsSection>,
    pub fcm: Option<FcmSection>,
    pub huawei: Option<HuaweiSection>,
    pub honor: Option<HonorSection>,
    pub xiaomi: Option<XiaomiSection>,
    pub oppo: Option<OppoSection>,
    pub vivo: Option<VivoSection>,
    pub meizu: Option<MeizuSection>,
    pub tpns: Option<TpnsSection>,
    pub harmony: Option<HarmonySection>,
    pub server: Option<ServerSection>,
    pub queue: Option<QueueSection>,
    pub feedback: Option<FeedbackSection>,
    pub recall: Option<RecallSection>,
}

/// Where environment overrides come from: the process, or a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// Applies `$f` to every table of the config.
macro_rules! each_table {
    ($config:expr, $f:ident $(, $arg:expr)*) => {{
        let c = $config;
        AppSection::$f(&mut c.app $(, $arg)*)?;
        ApnsSection::$f(&mut c.apns $(, $arg)*)?;
        FcmSection::$f(&mut c.fcm $(, $arg)*)?;
        HuaweiSection::$f(&mut c.huawei $(, $arg)*)?;
        HonorSection::$f(&mut c.honor $(, $arg)*)?;
        XiaomiSection::$f(&mut c.xiaomi $(, $arg)*)?;
        OppoSection::$f(&mut c.oppo $(, $arg)*)?;
        VivoSection::$f(&mut c.vivo $(, $arg)*)?;
        MeizuSection::$f(&mut c.meizu $(, $arg)*)?;
        TpnsSection::$f(&mut c.tpns $(, $arg)*)?;
        HarmonySection::$f(&mut c.harmony $(, $arg)*)?;
        ServerSection::$f(&mut c.server $(, $arg)*)?;
        QueueSection::$f(&mut c.queue $(, $arg)*)?;
        FeedbackSection::$f(&mut c.feedback $(, $arg)*)?;
        RecallSection::$f(&mut c.recall $(, $arg)*)?;
    }};
}

impl Config {
    /// Reads `path` (or nothing when `None`), then applies the environment.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Self, ConfigError> {
        let (mut config, base) = match path {
            None => (Config::default(), PathBuf::from(".")),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new("", format!("{}: cannot read: {e}", path.display()))
                })?;
                let config = Self::parse(&text).map_err(|e| ConfigError {
                    key: e.key,
                    reason: format!("{} ({})", e.reason, path.display()),
                })?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (config, base)
            }
        };
        each_table!(&mut config, apply_env, env);
        config.resolve_paths(&base);
        Ok(config)
    }

    /// Parses TOML text; an error names the key's path.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| ConfigError::new("", format!("not TOML: {}", e.message())))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::new(
                if key == "." { String::new() } else { key },
                inner.message(),
            )
        })
    }

    fn resolve_paths(&mut self, base: &Path) {
        macro_rules! resolve_each {
            ($($table:ident),*) => {
                $( if let Some(section) = self.$table.as_mut() { section.resolve_paths(base); } )*
            };
        }
        resolve_each!(
            app, apns, fcm, huawei, honor, xiaomi, oppo, vivo, meizu, tpns, harmony, server, queue,
            feedback, recall
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_harmony_category_is_checked_at_start() {
        use crate::ingest::AppDoc;
        let config = Config::parse("[app]\nharmony_category = \"WORK\"\n").unwrap();
        let app = AppDoc::from_config(&config).unwrap();
        assert_eq!(app.harmony_category.as_deref(), Some("WORK"));
        let config = Config::parse("[app]\nharmony_category = \"CHAT\"\n").unwrap();
        let e = AppDoc::from_config(&config).unwrap_err();
        assert_eq!(e.key, "app.harmony_category");
        assert!(
            e.to_string()
                .contains("\"CHAT\" is not a HarmonyOS category"),
            "{e}"
        );
    }

    #[test]
    fn reads_the_apns_table() {
        let config = Config::parse(
            r#"
            [apns]
            team_id = "TEAM000001"
            key_id = "KEY0000001"
            key_file = "AuthKey.p8"
            topic = "com.example.app"
            endpoint = "sandbox"
            connections = 2
            "#,
        )
        .unwrap();
        let apns = config.apns.unwrap();
        assert_eq!(apns.team_id.as_deref(), Some("TEAM000001"));
        assert_eq!(apns.key_file, Some(PathBuf::from("AuthKey.p8")));
        assert_eq!(apns.connections, Some(2));
    }

    #[test]
    fn api_tokens_are_an_array_or_one_comma_separated_string() {
        let tokens = |toml: &str| Config::parse(toml).map(|c| c.server.unwrap().api_tokens);
        assert_eq!(
            tokens("[server]\napi_tokens = [\"a\", \"b\"]\n").unwrap(),
            Some("a,b".into())
        );
        assert_eq!(
            tokens("[server]\napi_tokens = \"a, b\"\n").unwrap(),
            Some("a, b".into())
        );
        assert_eq!(tokens("[server]\n").unwrap(), None);
        let comma = tokens("[server]\napi_tokens = [\"a,b\"]\n").unwrap_err();
        assert_eq!(comma.key, "server.api_tokens");
        assert!(comma.reason.contains("comma"), "{comma}");
        let number = tokens("[server]\napi_tokens = 5\n").unwrap_err();
        assert_eq!(number.key, "server.api_tokens");
        assert!(
            number.reason.contains("a string or an array of strings"),
            "{number}"
        );
        // Never shown: a token is a secret.
        let debug = format!(
            "{:?}",
            Config::parse("[server]\napi_tokens = [\"s3cret\"]\n").unwrap()
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn errors_name_the_key() {
        let typo = Config::parse("[apns]\nteam_idd = \"x\"\n").unwrap_err();
        assert_eq!(typo.key, "apns.team_idd");
        assert!(typo.reason.contains("team_idd"), "{typo}");
        let wrong_type = Config::parse("[apns]\nconnections = \"two\"\n").unwrap_err();
        assert_eq!(wrong_type.key, "apns.connections");
        let table = Config::parse("[fcmm]\n").unwrap_err();
        assert!(table.reason.contains("fcmm"), "{table}");
        assert!(Config::parse("[apns\n")
            .unwrap_err()
            .reason
            .starts_with("not TOML"));
    }

    #[test]
    fn environment_overrides_the_file_and_paths_follow_the_file() {
        let dir = std::env::temp_dir().join(format!("tidings-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tidings.toml");
        std::fs::write(&file, "[apns]\nkey_id = \"FILE\"\nkey_file = \"k.p8\"\n").unwrap();
        let env = [
            ("TIDINGS_APNS_KEY_ID", "ENV"),
            ("TIDINGS_APNS_CONNECTIONS", "3"),
        ];
        let config = Config::load(Some(&file), &env).unwrap();
        let apns = config.apns.unwrap();
        assert_eq!(apns.key_id.as_deref(), Some("ENV"));
        assert_eq!(apns.connections, Some(3));
        assert_eq!(apns.key_file, Some(dir.join("k.p8")));
        let bad = Config::load(Some(&file), &[("TIDINGS_APNS_CONNECTIONS", "many")]).unwrap_err();
        assert_eq!(bad.key, "TIDINGS_APNS_CONNECTIONS");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_table_takes_environment_overrides_and_hides_its_secrets() {
        let env = [
            ("TIDINGS_XIAOMI_APP_SECRET", "xiaomi-secret"),
            ("TIDINGS_HUAWEI_CLIENT_SECRET", "huawei-secret"),
            ("TIDINGS_TPNS_REQUEST_TIMEOUT_SECS", "7"),
            ("TIDINGS_APP_PACKAGE_NAME", "com.example.chat"),
        ];
        let config = Config::load(None, &env).unwrap();
        let xiaomi = config.xiaomi.as_ref().unwrap();
        assert_eq!(xiaomi.app_secret.as_deref(), Some("xiaomi-secret"));
        assert_eq!(config.tpns.as_ref().unwrap().request_timeout_secs, Some(7));
        assert_eq!(
            config.app.as_ref().unwrap().package_name.as_deref(),
            Some("com.example.chat")
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("xiaomi-secret") && !shown.contains("huawei-secret"));
        assert!(shown.contains("com.example.chat"));
    }

    #[test]
    fn no_file_and_no_environment_is_an_empty_config() {
        assert_eq!(
            Config::load(None, &[("OTHER", "x")]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn debug_hides_the_certificate_password() {
        let section = ApnsSection {
            cert_password: Some("hunter2".into()),
            ..ApnsSection::default()
        };
        assert!(!format!("{section:?}").contains("hunter2"));
    }
}
