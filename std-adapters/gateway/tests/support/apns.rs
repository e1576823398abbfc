//! The APNs stand-in the gateway's tests deliver to, and the `[apns]`
//! table that points a gateway at it.

#![allow(dead_code)] // each test binary uses its part

use std::path::Path;

use tidings_standin::apns::{generate_signing_key, ApnsStandin, ApnsStandinBuilder};

/// An APNs stand-in for `topic` that takes one provider key, set up further
/// by `standin`; its CA is written to `dir/ca.pem` and the key to
/// `dir/AuthKey.p8`, where [`table`] points.
pub async fn standin(
    standin: impl FnOnce(ApnsStandinBuilder) -> ApnsStandinBuilder,
    topic: &str,
    dir: &Path,
) -> ApnsStandin {
    let key = generate_signing_key("TEAM000001", "KEY0000001").unwrap();
    let standin = standin(ApnsStandin::builder().signing_key_from(&key).topic(topic))
        .start()
        .await
        .unwrap();
    standin.write_ca_pem(dir.join("ca.pem")).unwrap();
    std::fs::write(dir.join("AuthKey.p8"), &key.p8_pem).unwrap();
    standin
}

/// The `[apns]` table sending to `endpoint` with the CA and key
/// [`standin`] wrote to `dir`.
pub fn table(endpoint: &str, dir: &Path) -> String {
    format!(
        "[apns]\nendpoint = {endpoint:?}\nca_file = {ca:?}\nteam_id = \"TEAM000001\"\nkey_id = \"KEY0000001\"\nkey_file = {key:?}\n",
        ca = dir.join("ca.pem"),
        key = dir.join("AuthKey.p8"),
    )
}
