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
mod tests {
    use super::*;

    fn labels(series: &Series) -> Vec<(&str, &str)> {
        let pairs = series.labels.iter();
        pairs.map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// The first series named `name` that has the label `with` (`("", "")`: any).
    fn find<'a>(parsed: &'a Exposition, name: &str, with: (&str, &str)) -> &'a Series {
        let fits = |s: &&Series| s.name == name && (with.0.is_empty() || labels(s).contains(&with));
        let found = parsed.series.iter().find(fits);
        found.unwrap_or_else(|| panic!("no {name} {with:?} in {:#?}", parsed.series))
    }

    fn names(parsed: &Exposition) -> Vec<&str> {
        parsed.series.iter().map(|s| s.name.as_str()).collect()
    }

    const ANY: (&str, &str) = ("", "");

    const NODE_EXPORTER: &str = r#"# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4e-05
go_gc_duration_seconds{quantile="0.5"} 4.1e-05
go_gc_duration_seconds{quantile="1"} NaN
go_gc_duration_seconds_sum 0.123
go_gc_duration_seconds_count 1520
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 123456.78
node_cpu_seconds_total{cpu="0",mode="user"} 2345.6
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.52
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2345e+10
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 8 1395066363000
http_request_duration_seconds_bucket{handler="/metrics",le="1"} 9
http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 10
http_request_duration_seconds_sum{handler="/metrics"} 1.75
http_request_duration_seconds_count{handler="/metrics"} 10
# A free-form comment.
node_scrape_collector_success{collector="cpu"} 1
"#;

    #[test]
    fn node_exporter_output_parses_completely_with_counters_and_gauges() {
        let parsed = parse(NODE_EXPORTER);
        assert_eq!(
            (parsed.bad_lines, parsed.errors.len(), parsed.series.len()),
            (0, 0, 15)
        );
        let idle = find(&parsed, "node_cpu_seconds_total", ("mode", "idle"));
        assert_eq!(labels(idle), [("cpu", "0"), ("mode", "idle")]);
        assert_eq!((idle.value, idle.kind), (123456.78, Kind::Counter));
        let load = find(&parsed, "node_load1", ANY);
        assert_eq!((load.value, load.kind), (0.52, Kind::Gauge));
        let avail = find(&parsed, "node_filesystem_avail_bytes", ANY);
        assert_eq!((avail.value, avail.kind), (1.2345e10, Kind::Gauge));
        let untyped = find(&parsed, "node_scrape_collector_success", ANY);
        assert_eq!(untyped.kind, Kind::Gauge);
    }

    #[test]
    fn a_histogram_yields_counter_buckets_sum_and_count() {
        let parsed = parse(NODE_EXPORTER);
        let bucket = "http_request_duration_seconds_bucket";
        let inf = find(&parsed, bucket, ("le", "+Inf"));
        assert_eq!((inf.value, inf.kind), (10.0, Kind::Counter));
        let first = find(&parsed, bucket, ("le", "0.1"));
        assert_eq!(first.value, 8.0, "the timestamp is not the value");
        for suffix in ["sum", "count"] {
            let name = format!("http_request_duration_seconds_{suffix}");
            assert_eq!(find(&parsed, &name, ANY).kind, Kind::Counter);
        }
    }

    #[test]
    fn a_summary_yields_gauge_quantiles_and_counter_sum_and_count() {
        let parsed = parse(NODE_EXPORTER);
        let max = find(&parsed, "go_gc_duration_seconds", ("quantile", "1"));
        assert!(max.value.is_nan() && max.kind == Kind::Gauge);
        let median = find(&parsed, "go_gc_duration_seconds", ("quantile", "0.5"));
        assert_eq!((median.value, median.kind), (4.1e-5, Kind::Gauge));
        let sum = find(&parsed, "go_gc_duration_seconds_sum", ANY);
        let count = find(&parsed, "go_gc_duration_seconds_count", ANY);
        assert_eq!(
            (sum.kind, count.value, count.kind),
            (Kind::Counter, 1520.0, Kind::Counter)
        );
    }

    const OPENMETRICS: &str = r#"# TYPE foo counter
