//! `[update]`: whether and when the agent updates itself (docs/updates.md).

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike as _, Utc};
use serde::Deserialize;

/// Whether the agent acts on the releases its server offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// Installs them, outside freeze windows.
    #[default]
    Auto,
    /// Reports each offer and installs nothing: the server shows the agent
    /// as out of date.
    Notify,
    /// Ignores them, and says so.
    Off,
}

/// A daily span of UTC time in which no update starts: `"HH:MM-HH:MM"`;
/// it may wrap midnight (`"22:00-06:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FreezeWindow {
    start: NaiveTime,
    end: NaiveTime,
}

impl TryFrom<String> for FreezeWindow {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a UTC time span `HH:MM-HH:MM`");
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(format!("`{text}` is empty: its start and end are the same"));
        }
        Ok(FreezeWindow { start, end })
    }
}

impl FreezeWindow {
    /// Whether `at` falls in the window.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        let t = at.time().with_nanosecond(0).unwrap_or(at.time());
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The `[update]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSection {
    #[serde(default)]
    pub mode: UpdateMode,
    /// No update starts inside these windows.
    #[serde(default)]
    pub freeze: Vec<FreezeWindow>,
    /// How long a new version has to reconnect and deliver a result before
    /// the previous one comes back (10 s to 1 h).
    #[serde(default = "default_health_window", with = "humantime_serde")]
    pub health_window: Duration,
}

impl Default for UpdateSection {
    fn default() -> Self {
        UpdateSection {
            mode: UpdateMode::default(),
            freeze: Vec::new(),
            health_window: default_health_window(),
        }
    }
}

fn default_health_window() -> Duration {
    Duration::from_secs(120)
}

impl UpdateSection {
    /// The freeze window `at` falls in, if any.
    pub fn frozen(&self, at: DateTime<Utc>) -> Option<&FreezeWindow> {
        self.freeze.iter().find(|w| w.holds(at))
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if !(Duration::from_secs(10)..=Duration::from_secs(3600)).contains(&self.health_window) {
            return Err("update.health_window: between 10s and 1h".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, h, m, 0).unwrap()
    }

    #[test]
    fn freeze_windows_hold_their_span_and_may_wrap_midnight() {
        let day = FreezeWindow::try_from("08:00-18:00".to_owned()).unwrap();
        assert!(day.holds(at(8, 0)) && day.holds(at(17, 59)));
        assert!(!day.holds(at(18, 0)) && !day.holds(at(7, 59)));
        let night = FreezeWindow::try_from("22:00-06:00".to_owned()).unwrap();
        assert!(night.holds(at(23, 0)) && night.holds(at(5, 59)));
        assert!(!night.holds(at(12, 0)));
        for bad in ["8-18", "08:00", "25:00-26:00", "10:00-10:00"] {
            assert!(FreezeWindow::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
