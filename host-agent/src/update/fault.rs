//! Faults a test build injects (`VANTAGE_BUILD_FAULTS=1`, see `build.rs`):
//! a file `FAULT` beside the binary names one. A release build has none,
//! whatever files lie around.

/// What a test build does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `run` exits at once with status 3.
    Crash,
    /// `run` measures but never sends a result.
    Silent,
}

impl Fault {
    /// The fault this build was asked to show, if it is a test build.
    pub fn injected() -> Option<Fault> {
        if env!("VANTAGE_FAULTS") != "1" {
            return None;
        }
        let exe = std::env::current_exe().ok()?;
        let text = std::fs::read_to_string(exe.parent()?.join("FAULT")).ok()?;
        match text.trim() {
            "crash" => Some(Fault::Crash),
            "silent" => Some(Fault::Silent),
            _ => None,
        }
    }
}
