//! Secrets in check configuration (`protocol::secrets`: the fields a
//! plugin's schema marks `writeOnly`). They are sealed with the server's
//! key (ChaCha20-Poly1305, a fresh nonce each, bound to the check and the
//! field) before they are stored; opened only to resolve a check and to
//! build the desired state of the agents that run it; and shown to no
//! one: the API shows `[redacted]`, and a client sends `[redacted]` back
//! to keep the stored value.
//!
//! The key: `secrets_key_file` (32 random bytes, base64), which replicas
//! must share; with SQLite and none set, `secrets.key` beside the database
//! file, made on first start. A PostgreSQL server without one refuses secrets (422)
//! rather than seal them with a key other replicas lack.

use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde_json::Value;
use vantage_protocol::config::CheckSpec;
use vantage_protocol::secrets::{REDACTED, for_each_secret, for_each_string};

use crate::config::ServerConfig;

mod key;

pub(crate) use key::beside_database;

/// How a sealed value starts: stored configuration holds these in place
/// of secrets.
pub const SEALED: &str = "vsec1:";

const KEY_BYTES: usize = 32;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0}")]
    NoKey(String),
    #[error(
        "the secret at `{0}` does not open with this server's key (another key sealed it, or it was altered)"
    )]
    Unopened(String),
}

/// The server's key, or why it has none.
pub struct Sealer {
    key: Result<LessSafeKey, String>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The associated data of a sealed value: moving it to another check or
/// field makes it fail to open.
fn aad(check: &str, pointer: &str) -> String {
    format!("vantage check secret\0{check}\0{pointer}")
}

impl Sealer {
    /// A random key that lives as long as the process: for servers built
    /// in-process (tests), whose database lives no longer.
    pub fn ephemeral() -> Sealer {
        let rng = SystemRandom::new();
        let mut bytes = [0u8; KEY_BYTES];
        rng.fill(&mut bytes)
            .expect("the system's random source works");
        Sealer {
            key: Ok(key::key_of(&bytes).expect("32 bytes make a key")),
            rng,
        }
    }

    /// The key `config` names (see the module's documentation).
    pub fn load(config: &ServerConfig) -> anyhow::Result<Sealer> {
        Ok(Sealer {
            key: key::configured(config)?,
            rng: SystemRandom::new(),
        })
    }

    fn key(&self) -> Result<&LessSafeKey, SecretError> {
        self.key
            .as_ref()
            .map_err(|why| SecretError::NoKey(why.clone()))
    }

    fn seal(&self, aad: &str, plain: &Value) -> Result<String, SecretError> {
        let key = self.key()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut data = serde_json::to_vec(plain).expect("JSON serialises");
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut data,
        )
        .expect("sealing a small value succeeds");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        ))
    }

    fn open(&self, aad: &str, pointer: &str, sealed: &str) -> Result<Value, SecretError> {
        let key = self.key()?;
        let unopened = || SecretError::Unopened(pointer.to_owned());
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED).ok_or_else(unopened)?)
            .map_err(|_| unopened())?;
        if bytes.len() < NONCE_LEN {
            return Err(unopened());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unopened())?;
        let mut data = data.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| unopened())?;
        serde_json::from_slice(plain).map_err(|_| unopened())
    }

    /// Opens every sealed value of a stored check, in place.
    pub fn open_spec(&self, spec: &mut CheckSpec) -> Result<(), SecretError> {
        let mut failed = None;
        let name = spec.name.clone();
        for_each_string(&mut spec.config, &mut |pointer, value| {
            let Some(sealed) = value.as_str().filter(|s| s.starts_with(SEALED)) else {
                return;
            };
            match self.open(&aad(&name, pointer), pointer, sealed) {
                Ok(plain) => *value = plain,
                Err(e) => failed = failed.take().or(Some(e)),
            }
        });
        failed.map_or(Ok(()), Err)
    }

    /// Seals the secrets `schema` marks in a check an operator saves.
    /// `[redacted]` keeps what `stored` (as stored, sealed) holds there;
    /// a value equal to the stored one keeps its sealed form, so saving the
    /// same check again changes nothing. An error names the field.
    pub fn seal_spec(
        &self,
        spec: &mut CheckSpec,
        schema: &Value,
        stored: Option<&CheckSpec>,
    ) -> Result<(), (String, String)> {
        let name = spec.name.clone();
        let mut failed = None;
        for_each_secret(schema, &mut spec.config, &mut |pointer, value| {
            if failed.is_some() {
                return;
            }
            let field = format!("config{pointer}");
            let before = stored
                .and_then(|s| s.config.pointer(pointer))
                .and_then(Value::as_str)
                .filter(|s| s.starts_with(SEALED));
            let aad = aad(&name, pointer);
            if value.as_str() == Some(REDACTED) {
                match before {
                    Some(sealed) => *value = Value::String(sealed.to_owned()),
                    None => {
                        failed = Some((
                            field,
                            format!("is `{REDACTED}`, but no secret is stored there to keep"),
                        ))
                    }
                }
                return;
            }
            if value.as_str().is_some_and(|s| s.starts_with(SEALED)) {
                failed = Some((
                    field,
                    "is a sealed value: send the secret itself, or `[redacted]` to keep it".into(),
                ));
                return;
            }
            if let Some(sealed) = before
                && self.open(&aad, pointer, sealed).ok().as_ref() == Some(value)
            {
                *value = Value::String(sealed.to_owned());
                return;
            }
            match self.seal(&aad, value) {
                Ok(sealed) => *value = Value::String(sealed),
                Err(e) => failed = Some((field, e.to_string())),
            }
        });
        failed.map_or(Ok(()), Err)
    }
}

