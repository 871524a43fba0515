//! What one replica tells the others through `NOTIFY`: small notices, a
//! line each, never the events themselves. A results notice names the
//! batch's rows (agent, time range, ids) for a listener to read back when
//! it has watchers; the rest carry all there is to say.
//!
//! A payload is the sender's origin on its first line and notices on the
//! others, at most [`MAX_PAYLOAD`] bytes: PostgreSQL refuses 8000 or more.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The most bytes of one `NOTIFY` payload.
pub const MAX_PAYLOAD: usize = 7_900;
/// Result ids one notice line names at most (37 bytes each).
const IDS_PER_LINE: usize = 150;

/// One notice.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A batch of an agent's results was stored: read them by id, their
    /// runs started within `[from, to]`.
    Results {
        agent_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        ids: Vec<Uuid>,
    },
    /// An agent sent a heartbeat.
    Agent {
        agent_id: Uuid,
        at: DateTime<Utc>,
        name: String,
    },
    /// Alerts moved.
    Alerts,
    /// Something desired states depend on changed: wake the long polls.
    Changes,
    /// Notices were lost on the way: pages re-read what they show.
    Resync,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(s.parse().ok()?)
}

impl Notice {
    /// The notice's lines (results split by [`IDS_PER_LINE`]).
    fn lines(&self) -> Vec<String> {
        match self {
            Notice::Results {
                agent_id,
                from,
                to,
                ids,
            } => ids
                .chunks(IDS_PER_LINE)
                .map(|chunk| {
                    let ids: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
                    format!(
                        "r {agent_id} {} {} {}",
                        micros(*from),
                        micros(*to),
                        ids.join(",")
                    )
                })
                .collect(),
            // A name never holds a line break (agent names are validated);
            // one that did would end the line here.
            Notice::Agent { agent_id, at, name } => {
                let name = name.lines().next().unwrap_or_default();
                vec![format!("a {agent_id} {} {name}", micros(*at))]
            }
            Notice::Alerts => vec!["alerts".into()],
            Notice::Changes => vec!["changes".into()],
            Notice::Resync => vec!["resync".into()],
        }
    }

    /// Reads one line; `None` for a line this replica does not know (a
    /// newer replica's, during an upgrade) or a damaged one.
    pub fn parse(line: &str) -> Option<Notice> {
        let mut words = line.splitn(5, ' ');
        match words.next()? {
            "r" => {
                let agent_id = words.next()?.parse().ok()?;
                let from = time(words.next()?)?;
                let to = time(words.next()?)?;
                let ids = words
                    .next()?
                    .split(',')
                    .map(|id| id.parse().ok())
                    .collect::<Option<Vec<Uuid>>>()?;
                Some(Notice::Results {
                    agent_id,
                    from,
                    to,
                    ids,
                })
            }
            "a" => {
                let agent_id = words.next()?.parse().ok()?;
                let at = time(words.next()?)?;
                let rest: Vec<&str> = words.collect();
                Some(Notice::Agent {
                    agent_id,
                    at,
                    name: rest.join(" "),
                })
            }
            "alerts" => Some(Notice::Alerts),
            "changes" => Some(Notice::Changes),
            "resync" => Some(Notice::Resync),
            _ => None,
        }
    }
}

/// Packs `notices`, in order, into payloads of at most [`MAX_PAYLOAD`]
/// bytes, each starting with `origin`'s line.
pub fn pack(origin: &str, notices: &[Notice]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for line in notices.iter().flat_map(Notice::lines) {
        if !current.is_empty() && current.len() + 1 + line.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(origin);
        }
        current.push('\n');
        current.push_str(&line);
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

/// A payload's origin and the notices this replica reads in it.
pub fn unpack(payload: &str) -> (&str, Vec<Notice>) {
    let mut lines = payload.lines();
    let origin = lines.next().unwrap_or_default();
    (origin, lines.filter_map(Notice::parse).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 123_456_000).unwrap()
    }

    #[test]
    fn every_notice_reads_back_as_it_was_sent() {
        let notices = vec![
            Notice::Results {
                agent_id: Uuid::now_v7(),
                from: at(0),
                to: at(30),
                ids: vec![Uuid::now_v7(), Uuid::now_v7()],
            },
            Notice::Agent {
                agent_id: Uuid::now_v7(),
                at: at(5),
                name: "edge 1 (rack b)".into(),
            },
            Notice::Alerts,
            Notice::Changes,
            Notice::Resync,
        ];
        let payloads = pack("origin-a", &notices);
        assert_eq!(payloads.len(), 1);
        let (origin, read) = unpack(&payloads[0]);
        assert_eq!(origin, "origin-a");
        assert_eq!(read, notices);
    }

    #[test]
    fn a_large_batch_is_split_in_order_under_the_payload_limit() {
        let agent_id = Uuid::now_v7();
        let ids: Vec<Uuid> = (0..1_000).map(|_| Uuid::now_v7()).collect();
        let mut notices = vec![Notice::Changes];
        notices.push(Notice::Results {
            agent_id,
            from: at(0),
            to: at(1),
            ids: ids.clone(),
        });
        notices.push(Notice::Alerts);
        let payloads = pack("o", &notices);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let read: Vec<Notice> = payloads.iter().flat_map(|p| unpack(p).1).collect();
        assert_eq!(read.first(), Some(&Notice::Changes));
        assert_eq!(read.last(), Some(&Notice::Alerts));
        let got: Vec<Uuid> = read
            .iter()
            .flat_map(|n| match n {
                Notice::Results { ids, .. } => ids.clone(),
                _ => vec![],
            })
            .collect();
        assert_eq!(got, ids, "every id once, in order");
    }

    #[test]
    fn unknown_or_damaged_lines_are_skipped_not_fatal() {
        let (origin, read) = unpack(
            "o\nz something new\nr not-a-uuid 1 2 x\na 0190e6f0-0000-7000-8000-000000000000 nan x\n\nchanges",
        );
        assert_eq!(origin, "o");
        assert_eq!(read, vec![Notice::Changes]);
        assert_eq!(unpack(""), ("", vec![]));
    }

    #[test]
    fn nothing_to_say_is_no_payload() {
        assert!(pack("o", &[]).is_empty());
        let empty = Notice::Results {
            agent_id: Uuid::now_v7(),
            from: at(0),
            to: at(0),
            ids: vec![],
        };
        assert!(pack("o", &[empty]).is_empty());
    }
}