# UNIT foo seconds
# HELP foo Time spent in foo.
foo_total{a="1"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created{a="1"} 1520872607.123
# TYPE rpc histogram
rpc_bucket{le="0.5"} 3 # {trace_id="x y # }"} 0.4 1520879607.1
rpc_bucket{le="+Inf"} 5
rpc_count 5
rpc_sum 2.5
rpc_created 1520872607.123
# TYPE queue gaugehistogram
queue_bucket{le="+Inf"} 4
queue_gcount 4
queue_gsum 7
# TYPE build info
build_info{version="1.2"} 1
# TYPE feature stateset
feature{feature="a"} 1
# TYPE temp unknown
temp 21.5
# EOF
after_eof 1
this is not parsed
"#;

    #[test]
    fn openmetrics_drops_created_and_ignores_unit_exemplars_timestamps_and_all_after_eof() {
        let parsed = parse(OPENMETRICS);
        assert_eq!(parsed.bad_lines, 0, "{:?}", parsed.errors);
        let expected = [
            "foo_total",
            "rpc_bucket",
            "rpc_bucket",
            "rpc_count",
            "rpc_sum",
        ];
        assert_eq!(names(&parsed)[..5], expected);
        assert_eq!(names(&parsed).last(), Some(&"temp"));
        let total = find(&parsed, "foo_total", ANY);
        assert_eq!(labels(total), [("a", "1")]);
        assert_eq!((total.value, total.kind), (17.0, Kind::Counter));
        let bucket = find(&parsed, "rpc_bucket", ("le", "0.5"));
        assert_eq!((bucket.value, bucket.kind), (3.0, Kind::Counter));
    }

    #[test]
    fn openmetrics_gaugehistogram_info_stateset_and_unknown_samples_are_gauges() {
        let parsed = parse(OPENMETRICS);
        let gauges = [
            "queue_bucket",
            "queue_gcount",
            "queue_gsum",
            "build_info",
            "feature",
            "temp",
        ];
        assert_eq!(names(&parsed)[5..], gauges);
        assert!(parsed.series[5..].iter().all(|s| s.kind == Kind::Gauge));
    }

    #[test]
    fn created_samples_are_dropped_even_when_a_0_0_4_client_declares_them_as_gauges() {
        let parsed = parse(
            "# TYPE a_total counter\na_total 3\n# TYPE a_created gauge\na_created 1.6e9\n\
             # TYPE h histogram\nh_count 1\n# TYPE h_created gauge\nh_created 1.6e9\n\
             # TYPE g gauge\ng 1\ng_created 2\njobs_created 9\n",
        );
        assert_eq!(names(&parsed), ["a_total", "h_count", "g", "jobs_created"]);
        assert_eq!(parsed.series[3].kind, Kind::Gauge, "undeclared, so untyped");
    }

    #[test]
    fn the_exact_family_name_wins_and_an_unfitting_suffix_is_a_gauge() {
        let parsed = parse(
            "# TYPE x counter\n# TYPE x_count gauge\nx_count 1\nx 2\n\
             # TYPE s summary\ns_bucket{le=\"1\"} 1\n# TYPE c counter\nc_sum 1\n",
        );
        let kinds: Vec<Kind> = parsed.series.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Gauge, Kind::Counter, Kind::Gauge, Kind::Gauge]
        );
    }

    #[test]
    fn label_values_are_unescaped_and_other_escapes_kept() {
        let parsed = parse(r#"m{a="x\\y",b="q\"r",c="l\nm",d="\t",e="ü\é",f="",g="{,} #"} 1"#);
        assert_eq!(parsed.bad_lines, 0, "{:?}", parsed.errors);
        let expected = [("a", "x\\y"), ("b", "q\"r"), ("c", "l\nm"), ("d", "\\t")];
        assert_eq!(labels(&parsed.series[0])[..4], expected);
        assert_eq!(
            labels(&parsed.series[0])[4..],
            [("e", "ü\\é"), ("f", ""), ("g", "{,} #")]
        );
    }

    #[test]
    fn label_syntax_allows_empty_sets_trailing_commas_blanks_and_crlf() {
        let parsed = parse("a{} 1\nb{x=\"1\",} 2\nc { x = \"1\" , y=\"2\" }\t3\r\n\td:e\t4\t\n\n");
        assert_eq!(parsed.bad_lines, 0, "{:?}", parsed.errors);
        let values: Vec<_> = parsed
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.value))
            .collect();
        assert_eq!(values, [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d:e", 4.0)]);
        assert_eq!(labels(&parsed.series[2]), [("x", "1"), ("y", "2")]);
    }

    #[test]
    fn special_values_parse_case_insensitively() {
        let parsed = parse("a +Inf\nb -Inf\nc Inf\nd inf\ne NaN\nf nan\ng -1.5e3\nh .5\n");
        assert_eq!(parsed.bad_lines, 0, "{:?}", parsed.errors);
        let v: Vec<f64> = parsed.series.iter().map(|s| s.value).collect();
        let inf = f64::INFINITY;
        assert_eq!(v[..4], [inf, -inf, inf, inf]);
        assert!(v[4].is_nan() && v[5].is_nan());
        assert_eq!(v[6..], [-1500.0, 0.5]);
    }

    #[test]
    fn bad_lines_are_counted_and_named_without_stopping_the_parse() {
        let parsed = parse(
            "ok1 1\n1bad 1\nno_value\nno_value_labels{a=\"b\"}\nopen{a=\"b} 1\n\
             dup{a=\"1\",a=\"2\",} 1\nnan_text abc\nstamp 1 later\nok2 2\nfoo-bar 1\n\
             extra 1 2 3\n{a=\"b\"} 1\nx{1a=\"b\"} 1\nx{a=b} 1\n# TYPE y bogus\n# TYPE\nok3 3\n",
        );
        assert_eq!(names(&parsed), ["ok1", "ok2", "ok3"]);
        assert_eq!(parsed.bad_lines, 14);
        let expected = [
            "line 2: bad metric name",
            "line 3: missing value",
            "line 4: missing value",
            "line 5: unterminated quoted label value",
            "line 6: duplicate label name",
            "line 7: value is not a number",
            "line 8: timestamp is not a number",
            "line 10: bad character in metric name",
            "line 11: unexpected text after timestamp",
            "line 12: bad metric name",
            "line 13: bad label name",
            "line 14: label value is not quoted",
            "line 15: unknown metric type in TYPE",
            "line 16: bad metric name in TYPE",
        ];
        assert_eq!(parsed.errors, expected);
    }

    #[test]
    fn the_errors_list_is_capped_at_twenty() {
        let parsed = parse(&"bad line here\n".repeat(25));
        assert_eq!((parsed.bad_lines, parsed.errors.len()), (25, 20));
        assert_eq!(parsed.errors[19], "line 20: value is not a number");
    }

    #[test]
    fn garbage_input_never_panics() {
        // A fixed xorshift stream: random bytes, and random mixes of syntax characters.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"ab_:{}=\",\\ \t\n#+-.1eINnf\r\xc3\xa9";
        for round in 0..2000 {
            let len = next() % 200;
            let pick = |r: u64| {
                if round % 2 == 0 {
                    r as u8
                } else {
                    alphabet[r as usize % alphabet.len()]
                }
            };
            let bytes: Vec<u8> = (0..len).map(|_| pick(next())).collect();
            let parsed = parse(&String::from_utf8_lossy(&bytes));
            assert!(parsed.errors.len() <= MAX_ERRORS.min(parsed.bad_lines));
        }
    }

    #[test]
    fn megabyte_lines_and_unterminated_quotes_never_panic() {
        let long = "a".repeat(1 << 20);
        assert_eq!(parse(&format!("{long} 1")).series[0].name.len(), 1 << 20);
        assert_eq!(parse(&long).errors, ["line 1: missing value"]);
        let open = parse(&format!("m{{a=\"{long}\\"));
        assert_eq!(open.errors, ["line 1: unterminated quoted label value"]);
        let distinct: String = (0..100_000).map(|i| format!("l{i}=\"\",")).collect();
        assert_eq!(
            parse(&format!("m{{{distinct}}} 1")).series[0].labels.len(),
            100_000
        );
        let repeated = parse(&format!("m{{{distinct}l7=\"\"}} 1"));
        assert_eq!(repeated.errors, ["line 1: duplicate label name"]);
    }
}
