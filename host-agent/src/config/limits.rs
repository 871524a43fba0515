//! Sizes and bounds: every check's default run limits (`[limits]`) and the
//! outbox's disk budget (`[outbox]`), with sizes like "256MiB".

use serde::Deserialize;

/// Defaults for every check's run limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    #[serde(default = "default_output_kib")]
    pub output_kib: u32,
    #[serde(default = "default_host_calls")]
    pub host_calls: u32,
    #[serde(default = "default_log_lines")]
    pub log_lines: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            memory_mib: default_memory_mib(),
            output_kib: default_output_kib(),
            host_calls: default_host_calls(),
            log_lines: default_log_lines(),
        }
    }
}

fn default_memory_mib() -> u32 {
    64
}
fn default_output_kib() -> u32 {
    1024
}
fn default_host_calls() -> u32 {
    10_000
}
fn default_log_lines() -> u32 {
    100
}

/// The outbox: results wait here, on disk, until the server acknowledges them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// The most disk the outbox may use; beyond it the oldest results are
    /// dropped (and counted). Sizes like "256MiB".
    #[serde(default = "default_max_bytes", deserialize_with = "size")]
    pub max_bytes: u64,
    /// Size of one segment file.
    #[serde(default = "default_segment_bytes", deserialize_with = "size")]
    pub segment_bytes: u64,
    /// Results per batch sent to the server.
    #[serde(default = "default_batch_results")]
    pub batch_results: usize,
}

impl Default for OutboxSection {
    fn default() -> Self {
        OutboxSection {
            max_bytes: default_max_bytes(),
            segment_bytes: default_segment_bytes(),
            batch_results: default_batch_results(),
        }
    }
}

fn default_max_bytes() -> u64 {
    256 << 20
}
fn default_segment_bytes() -> u64 {
    8 << 20
}
fn default_batch_results() -> usize {
    500
}

/// Parses "12KiB", "256MiB", "1GiB", "4096" (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" | "kB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(n) => Ok(n),
        Size::Text(t) => parse_size(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{t}` is not a size (like \"64KiB\" or \"256MiB\")"
            ))
        }),
    }
}
