//! Cutting text that a plugin or a remote peer controls.
//!
//! Such text (a plugin's message, stderr, labels, a banner, an HTTP body, a
//! DNS name) may hold multi-byte characters anywhere, so it is never cut by
//! byte index: `String::truncate` and `&s[..n]` panic inside a character.
//! These helpers cut at the last character boundary that fits.
//!
//! ```
//! use vantage_protocol::text::{clip, prefix};
//!
//! assert_eq!(prefix("a€b", 2), "a");
//! let cut = clip("€".repeat(10), 8);
//! assert!(cut.len() <= 8);
//! assert_eq!(cut, "€…");
//! ```

/// The mark that ends a text [`clip`] shortened.
pub const ELLIPSIS: char = '…';

/// The longest prefix of `text` that is at most `max` bytes and ends at a
/// character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Cuts `text` to at most `max` bytes, ending it with [`ELLIPSIS`] when it
/// was shortened; the result, mark included, is never longer than `max`.
pub fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mark = ELLIPSIS.len_utf8();
    if max < mark {
        let keep = prefix(&text, max).len();
        text.truncate(keep);
        return text;
    }
    let keep = prefix(&text, max - mark).len();
    text.truncate(keep);
    text.push(ELLIPSIS);
    text
}

/// Decodes `bytes` as UTF-8 (invalid sequences become U+FFFD) and keeps at
/// most `max` bytes of the text: for banners, bodies and other peer bytes.
pub fn lossy_prefix(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    prefix(&text, max).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_inside_a_character_moves_back_to_its_start() {
        let euros = "€".repeat(1000);
        for max in 0..20 {
            let p = prefix(&euros, max);
            assert_eq!(p.len(), max / 3 * 3);
        }
    }

    #[test]
    fn clip_keeps_short_text_as_it_is() {
        assert_eq!(clip("hello".into(), 5), "hello");
        assert_eq!(clip(String::new(), 0), "");
    }

    #[test]
    fn clip_never_exceeds_its_limit_and_marks_the_cut() {
        let text = "a€😀b".repeat(300);
        for max in 0..64 {
            let cut = clip(text.clone(), max);
            assert!(cut.len() <= max, "{max}: {} bytes", cut.len());
            if max >= 3 {
                assert!(cut.ends_with(ELLIPSIS), "{max}: {cut}");
            }
            assert!(text.starts_with(cut.trim_end_matches(ELLIPSIS)));
        }
    }

    #[test]
    fn invalid_utf8_from_a_peer_is_replaced_not_a_panic() {
        let bytes = [b'o', b'k', 0xe2, 0x82];
        assert_eq!(lossy_prefix(&bytes, 100), "ok\u{fffd}");
        assert_eq!(lossy_prefix(&bytes, 3), "ok");
    }
}
