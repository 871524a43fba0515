//! Which scraped series a check keeps, and under what name: the operator's
//! allow and deny lists (metric names and label values, as globs), the
//! result rules every Vantage sample follows (names, at most 16 labels,
//! values of at most 256 bytes, finite numbers), and `max_series`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::exposition::{Kind, Series};

/// The most labels, and the longest label value, a sample may carry (the
/// result rules of `vantage-protocol`).
const MAX_LABELS: usize = 16;
const MAX_LABEL_VALUE: usize = 256;
const MAX_NAME: usize = 64;

/// The selection part of the check's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filters {
    /// Metric-name globs to keep; empty keeps every metric.
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    /// Metric-name globs to drop, even when allowed.
    #[serde(default)]
    pub(crate) deny: Vec<String>,
    /// Label name → value globs: a series carrying the label is kept only
    /// when its value matches one of them.
    #[serde(default)]
    pub(crate) allow_labels: BTreeMap<String, Vec<String>>,
    /// Label name → value globs: a series whose label matches one is dropped.
    #[serde(default)]
    pub(crate) deny_labels: BTreeMap<String, Vec<String>>,
}

/// Why a scraped series was not kept, besides the operator's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Drop {
    /// Past `max_series`.
    Limit,
    /// Its name is not a valid Vantage metric name, even lower-cased.
    Name,
    /// Too many labels, or a label's name or value breaks the rules.
    Labels,
    /// NaN or an infinity.
    Value,
    /// The same name and labels as an earlier series (after lower-casing).
    Duplicate,
}

impl Drop {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Drop::Limit => "limit",
            Drop::Name => "name",
            Drop::Labels => "labels",
            Drop::Value => "value",
            Drop::Duplicate => "duplicate",
        }
    }
}

/// A series to report: its Vantage name and labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kept {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    pub(crate) kind: Kind,
}

/// What the selection made of an exposition.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    pub(crate) kept: Vec<Kept>,
    /// Series the operator's lists left out.
    pub(crate) filtered: usize,
    pub(crate) dropped: BTreeMap<Drop, usize>,
}

impl Filters {
    /// Selects from `series`, in order, keeping at most `max_series`.
    pub(crate) fn select(&self, series: Vec<Series>, max_series: usize) -> Selection {
        let mut out = Selection::default();
        let mut seen = HashSet::new();
        for s in series {
            if !self.wants(&s) {
                out.filtered += 1;
                continue;
            }
            let kept = match vantage_series(s) {
                Ok(kept) => kept,
                Err(why) => {
                    *out.dropped.entry(why).or_default() += 1;
                    continue;
                }
            };
            if !seen.insert((kept.name.clone(), kept.labels.clone())) {
                *out.dropped.entry(Drop::Duplicate).or_default() += 1;
            } else if out.kept.len() == max_series {
                *out.dropped.entry(Drop::Limit).or_default() += 1;
            } else {
                out.kept.push(kept);
            }
        }
        out
    }

    fn wants(&self, s: &Series) -> bool {
        let any = |globs: &[String], text: &str| globs.iter().any(|g| glob(g, text));
        if (!self.allow.is_empty() && !any(&self.allow, &s.name)) || any(&self.deny, &s.name) {
            return false;
        }
        s.labels.iter().all(|(name, value)| {
            self.allow_labels
                .get(name)
                .is_none_or(|globs| any(globs, value))
                && !self
                    .deny_labels
                    .get(name)
                    .is_some_and(|globs| any(globs, value))
        })
    }
}

/// The series under Vantage's rules: names lower-cased with `:` as `_`,
/// labels sorted; or why it cannot be kept.
fn vantage_series(s: Series) -> Result<Kept, Drop> {
    if !s.value.is_finite() {
        return Err(Drop::Value);
    }
    let name = vantage_name(&s.name).ok_or(Drop::Name)?;
    if s.labels.len() > MAX_LABELS {
        return Err(Drop::Labels);
    }
    let mut labels = Vec::with_capacity(s.labels.len());
    for (k, v) in s.labels {
        let k = vantage_name(&k).ok_or(Drop::Labels)?;
        if v.len() > MAX_LABEL_VALUE {
            return Err(Drop::Labels);
        }
        labels.push((k, v));
    }
    labels.sort();
    if labels.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Drop::Labels);
    }
    Ok(Kept {
        name,
        labels,
        value: s.value,
        kind: s.kind,
    })
}

