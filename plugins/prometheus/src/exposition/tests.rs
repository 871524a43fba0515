//! The parser against real exposition text, bad lines and hostile input.

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
