//! The `expect_status` setting: status codes (`200`) and classes (`"2xx"`).

use serde::Deserialize;

/// One accepted status: a code or a class such as `"2xx"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ExpectStatus {
    Code(u16),
    Class(String),
}

impl ExpectStatus {
    /// Whether `status` is accepted; a class that is not `1xx`–`5xx` accepts nothing.
    fn accepts(&self, status: u16) -> bool {
        match self {
            ExpectStatus::Code(code) => *code == status,
            ExpectStatus::Class(class) => match class.as_bytes() {
                [digit @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                    status / 100 == u16::from(digit - b'0')
                }
                _ => false,
            },
        }
    }
}

/// Whether `status` is one of `expected`; nothing configured accepts any 2xx or 3xx.
pub(crate) fn accepted(expected: &[ExpectStatus], status: u16) -> bool {
    if expected.is_empty() {
        (200..400).contains(&status)
    } else {
        expected.iter().any(|e| e.accepts(status))
    }
}

/// The accepted statuses for a message: `200, 2xx` or `2xx or 3xx`.
pub(crate) fn describe(expected: &[ExpectStatus]) -> String {
    if expected.is_empty() {
        return "2xx or 3xx".to_owned();
    }
    let names: Vec<String> = expected
        .iter()
        .map(|e| match e {
            ExpectStatus::Code(code) => code.to_string(),
            ExpectStatus::Class(class) => class.clone(),
        })
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<ExpectStatus> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn codes_and_classes_match() {
        let expected = parse(r#"[204, "3xx"]"#);
        assert!(accepted(&expected, 204));
        assert!(accepted(&expected, 301));
        assert!(!accepted(&expected, 200));
        assert!(!accepted(&parse(r#"["6xx", "2x"]"#), 200));
        assert_eq!(describe(&expected), "204, 3xx");
    }

    #[test]
    fn the_default_accepts_success_and_redirects() {
        assert!(accepted(&[], 200));
        assert!(accepted(&[], 399));
        assert!(!accepted(&[], 404));
        assert_eq!(describe(&[]), "2xx or 3xx");
    }
}
