//! A small parser for the Prometheus text exposition format (0.0.4) and the
//! OpenMetrics 1.0 text format, the two formats a `/metrics` endpoint serves.
//!
//! It reads line by line, never panics, and skips (but counts and describes)
//! lines it cannot parse. `# TYPE` declarations decide whether a sample is a
//! [`Kind::Counter`] or a [`Kind::Gauge`]; HELP, UNIT, timestamps and
//! exemplars are read past and dropped, and so are `_created` samples.

use std::collections::HashMap;

/// How a sample behaves over time, resolved from its family's `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Only goes up (resets to 0 on restart): a counter's `_total` (or the bare sample in the 0.0.4 format),
    /// a histogram's or summary's `_bucket`, `_count` and `_sum`.
    Counter,
    /// Any value: gauges, untyped/unknown, summary quantiles, gaugehistogram samples (`_bucket`, `_gcount`, `_gsum`), info and stateset samples.
    Gauge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// The sample's name as written (e.g. `http_requests_total`, `rpc_duration_seconds_bucket`).
    pub(crate) name: String,
    /// Labels in the order written, values unescaped (`\\`, `\"`, `\n`).
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    pub(crate) kind: Kind,
}

#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub(crate) series: Vec<Series>,
    /// Lines that could not be parsed and were skipped, as "line N: what is wrong" (at most 20 kept; `bad_lines` counts all).
    pub(crate) errors: Vec<String>,
    pub(crate) bad_lines: usize,
}

/// How many error messages [`Exposition::errors`] keeps.
const MAX_ERRORS: usize = 20;

/// A family type from `# TYPE`, reduced to what decides a sample's [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Counter,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    /// gauge, untyped, unknown, stateset: only the bare name, always a gauge.
    Plain,
}

/// Suffixes that tie a sample to a family declared under the shorter name.
/// No name ends with two of them (`_gcount` does not end with `_count`).
const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
];

/// Parses a whole exposition. Never panics on any input (including invalid UTF-8 already replaced, huge lines, unterminated quotes).
pub(crate) fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    let mut families: HashMap<String, Family> = HashMap::new();
    let mut scratch = String::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_matches([' ', '\t', '\r']);
        let result = if line.is_empty() {
            Ok(())
        } else if let Some(comment) = line.strip_prefix('#') {
            match directive(comment, &mut families) {
                Ok(true) => break,
                result => result.map(drop),
            }
        } else {
            sample(line, &families, &mut scratch).map(|s| out.series.extend(s))
        };
        if let Err(what) = result {
            out.bad_lines += 1;
            if out.errors.len() < MAX_ERRORS {
                out.errors.push(format!("line {}: {what}", index + 1));
            }
        }
    }
    out
}

/// Handles the text after a line's `#`: records `# TYPE` and lets HELP, UNIT
/// and free comments through. `Ok(true)` is `# EOF`, the end of the exposition.
fn directive(comment: &str, families: &mut HashMap<String, Family>) -> Result<bool, &'static str> {
    let (keyword, rest) = token(comment);
    match keyword {
        "EOF" => Ok(rest.is_empty()),
        "TYPE" => {
            let (name, rest) = token(rest);
            if name.is_empty() || metric_name_len(name) != name.len() {
                return Err("bad metric name in TYPE");
            }
            let (word, _) = token(rest);
            let family = match word.to_ascii_lowercase().as_str() {
                "counter" => Family::Counter,
                "histogram" => Family::Histogram,
                "gaugehistogram" => Family::GaugeHistogram,
                "summary" => Family::Summary,
                "info" => Family::Info,
                "gauge" | "untyped" | "unknown" | "stateset" => Family::Plain,
                "" => return Err("missing type in TYPE"),
                _ => return Err("unknown metric type in TYPE"),
            };
            families.insert(name.to_owned(), family);
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// Parses a sample line (already trimmed, not a comment). `Ok(None)` is a
/// `_created` sample, which is valid but dropped.
fn sample(
    line: &str,
    families: &HashMap<String, Family>,
    scratch: &mut String,
) -> Result<Option<Series>, &'static str> {
    let name_len = metric_name_len(line);
    let (name, rest) = line.split_at(name_len);
    if name.is_empty() {
        return Err("bad metric name");
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t', '{']) {
        return Err("bad character in metric name");
    }
    let mut rest = skip_blank(rest);
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = parse_labels(inner, &mut labels)?;
    }

    let (value, rest) = token(rest);
    if value.is_empty() {
        return Err("missing value");
    }
    let value: f64 = value.parse().map_err(|_| "value is not a number")?;
    // An optional timestamp, then an optional exemplar (`# {...} v [ts]`), ignored.
    let (stamp, rest) = token(rest);
    if !stamp.is_empty() && !stamp.starts_with('#') {
        stamp
            .parse::<f64>()
            .map_err(|_| "timestamp is not a number")?;
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err("unexpected text after timestamp");
        }
    }

    Ok(kind(name, families, scratch).map(|kind| Series {
        name: name.to_owned(),
        labels,
        value,
        kind,
    }))
}