/// Fills the `[redacted]` placeholders of a check an operator saves with
/// what `stored` (opened) holds at the same place, so that it validates
/// as the check the agents will run. Returns where it filled.
pub fn fill_kept(spec: &mut CheckSpec, stored: &CheckSpec) -> Vec<String> {
    let mut filled = Vec::new();
    for_each_string(&mut spec.config, &mut |pointer, value| {
        if value.as_str() == Some(REDACTED)
            && let Some(kept) = stored.config.pointer(pointer)
        {
            *value = kept.clone();
            filled.push(pointer.to_owned());
        }
    });
    filled
}

/// Shows a stored check without its secrets: each sealed value becomes
/// `[redacted]`.
pub fn redact_spec(spec: &mut CheckSpec) {
    for_each_string(&mut spec.config, &mut |_, value| {
        if value.as_str().is_some_and(|s| s.starts_with(SEALED)) {
            *value = Value::String(REDACTED.into());
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(config: Value) -> CheckSpec {
        serde_json::from_value(json!({
            "name": "api", "plugin": "http", "targets": ["https://a.example"], "interval": "30s",
            "config": config, "grants": []
        }))
        .unwrap()
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "url": {"type": "string"},
            "headers": {"type": "object", "additionalProperties": {"type": "string", "writeOnly": true}},
            "pin": {"type": "integer", "writeOnly": true}
        }})
    }

    #[test]
    fn secrets_are_sealed_opened_and_redacted_and_the_rest_is_kept() {
        let sealer = Sealer::ephemeral();
        let plain = json!({"url": "/x", "headers": {"Authorization": "Bearer t"}, "pin": 1234});
        let mut saved = spec(plain.clone());
        sealer.seal_spec(&mut saved, &schema(), None).unwrap();
        let stored = saved.config.to_string();
        assert!(
            !stored.contains("Bearer t") && !stored.contains("1234"),
            "{stored}"
        );
        assert_eq!(saved.config["url"], "/x");

        let mut opened = saved.clone();
        sealer.open_spec(&mut opened).unwrap();
        assert_eq!(opened.config, plain);

        let mut shown = saved.clone();
        redact_spec(&mut shown);
        assert_eq!(
            shown.config,
            json!({"url": "/x", "headers": {"Authorization": REDACTED}, "pin": REDACTED})
        );
    }

    #[test]
    fn saving_again_keeps_sealed_values_and_redacted_keeps_the_stored_one() {
        let sealer = Sealer::ephemeral();
        let mut first = spec(json!({"headers": {"Authorization": "Bearer t"}, "pin": 1}));
        sealer.seal_spec(&mut first, &schema(), None).unwrap();
        // The same values: the same stored form (no new revision).
        let mut again = spec(json!({"headers": {"Authorization": "Bearer t"}, "pin": 1}));
        sealer
            .seal_spec(&mut again, &schema(), Some(&first))
            .unwrap();
        assert_eq!(again.config, first.config);
        // `[redacted]` keeps; a new value is sealed anew.
        let mut kept = spec(json!({"headers": {"Authorization": REDACTED}, "pin": 2}));
        sealer
            .seal_spec(&mut kept, &schema(), Some(&first))
            .unwrap();
        assert_eq!(kept.config["headers"], first.config["headers"]);
        assert_ne!(kept.config["pin"], first.config["pin"]);
        sealer.open_spec(&mut kept).unwrap();
        assert_eq!(
            kept.config,
            json!({"headers": {"Authorization": "Bearer t"}, "pin": 2})
        );
    }

    #[test]
    fn bad_secrets_are_named_and_moved_or_foreign_ones_do_not_open() {
        let sealer = Sealer::ephemeral();
        let mut nothing_kept = spec(json!({"pin": REDACTED}));
        let (field, why) = sealer
            .seal_spec(&mut nothing_kept, &schema(), None)
            .unwrap_err();
        assert_eq!(field, "config/pin");
        assert!(why.contains("no secret is stored"), "{why}");

        let mut saved = spec(json!({"headers": {"A": "a", "B": "b"}}));
        sealer.seal_spec(&mut saved, &schema(), None).unwrap();
        let mut pasted = spec(json!({"headers": {"A": saved.config["headers"]["A"].clone()}}));
        let (field, _) = sealer.seal_spec(&mut pasted, &schema(), None).unwrap_err();
        assert_eq!(field, "config/headers/A");

        // Swapped between fields, or under another check's name: refused.
        let mut swapped = saved.clone();
        let a = swapped.config["headers"]["A"].clone();
        swapped.config["headers"]["A"] = swapped.config["headers"]["B"].clone();
        swapped.config["headers"]["B"] = a;
        assert!(matches!(
            sealer.open_spec(&mut swapped),
            Err(SecretError::Unopened(_))
        ));
        let mut renamed = saved.clone();
        renamed.name = "other".into();
        assert!(sealer.open_spec(&mut renamed).is_err());
        // Another server's key.
        let mut foreign = saved.clone();
        assert!(Sealer::ephemeral().open_spec(&mut foreign).is_err());
    }

    #[test]
    fn a_server_without_a_key_refuses_to_seal() {
        let sealer = Sealer {
            key: Err("no key".into()),
            rng: SystemRandom::new(),
        };
        let mut s = spec(json!({"pin": 1}));
        let (field, why) = sealer.seal_spec(&mut s, &schema(), None).unwrap_err();
        assert_eq!((field.as_str(), why.as_str()), ("config/pin", "no key"));
        // Nothing secret: nothing to seal, no key needed.
        let mut plain = spec(json!({"url": "/x"}));
        sealer.seal_spec(&mut plain, &schema(), None).unwrap();
    }
}
