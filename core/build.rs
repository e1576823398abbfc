//! Links the `firmware` example for bare-metal Arm; a no-op for every other
//! target and for the library itself.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=memory.x");
    // `--cfg tidings_panic_probe` swaps panic-never for a trapping handler,
    // so a firmware build that fails to link can be linked and disassembled
    // to find the surviving panic path (README, Embedded).
    println!("cargo::rustc-check-cfg=cfg(tidings_panic_probe)");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "arm" || os != "none" {
        return;
    }
    // cortex-m-rt's link.x INCLUDEs memory.x from the linker search path.
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("core/memory.x is readable");
    println!("cargo::rustc-link-search={}", out.display());
    // Only the examples are programs; the library never links.
    println!("cargo::rustc-link-arg-examples=-Tlink.x");
}