/// Parses labels after the opening `{` into `labels`; returns the text after `}`.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, &'static str> {
    loop {
        rest = skip_blank(rest);
        if let Some(after) = rest.strip_prefix('}') {
            return if has_duplicate(labels) {
                Err("duplicate label name")
            } else {
                Ok(after)
            };
        }
        let len = label_name_len(rest);
        if len == 0 {
            return Err(if rest.is_empty() {
                "unterminated label set"
            } else {
                "bad label name"
            });
        }
        let (label, after) = rest.split_at(len);
        let after = skip_blank(after)
            .strip_prefix('=')
            .ok_or("expected '=' after label name")?;
        let after = skip_blank(after)
            .strip_prefix('"')
            .ok_or("label value is not quoted")?;
        let (value, after) = quoted(after).ok_or("unterminated quoted label value")?;
        labels.push((label.to_owned(), value));
        rest = skip_blank(after);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err("expected ',' or '}' after label value");
        }
    }
}

/// Whether two labels share a name: pairwise for the usual handful, sorted
/// for more so that a huge line of labels stays fast.
fn has_duplicate(labels: &[(String, String)]) -> bool {
    if labels.len() <= 16 {
        return (1..labels.len()).any(|i| labels[..i].iter().any(|(n, _)| *n == labels[i].0));
    }
    let mut names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// Reads a label value after its opening quote, unescaping `\\`, `\"` and
/// `\n` (other escapes are kept as written). Returns the value and the text
/// after the closing quote, or `None` when the quote is never closed.
fn quoted(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let (mut start, mut i) = (0, 0);
    // Only ASCII bytes are matched, so every slice boundary is a char boundary.
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'"' => {
                value.push_str(&text[start..i]);
                return Some((value, &text[i + 1..]));
            }
            b'\\' => {
                let unescaped = match bytes.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    _ => {
                        i += 1; // kept literally; the next char is read as usual
                        continue;
                    }
                };
                value.push_str(&text[start..i]);
                value.push(unescaped);
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    None
}

/// The sample's kind from its family, or `None` for a `_created` sample, which
/// is dropped when it belongs to any family. `scratch` is a reusable buffer.
fn kind(name: &str, families: &HashMap<String, Family>, scratch: &mut String) -> Option<Kind> {
    // 0.0.4 clients declare `foo_created` as a gauge family of its own next to
    // `foo` (or `foo_total`), so look for the measured family first.
    if let Some(stem) = name.strip_suffix("_created") {
        scratch.clear();
        scratch.push_str(stem);
        scratch.push_str("_total");
        let has_created = matches!(
            families.get(stem),
            Some(Family::Counter | Family::Histogram | Family::Summary | Family::GaugeHistogram)
        );
        if has_created || families.get(scratch.as_str()) == Some(&Family::Counter) {
            return None;
        }
    }
    let exact = families.get(name).map(|&family| (family, ""));
    let found = exact.or_else(|| {
        SUFFIXES.iter().find_map(|&suffix| {
            let family = *families.get(name.strip_suffix(suffix)?)?;
            Some((family, suffix))
        })
    });
    let Some((family, suffix)) = found else {
        return Some(Kind::Gauge); // no declared family: untyped
    };
    Some(match (family, suffix) {
        (Family::Counter, "" | "_total")
        | (Family::Histogram, "_bucket")
        | (Family::Histogram | Family::Summary, "_count" | "_sum") => Kind::Counter,
        (_, "_created") => return None,
        _ => Kind::Gauge,
    })
}

/// Length of the metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) at the start of `text`.
fn metric_name_len(text: &str) -> usize {
    name_len(text, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b':'
    })
}

/// Length of the label name (`[a-zA-Z_][a-zA-Z0-9_]*`) at the start of `text`.
fn label_name_len(text: &str) -> usize {
    name_len(text, |b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Length of the run of `allowed` bytes at the start of `text`, 0 if it starts with a digit.
fn name_len(text: &str, allowed: impl Fn(u8) -> bool) -> usize {
    match text.as_bytes().first() {
        Some(b) if b.is_ascii_digit() => 0,
        _ => text.bytes().take_while(|&b| allowed(b)).count(),
    }
}

/// `text` without leading spaces and tabs.
fn skip_blank(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

/// The next blank-separated token (empty at the end) and the text after it,
/// itself starting at the following token.
fn token(text: &str) -> (&str, &str) {
    let text = skip_blank(text);
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    (&text[..end], skip_blank(&text[end..]))
}

#[cfg(test)]
mod tests;
