//! Turning what the capabilities return into sample values and messages.

/// Nanoseconds, as the capabilities report durations, in seconds.
///
/// ```
/// assert_eq!(vantage_plugin_sdk::ns_to_seconds(1_500_000), 0.0015);
/// ```
pub fn ns_to_seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// A short, printable excerpt of bytes received from a target, for messages:
/// decoded as UTF-8 (invalid sequences replaced), control characters escaped,
/// cut after `max_chars` characters with `…` marking the cut.
///
/// ```
/// use vantage_plugin_sdk::excerpt;
///
/// assert_eq!(excerpt(b"HTTP/1.1 200 OK\r\n", 64), "HTTP/1.1 200 OK\\r\\n");
/// assert_eq!(excerpt(b"abcdef", 3), "abc…");
/// ```
pub fn excerpt(bytes: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_nanoseconds() {
        assert_eq!(ns_to_seconds(0), 0.0);
        assert_eq!(ns_to_seconds(2_000_000_000), 2.0);
    }

    #[test]
    fn excerpts_are_printable_and_bounded() {
        assert_eq!(excerpt(b"", 10), "");
        assert_eq!(excerpt(b"abc", 3), "abc");
        assert_eq!(excerpt("h\u{e9}llo".as_bytes(), 2), "h\u{e9}…");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
        assert_eq!(excerpt(b"a\tb\0", 10), "a\\tb\\u{0}");
    }
}
