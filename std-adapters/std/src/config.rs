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

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub apns: Option<ApnsSection>,
}

/// `[apns]` (vendors.md §1): token auth (`team_id`, `key_id`, `key_file`)
/// or certificate auth (`cert_file`, `cert_password`).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApnsSection {
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    /// The `.p8` key (PKCS#8 PEM).
    pub key_file: Option<PathBuf>,
    /// PEM with certificate and key, or `.p12`/`.pfx`.
    pub cert_file: Option<PathBuf>,
    /// The PKCS#12 password; better given as `TIDINGS_APNS_CERT_PASSWORD`.
    pub cert_password: Option<String>,
    /// The app's bundle id, for cases without `App.BundleId`.
    pub topic: Option<String>,
    /// `production` (default), `sandbox`, or `https://host:port`.
    pub endpoint: Option<String>,
    /// An extra CA to trust (a stand-in's `ca.pem`).
    pub ca_file: Option<PathBuf>,
    /// Most HTTP/2 connections to open.
    pub connections: Option<usize>,
    /// A send's whole deadline, in seconds.
    pub request_timeout_secs: Option<u64>,
}

impl std::fmt::Debug for ApnsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSection")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .field("key_file", &self.key_file)
            .field("cert_file", &self.cert_file)
            .field("cert_password", &self.cert_password.as_ref().map(|_| ".."))
            .field("topic", &self.topic)
            .field("endpoint", &self.endpoint)
            .field("ca_file", &self.ca_file)
            .field("connections", &self.connections)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .finish()
    }
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
        config.apply_env(env)?;
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

    fn apply_env(&mut self, env: &dyn Env) -> Result<(), ConfigError> {
        let names = [
            "TEAM_ID",
            "KEY_ID",
            "KEY_FILE",
            "CERT_FILE",
            "CERT_PASSWORD",
            "TOPIC",
            "ENDPOINT",
            "CA_FILE",
            "CONNECTIONS",
            "REQUEST_TIMEOUT_SECS",
        ];
        let given: Vec<(&str, String)> = names
            .iter()
            .filter_map(|n| env.var(&format!("TIDINGS_APNS_{n}")).map(|v| (*n, v)))
            .collect();
        if given.is_empty() {
            return Ok(());
        }
        let apns = self.apns.get_or_insert_with(ApnsSection::default);
        for (name, value) in given {
            let number = |v: &str| {
                v.parse::<u64>().map_err(|_| {
                    ConfigError::new(
                        format!("TIDINGS_APNS_{name}"),
                        format!("{v:?} is not a whole number"),
                    )
                })
            };
            match name {
                "TEAM_ID" => apns.team_id = Some(value),
                "KEY_ID" => apns.key_id = Some(value),
                "KEY_FILE" => apns.key_file = Some(value.into()),
                "CERT_FILE" => apns.cert_file = Some(value.into()),
                "CERT_PASSWORD" => apns.cert_password = Some(value),
                "TOPIC" => apns.topic = Some(value),
                "ENDPOINT" => apns.endpoint = Some(value),
                "CA_FILE" => apns.ca_file = Some(value.into()),
                "CONNECTIONS" => {
                    apns.connections = Some(usize::try_from(number(&value)?).unwrap_or(usize::MAX));
                }
                _ => apns.request_timeout_secs = Some(number(&value)?),
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        if let Some(apns) = self.apns.as_mut() {
            for path in [&mut apns.key_file, &mut apns.cert_file, &mut apns.ca_file]
                .into_iter()
                .flatten()
            {
                if path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