/// A Prometheus name as a Vantage one (`^[a-z][a-z0-9_]{0,63}$`), if it can be.
pub(crate) fn vantage_name(name: &str) -> Option<String> {
    let out: String = name
        .chars()
        .map(|c| {
            if c == ':' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid = (1..=MAX_NAME).contains(&out.len())
        && out.starts_with(|c: char| c.is_ascii_lowercase())
        && out
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    valid.then_some(out)
}

/// Whether `text` matches `pattern`, where `*` is any run of characters
/// (none included) and `?` any one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, labels: &[(&str, &str)], value: f64) -> Series {
        Series {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            value,
            kind: Kind::Gauge,
        }
    }

    fn filters(json: &str) -> Filters {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn globs_match_runs_single_characters_and_whole_names() {
        for (p, t) in [
            ("*", ""),
            ("node_*", "node_load1"),
            ("*_total", "a_total"),
            ("node_?oad1", "node_load1"),
            ("a*b*c", "aXXbYYc"),
            ("a*b", "abab"),
        ] {
            assert!(glob(p, t), "{p} should match {t}");
        }
        for (p, t) in [("node_*", "go_gc"), ("a?", "a"), ("a*b", "abc"), ("", "a")] {
            assert!(!glob(p, t), "{p} should not match {t}");
        }
    }

    #[test]
    fn names_are_lower_cased_with_colons_as_underscores_or_refused() {
        assert_eq!(
            vantage_name("job:Requests:rate5m").as_deref(),
            Some("job_requests_rate5m")
        );
        assert_eq!(vantage_name("_private"), None);
        assert_eq!(vantage_name(&"a".repeat(65)), None);
        assert_eq!(
            vantage_name("a".repeat(64).as_str()).map(|n| n.len()),
            Some(64)
        );
    }

    #[test]
    fn allow_and_deny_lists_pick_metrics_and_label_values() {
        let f = filters(
            r#"{"allow": ["node_*"], "deny": ["node_scrape_*"],
                "allow_labels": {"device": ["eth*"]}, "deny_labels": {"mode": ["idle"]}}"#,
        );
        let input = vec![
            series("node_load1", &[], 0.5),
            series("go_goroutines", &[], 7.0),
            series("node_scrape_collector_success", &[], 1.0),
            series(
                "node_network_receive_bytes_total",
                &[("device", "eth0")],
                1.0,
            ),
            series("node_network_receive_bytes_total", &[("device", "lo")], 1.0),
            series(
                "node_cpu_seconds_total",
                &[("cpu", "0"), ("mode", "idle")],
                1.0,
            ),
            series(
                "node_cpu_seconds_total",
                &[("cpu", "0"), ("mode", "user")],
                1.0,
            ),
        ];
        let s = f.select(input, 100);
        let names: Vec<String> = s
            .kept
            .iter()
            .map(|k| format!("{}{:?}", k.name, k.labels))
            .collect();
        assert_eq!(
            names,
            [
                "node_load1[]",
                r#"node_network_receive_bytes_total[("device", "eth0")]"#,
                r#"node_cpu_seconds_total[("cpu", "0"), ("mode", "user")]"#,
            ]
        );
        assert_eq!(s.filtered, 4);
        assert!(s.dropped.is_empty());
    }

    #[test]
    fn series_past_the_limit_or_against_the_rules_are_counted_by_reason() {
        let many: Vec<(String, String)> = (0..17).map(|i| (format!("l{i}"), "v".into())).collect();
        let mut wide = series("wide", &[], 1.0);
        wide.labels = many;
        let input = vec![
            series("a", &[], 1.0),
            series("A", &[], 2.0),
            series("b", &[("Zone", "x")], 1.0),
            series("nan", &[], f64::NAN),
            series("inf", &[], f64::INFINITY),
            series("__bad", &[], 1.0),
            series("long", &[("v", &"x".repeat(257))], 1.0),
            wide,
            series("c", &[], 1.0),
            series("d", &[], 1.0),
        ];
        let s = filters("{}").select(input, 3);
        let kept: Vec<(&str, &[(String, String)])> = s
            .kept
            .iter()
            .map(|k| (k.name.as_str(), k.labels.as_slice()))
            .collect();
        assert_eq!(
            kept,
            [
                ("a", &[][..]),
                ("b", &[("zone".to_owned(), "x".to_owned())][..]),
                ("c", &[][..])
            ]
        );
        let dropped: Vec<(&str, usize)> = s.dropped.iter().map(|(d, n)| (d.as_str(), *n)).collect();
        assert_eq!(
            dropped,
            [
                ("limit", 1),
                ("name", 1),
                ("labels", 2),
                ("value", 2),
                ("duplicate", 1)
            ]
        );
    }
}
