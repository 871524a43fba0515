//! `log-match`: reads what was written since the previous run to the log
//! files and journal units the check is granted (the host keeps the
//! positions, through rotation), counts the lines matching each pattern and
//! ships matched lines as events, so that an alert can fire on a count
//! (`lines_matched` summed over a window) and an operator can search the
//! lines themselves on the server.

use vantage_plugin_sdk::prelude::*;

use regex::Regex;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    units: Vec<String>,
    patterns: Vec<PatternConfig>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default = "default_max_events")]
    max_events: u32,
    #[serde(default = "default_max_lines")]
    max_lines: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternConfig {
    name: String,
    regex: String,
}

fn default_max_events() -> u32 {
    20
}

fn default_max_lines() -> u32 {
    10_000
}

/// The bytes of text one source's read may return.
const MAX_BYTES: u32 = 4 << 20;

/// What the lines are matched against.
struct Matcher {
    patterns: Vec<(String, Regex)>,
    exclude: Vec<Regex>,
}

impl Matcher {
    fn new(config: &Config) -> Result<Matcher, String> {
        let compile = |text: &str| Regex::new(text).map_err(|e| format!("`{text}`: {e}"));
        Ok(Matcher {
            patterns: config
                .patterns
                .iter()
                .map(|p| Ok((p.name.clone(), compile(&p.regex)?)))
                .collect::<Result<_, String>>()?,
            exclude: config
                .exclude
                .iter()
                .map(|e| compile(e))
                .collect::<Result<_, String>>()?,
        })
    }

    /// The indices of the patterns `line` matches (none when excluded).
    fn matches<'a>(&'a self, line: &'a str) -> impl Iterator<Item = usize> + 'a {
        let excluded = self.exclude.iter().any(|e| e.is_match(line));
        self.patterns
            .iter()
            .enumerate()
            .filter(move |(_, (_, re))| !excluded && re.is_match(line))
            .map(|(i, _)| i)
    }
}

/// What one run saw.
#[derive(Default)]
struct Tally {
    matched: Vec<u64>,
    events: Vec<events::Event>,
    dropped: u64,
    behind: u64,
    failures: Vec<String>,
    notes: Vec<String>,
}

struct LogMatch;

impl Probe for LogMatch {
    type Config = Config;

    fn run(_ctx: &Context, config: Config) -> Outcome {
        if config.files.is_empty() && config.units.is_empty() {
            return Outcome::error("no source: list files, units or both");
        }
        let matcher = match Matcher::new(&config) {
            Ok(m) => m,
            Err(e) => return Outcome::error(format!("a pattern is not a regular expression: {e}")),
        };
        let sources = config
            .files
            .iter()
            .map(|g| (g.clone(), logs::Source::Files(g.clone())))
            .chain(
                config
                    .units
                    .iter()
                    .map(|u| (format!("journal:{u}"), logs::Source::Journal(u.clone()))),
            );
        let mut tally = Tally {
            matched: vec![0; matcher.patterns.len()],
            ..Tally::default()
        };
        let mut outcome = Outcome::ok();
        for (name, source) in sources {
            let request = logs::ReadRequest {
                source,
                max_lines: config.max_lines,
                max_bytes: MAX_BYTES,
            };
            match logs::read(&request) {
                Ok(read) => {
                    outcome = outcome
                        .sample("lines_read", read.lines.len() as f64, Unit::Count)
                        .with_label("source", &name);
                    tally.behind += u64::from(read.more);
                    tally.notes.extend(read.notes);
                    tally.count(&matcher, read.lines, config.max_events);
                }
                Err(refused) => tally.failures.push(format!("{name}: {refused}")),
            }
        }
        for ((name, _), n) in matcher.patterns.iter().zip(&tally.matched) {
            outcome = outcome
                .sample("lines_matched", *n as f64, Unit::Count)
                .with_label("pattern", name);
        }
        if !tally.events.is_empty() {
            let offered = tally.events.len() as u64;
            let kept = events::emit(&tally.events);
            tally.dropped += offered - u64::from(kept).min(offered);
        }
        outcome = outcome
            .sample("events_dropped", tally.dropped as f64, Unit::Count)
            .sample("sources_behind", tally.behind as f64, Unit::Count);
        let mut message: Vec<String> = tally.failures.clone();
        message.extend(tally.notes);
        if tally.behind > 0 {
            message.push(format!(
                "{} sources had more lines than max_lines; the next run reads on",
                tally.behind
            ));
        }
        if !tally.failures.is_empty() {
            outcome = outcome.status(Status::Error);
        }
        if message.is_empty() {
            outcome
        } else {
            outcome.message(message.join("; "))
        }
    }
}

impl Tally {
    fn count(&mut self, matcher: &Matcher, lines: Vec<logs::Line>, max_events: u32) {
        for line in lines {
            let mut first = None;
            for i in matcher.matches(&line.text) {
                self.matched[i] += 1;
                first.get_or_insert(i);
            }
            let Some(pattern) = first else {
                continue;
            };
            if self.events.len() < max_events as usize {
                let pattern = matcher.patterns[pattern].0.clone();
                self.events.push(events::Event {
                    at_ms: line.at_ms,
                    labels: vec![("source".into(), line.origin), ("pattern".into(), pattern)],
                    text: line.text,
                });
            } else {
                self.dropped += 1;
            }
        }
    }
}

vantage_plugin_sdk::export_probe!(LogMatch);

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[(&str, &str)], exclude: &[&str]) -> Matcher {
        Matcher::new(&Config {
            files: vec!["/x/*.log".into()],
            units: vec![],
            patterns: patterns
                .iter()
                .map(|(n, r)| PatternConfig {
                    name: (*n).into(),
                    regex: (*r).into(),
                })
                .collect(),
            exclude: exclude.iter().map(|e| (*e).to_string()).collect(),
            max_events: 20,
            max_lines: 100,
        })
        .unwrap()
    }

    fn line(text: &str) -> logs::Line {
        logs::Line {
            origin: "/x/app.log".into(),
            text: text.into(),
            at_ms: 5,
        }
    }

    #[test]
    fn each_pattern_counts_its_lines_and_a_line_is_one_event() {
        let m = matcher(
            &[("error", "(?i)error"), ("timeout", "timed out")],
            &["healthz"],
        );
        let mut tally = Tally {
            matched: vec![0, 0],
            ..Tally::default()
        };
        let lines = [
            "ERROR db timed out",
            "error GET /healthz",
            "info fine",
            "request timed out",
        ];
        tally.count(&m, lines.iter().map(|t| line(t)).collect(), 1);
        assert_eq!(tally.matched, [1, 2]);
        assert_eq!(tally.events.len(), 1);
        assert_eq!(tally.dropped, 1);
        let e = &tally.events[0];
        assert_eq!(e.text, "ERROR db timed out");
        assert_eq!(e.labels[1], ("pattern".into(), "error".into()));
    }

    #[test]
    fn a_bad_regular_expression_is_named() {
        let config = Config {
            files: vec![],
            units: vec![],
            patterns: vec![PatternConfig {
                name: "bad".into(),
                regex: "(unclosed".into(),
            }],
            exclude: vec![],
            max_events: 0,
            max_lines: 1,
        };
        let error = Matcher::new(&config).err().unwrap();
        assert!(error.contains("(unclosed"), "{error}");
    }
}
