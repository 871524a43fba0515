//! Namespace and interface names, and the sweep of namespaces whose process
//! is gone.
//!
//! A lab's namespaces are `<prefix><pid>-<node>`, or with a per-process
//! number `<prefix><pid>-<n>-<node>` when one process builds several labs at
//! once. The process id makes a name unique while its process lives, and
//! lets a later run remove what a killed one left ([`sweep_stale`]).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The longest interface name Linux takes (`IFNAMSIZ` - 1).
pub const IFNAME_MAX: usize = 15;

/// The side of a veth link: `A` holds host 1 of the link's network, `B`
/// host 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    /// The host number of this side in the link's network.
    pub fn host(self) -> u8 {
        match self {
            Side::A => 1,
            Side::B => 2,
        }
    }

    fn letter(self) -> char {
        match self {
            Side::A => 'a',
            Side::B => 'b',
        }
    }
}

/// How one lab names its namespaces and interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    prefix: String,
    pid: u32,
    instance: Option<u32>,
}

impl Names {
    /// `<prefix><pid>-<node>` for this process. `prefix` is one to three
    /// lowercase ASCII letters.
    pub fn new(prefix: &str) -> Names {
        Names::with(prefix, std::process::id(), None)
    }

    /// `<prefix><pid>-<n>-<node>`, `n` counting the labs this process
    /// numbered so far (all prefixes together).
    pub fn numbered(prefix: &str) -> Names {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Names::with(prefix, std::process::id(), Some(n))
    }

    /// The names of process `pid`, numbered `instance` if given.
    pub fn with(prefix: &str, pid: u32, instance: Option<u32>) -> Names {
        assert!(
            (1..=3).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_lowercase()),
            "a lab prefix is one to three lowercase letters, not {prefix:?}"
        );
        Names {
            prefix: prefix.to_owned(),
            pid,
            instance,
        }
    }

    /// The per-process number (0 when not numbered).
    pub fn instance(&self) -> u32 {
        self.instance.unwrap_or(0)
    }

    /// `<prefix><pid>` or `<prefix><pid>-<n>`: what every namespace name
    /// of the lab starts with, before `-<node>`.
    pub fn label(&self) -> String {
        match self.instance {
            Some(n) => format!("{}{}-{n}", self.prefix, self.pid),
            None => format!("{}{}", self.prefix, self.pid),
        }
    }

    pub fn namespace(&self, node: &str) -> String {
        format!("{}-{node}", self.label())
    }

    /// `<prefix><pid % 10000>[-<n % 100>]l<link><a|b>`: at most 15 bytes.
    /// Interfaces live only inside the lab's namespaces, so these need not
    /// be unique beyond them; the pid only tells a reader whose they are.
    pub fn interface(&self, link: u8, side: Side) -> String {
        let instance = self
            .instance
            .map(|n| format!("-{}", n % 100))
            .unwrap_or_default();
        format!(
            "{}{}{instance}l{link}{}",
            self.prefix,
            self.pid % 10_000,
            side.letter()
        )
    }
}

/// The process id in `name` if it is a namespace of a lab with `prefix`
/// and one of `nodes` (`<prefix><pid>-<node>` or `<prefix><pid>-<n>-<node>`).
pub fn lab_pid(name: &str, prefix: &str, nodes: &[&str]) -> Option<u32> {
    let (pid, rest) = name.strip_prefix(prefix)?.split_once('-')?;
    let node = match rest.split_once('-') {
        Some((n, node)) if all_digits(n) => node,
        _ => rest,
    };
    if !all_digits(pid) || !nodes.contains(&node) {
        return None;
    }
    pid.parse().ok()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Removes the namespaces of labs with `prefix` and `nodes` whose process
/// is gone (a run killed before its labs dropped); returns their names.
pub fn sweep_stale(prefix: &str, nodes: &[&str]) -> Vec<String> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = lab_pid(name, prefix, nodes) else {
            continue;
        };
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        if !alive
            && Command::new("ip")
                .args(["netns", "del", name])
                .status()
                .is_ok_and(|s| s.success())
        {
            removed.push(name.to_owned());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: [&str; 3] = ["h1", "r1", "h2"];

    #[test]
    fn namespaces_carry_prefix_pid_number_and_node() {
        let plain = Names::with("vb", 4242, None);
        assert_eq!(plain.namespace("h1"), "vb4242-h1");
        assert_eq!(plain.instance(), 0);
        let numbered = Names::with("vt", 4242, Some(3));
        assert_eq!(numbered.namespace("r2b"), "vt4242-3-r2b");
        assert_eq!(numbered.label(), "vt4242-3");
    }

    #[test]
    fn interface_names_fit_in_fifteen_bytes() {
        // The largest pid Linux hands out, the longest prefix and numbers.
        for instance in [None, Some(7), Some(99), Some(12_345)] {
            let names = Names::with("abc", 4_194_304, instance);
            for link in [1, 10, 99, 255] {
                for side in [Side::A, Side::B] {
                    let name = names.interface(link, side);
                    assert!(name.len() <= IFNAME_MAX, "{name} is too long");
                }
            }
        }
        let names = Names::with("vt", 123_456, Some(2));
        assert_eq!(names.interface(4, Side::B), "vt3456-2l4b");
        assert_ne!(names.interface(4, Side::A), names.interface(4, Side::B));
    }

    #[test]
    fn stale_names_are_recognised_only_for_the_lab_they_belong_to() {
        assert_eq!(lab_pid("vb4242-h1", "vb", &NODES), Some(4242));
        assert_eq!(lab_pid("vt4242-3-r1", "vt", &NODES), Some(4242));
        for other in [
            "vb4242-x9",    // not a node of this lab
            "vt4242-h1",    // another prefix
            "vb-drop-42-1", // no pid
            "vb42a-h1",     // not a pid
            "vb4242-3x-h1", // not a number
            "vb4242",       // no node
            "something-else",
        ] {
            assert_eq!(lab_pid(other, "vb", &NODES), None, "{other}");
        }
    }

    #[test]
    #[should_panic(expected = "one to three lowercase letters")]
    fn a_long_prefix_is_refused() {
        Names::with("vantage", 1, None);
    }
}
