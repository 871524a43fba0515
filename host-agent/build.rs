//! Build facts the agent reports and updates by: its target triple, and
//! its version, which a test build may set (`VANTAGE_BUILD_VERSION`) to
//! play a newer release; `VANTAGE_BUILD_FAULTS=1` builds in the faults the
//! update tests inject (never set for a release).

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=VANTAGE_TARGET={target}");
    let version = std::env::var("VANTAGE_BUILD_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").expect("cargo sets the version"));
    println!("cargo:rustc-env=VANTAGE_VERSION={version}");
    let faults = std::env::var("VANTAGE_BUILD_FAULTS").unwrap_or_default() == "1";
    println!(
        "cargo:rustc-env=VANTAGE_FAULTS={}",
        if faults { "1" } else { "0" }
    );
    println!("cargo:rerun-if-env-changed=VANTAGE_BUILD_VERSION");
    println!("cargo:rerun-if-env-changed=VANTAGE_BUILD_FAULTS");
    println!("cargo:rerun-if-changed=build.rs");
}
