//! Secret fields of a plugin's configuration: a JSON Schema marks them
//! `"writeOnly": true` (the standard annotation for a value that is sent
//! but never shown back), on a property, on `additionalProperties` (every
//! value of a map, such as HTTP headers) or on `items`.
//!
//! The server stores them encrypted and shows them to no one; the agents
//! that run the check get them in clear, over their own connection.

use serde_json::Value;

/// What stands in for a secret wherever one is shown, and what a client
/// sends back to keep the stored value.
pub const REDACTED: &str = "[redacted]";

/// Calls `f` with the JSON Pointer (RFC 6901) and the value of every
/// secret in `config`, as `schema` marks them. Values the schema does not
/// describe are not secrets.
pub fn for_each_secret(schema: &Value, config: &mut Value, f: &mut impl FnMut(&str, &mut Value)) {
    walk(schema, config, &mut String::new(), f);
}

/// The JSON Pointers of the secrets in `config`.
pub fn secret_pointers(schema: &Value, config: &Value) -> Vec<String> {
    let mut config = config.clone();
    let mut found = Vec::new();
    for_each_secret(schema, &mut config, &mut |pointer, _| {
        found.push(pointer.to_owned())
    });
    found
}

/// Calls `f` with the JSON Pointer and the value of every string in
/// `config`, at any depth, whatever a schema says.
pub fn for_each_string(config: &mut Value, f: &mut impl FnMut(&str, &mut Value)) {
    fn walk(value: &mut Value, pointer: &mut String, f: &mut impl FnMut(&str, &mut Value)) {
        let len = pointer.len();
        match value {
            Value::String(_) => f(pointer, value),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    push_token(pointer, key);
                    walk(v, pointer, f);
                    pointer.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    walk(v, pointer, f);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(config, &mut String::new(), f);
}

/// Whether a schema marks anything secret, anywhere.
pub fn has_secrets(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("writeOnly") == Some(&Value::Bool(true)) || map.values().any(has_secrets)
        }
        Value::Array(items) => items.iter().any(has_secrets),
        _ => false,
    }
}

fn walk(
    schema: &Value,
    value: &mut Value,
    pointer: &mut String,
    f: &mut impl FnMut(&str, &mut Value),
) {
    if schema.get("writeOnly") == Some(&Value::Bool(true)) {
        f(pointer, value);
        return;
    }
    let len = pointer.len();
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let sub = schema
                    .get("properties")
                    .and_then(|p| p.get(key))
                    .or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()));
                if let Some(sub) = sub {
                    push_token(pointer, key);
                    walk(sub, v, pointer, f);
                    pointer.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for (i, v) in items.iter_mut().enumerate() {
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    walk(sub, v, pointer, f);
                    pointer.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Appends `/token`, escaped as RFC 6901 asks (`~` → `~0`, `/` → `~1`).
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "password": {"type": "string", "writeOnly": true},
                "headers": {"type": "object", "additionalProperties": {"type": "string", "writeOnly": true}},
                "accounts": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"user": {"type": "string"}, "key": {"type": "string", "writeOnly": true}}
                }},
                "pin": {"type": "integer", "writeOnly": true}
            }
        })
    }

    #[test]
    fn secrets_are_found_on_properties_maps_and_items_and_nothing_else() {
        let config = json!({
            "url": "https://a.example",
            "password": "p",
            "headers": {"Authorization": "Bearer t", "a/b~c": "x"},
            "accounts": [{"user": "u", "key": "k1"}, {"user": "v"}],
            "pin": 1234,
            "unknown": "not described"
        });
        let mut found = secret_pointers(&schema(), &config);
        found.sort();
        assert_eq!(
            found,
            [
                "/accounts/0/key",
                "/headers/Authorization",
                "/headers/a~1b~0c",
                "/password",
                "/pin"
            ]
        );
        for pointer in &found {
            assert!(config.pointer(pointer).is_some(), "{pointer} resolves");
        }
    }

    #[test]
    fn a_schema_without_write_only_has_no_secrets() {
        assert!(has_secrets(&schema()));
        assert!(!has_secrets(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}})
        ));
        assert!(secret_pointers(&json!({"type": "object"}), &json!({"password": "p"})).is_empty());
    }
}
