//! Reading a provider's table: the helpers every `from_section` shares.
//! Errors name the key (`huawei.client_secret`) and never carry a secret.

use std::time::Duration;

use secrecy::SecretString;
use tidings_std::config::ConfigError;

/// A send's whole budget (token fetch, request, answer) unless the table
/// sets `request_timeout_secs`: as APNs.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A required text value, refused when absent or blank.
pub fn required(value: &Option<String>, key: &str) -> Result<String, ConfigError> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError::new(key, "missing"))
}

/// A required secret: as [`required`], kept as a [`SecretString`] (redacted
/// in `Debug`, zeroed on drop).
pub fn secret(value: &Option<String>, key: &str) -> Result<SecretString, ConfigError> {
    required(value, key).map(SecretString::from)
}

/// An absolute `https://` URL with a host, without a trailing `/`. Every
/// token endpoint and send URL goes through here: a credential or token
/// never travels in clear (issue 26). The stand-ins speak TLS, so tests
/// need no exception.
pub fn https_url(text: &str, key: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| ConfigError::new(key, format!("{text:?} is not a URL: {e}")))?;
    if url.scheme() != "https" || url.host().is_none() {
        return Err(ConfigError::new(
            key,
            format!("{text:?} is not an https:// URL (credentials must not travel in clear)"),
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// An `https://host[:port]` base URL, `default` when absent.
pub fn base_url(value: &Option<String>, default: &str, key: &str) -> Result<String, ConfigError> {
    https_url(value.as_deref().unwrap_or(default), key)
}

/// A region name (one of `regions`, `(name, url)`) or an `https://` URL,
/// `default` when absent; answers the value as written.
pub fn region(
    value: &Option<String>,
    default: &str,
    regions: &[(&str, &str)],
    key: &str,
) -> Result<String, ConfigError> {
    let endpoint = value.clone().unwrap_or_else(|| default.to_owned());
    https_url(region_url(&endpoint, regions), key).map_err(|_| {
        let names: Vec<&str> = regions.iter().map(|(name, _)| *name).collect();
        ConfigError::new(
            key,
            format!(
                "{endpoint:?} is neither a known region ({}) nor an https:// URL",
                names.join(", ")
            ),
        )
    })?;
    Ok(endpoint)
}

/// A region's URL, or the value itself when it names none.
pub fn region_url<'a>(endpoint: &'a str, regions: &[(&str, &'a str)]) -> &'a str {
    regions
        .iter()
        .find(|(name, _)| *name == endpoint)
        .map_or(endpoint, |(_, url)| url)
}

/// `request_timeout_secs`, at least 1; [`DEFAULT_REQUEST_TIMEOUT`] when
/// absent.
pub fn request_timeout(value: Option<u64>, key: &str) -> Result<Duration, ConfigError> {
    let timeout = value.map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs);
    if timeout.is_zero() {
        return Err(ConfigError::new(key, "must be at least 1"));
    }
    Ok(timeout)
}

/// A service account's JSON key file at `path` (the table's `key`, e.g.
/// `fcm.service_account_file`), read by `parse`; `what` says what the file
/// is when the key is missing. Errors name the key and the path, never a
/// value from the file.
pub fn key_file<T>(
    path: &Option<std::path::PathBuf>,
    key: &str,
    what: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let path = path
        .as_ref()
        .ok_or_else(|| ConfigError::new(key, format!("missing ({what})")))?;
    let json = std::fs::read(path)
        .map_err(|e| ConfigError::new(key, format!("{}: cannot read: {e}", path.display())))?;
    parse(&json).map_err(|e| ConfigError::new(key, format!("{}: {e}", path.display())))
}

/// A project id: the table's (`key`), else the key file's; it goes into a
/// URL path, so only letters, digits and `punctuation`.
pub fn project_id(
    value: &Option<String>,
    from_file: &Option<String>,
    key: &str,
    punctuation: &str,
) -> Result<String, ConfigError> {
    let id = value
        .clone()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| from_file.clone())
        .ok_or_else(|| ConfigError::new(key, "missing (and the key file has none)"))?;
    path_segment(id, key, punctuation)
}

/// `value` when it is letters, digits and `punctuation` only: an id that
/// goes into a URL path as it is.
pub fn path_segment(value: String, key: &str, punctuation: &str) -> Result<String, ConfigError> {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
    {
        return Ok(value);
    }
    let allowed: Vec<String> = punctuation.chars().map(|c| format!("'{c}'")).collect();
    Err(ConfigError::new(
        key,
        format!(
            "must be letters, digits or {} (it goes into the URL path)",
            allowed.join(", ")
        ),
    ))
}

/// A provider's config refusals as rows: `(table, key, part of the
/// reason)`; `from` must refuse each table with an error naming that key.
#[cfg(test)]
pub(crate) fn assert_refusals<S, T: std::fmt::Debug>(
    from: impl Fn(&S) -> Result<T, ConfigError>,
    rows: Vec<(S, &str, &str)>,
) {
    for (section, key, reason) in rows {
        let e = from(&section).unwrap_err();
        assert_eq!(e.key, key);
        assert!(e.reason.contains(reason), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_and_errors_name_the_key() {
        assert_eq!(
            https_url("https://h:8443/", "x.endpoint").unwrap(),
            "https://h:8443"
        );
        for bad in ["http://h", "ftp://h", "h", "https://"] {
            let e = https_url(bad, "x.token_endpoint").unwrap_err();
            assert_eq!(e.key, "x.token_endpoint", "{bad}");
        }
        const REGIONS: &[(&str, &str)] = &[("china", "https://cn"), ("intl", "https://in")];
        assert_eq!(region(&None, "china", REGIONS, "k").unwrap(), "china");
        assert_eq!(region_url("intl", REGIONS), "https://in");
        let e = region(&Some("http://x".into()), "china", REGIONS, "k").unwrap_err();
        assert!(e.to_string().contains("china, intl"), "{e}");
        assert_eq!(
            request_timeout(Some(0), "x.request_timeout_secs")
                .unwrap_err()
                .to_string(),
            "x.request_timeout_secs: must be at least 1"
        );
        let s = secret(&Some("s3cret".into()), "x.secret").unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
        assert_eq!(
            secret(&Some(" ".into()), "x.secret")
                .unwrap_err()
                .to_string(),
            "x.secret: missing"
        );
    }
}
