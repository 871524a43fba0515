//! The registry's word, held: the newest registry statement a pinned root
//! signed, kept in `<data_dir>/statement.json` (0600). An older one the
//! server offers is ignored (the server cannot roll it back, nor take back
//! a yank or a revocation by withholding the newest); once the held one
//! expires with no newer one, the agent reports its trust metadata stale.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use vantage_protocol::keys::{KeyId, PublicKey};
use vantage_protocol::statement::{
    RegistryStatement, StatementBody, StatementError, TrustMetadata,
};

/// The file of the held statement in the data folder.
pub(super) const STATEMENT_FILE: &str = "statement.json";

#[derive(Debug, Default)]
pub(super) struct Held {
    path: PathBuf,
    held: Option<(RegistryStatement, StatementBody)>,
}

impl Held {
    /// No statement yet; the first taken is stored in `data_dir`.
    pub(super) fn empty(data_dir: &Path) -> Held {
        Held {
            path: data_dir.join(STATEMENT_FILE),
            held: None,
        }
    }

    /// The statement stored in `data_dir`, checked again against `roots`.
    pub(super) fn load(data_dir: &Path, roots: &[PublicKey]) -> anyhow::Result<Held> {
        let path = data_dir.join(STATEMENT_FILE);
        let held = match crate::files::read_json::<RegistryStatement>(&path)? {
            Some(statement) => {
                let (body, _) = statement
                    .verify(roots)
                    .with_context(|| format!("{}: no pinned root signed it", path.display()))?;
                Some((statement, body))
            }
            None => None,
        };
        Ok(Held { path, held })
    }

    /// What the held statement says.
    pub(super) fn body(&self) -> Option<&StatementBody> {
        self.held.as_ref().map(|(_, b)| b)
    }

    /// The keys the held statement revokes.
    pub(super) fn revoked(&self) -> impl Iterator<Item = &KeyId> {
        self.body().into_iter().flat_map(|b| b.revoked_keys.iter())
    }

    /// Takes `offered` if one of `roots` signed it and it is newer than the
    /// held one; true when taken. An unsigned or older one is refused (the
    /// held one stays), with why.
    pub(super) fn consider(
        &mut self,
        offered: &RegistryStatement,
        roots: &[PublicKey],
    ) -> Result<bool, StatementError> {
        if self.held.as_ref().is_some_and(|(s, _)| s == offered) {
            return Ok(false);
        }
        let (body, _) = offered.verify(roots)?;
        if let Some((_, held)) = &self.held
            && body.sequence <= held.sequence
        {
            return Err(StatementError::Older {
                got: body.sequence,
                held: held.sequence,
            });
        }
        let bytes = serde_json::to_vec_pretty(offered).expect("a statement serialises");
        if let Err(e) = crate::files::write_private(&self.path, &bytes) {
            tracing::error!(error = %format!("{e:#}"), "Storing the registry statement failed; it holds until the agent stops.");
        }
        self.held = Some((offered.clone(), body));
        Ok(true)
    }

    /// How current the held statement is at `now`, for the server.
    pub(super) fn metadata(&self, now: DateTime<Utc>) -> Option<TrustMetadata> {
        self.body().map(|b| TrustMetadata {
            sequence: b.sequence,
            expires_at: b.expires_at,
            stale: b.stale(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use vantage_protocol::keys::SigningKeyPair;

    use super::*;

    fn signed(root: &SigningKeyPair, sequence: u64, expires_in: Duration) -> RegistryStatement {
        let now = Utc::now();
        RegistryStatement::sign(
            &StatementBody {
                sequence,
                issued_at: now,
                expires_at: now + expires_in,
                yanked: vec![],
                revoked_keys: vec![KeyId(format!("k{sequence}"))],
                owners: vec![],
            },
            root,
        )
    }

    #[test]
    fn only_newer_statements_a_pinned_root_signed_are_taken_and_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let rogue = SigningKeyPair::from_seed("rogue", [2; 32]);
        let roots = [root.public()];
        let mut held = Held::load(dir.path(), &roots).unwrap();
        assert!(held.metadata(Utc::now()).is_none());

        let second = signed(&root, 2, Duration::days(30));
        assert!(held.consider(&second, &roots).unwrap());
        assert!(
            !held.consider(&second, &roots).unwrap(),
            "the same again: nothing new"
        );
        assert_eq!(
            held.consider(&signed(&root, 1, Duration::days(30)), &roots)
                .unwrap_err(),
            StatementError::Older { got: 1, held: 2 }
        );
        assert_eq!(
            held.consider(&signed(&rogue, 9, Duration::days(30)), &roots)
                .unwrap_err(),
            StatementError::Unsigned
        );
        assert_eq!(held.body().unwrap().sequence, 2);
        assert_eq!(held.revoked().collect::<Vec<_>>(), [&KeyId("k2".into())]);

        let again = Held::load(dir.path(), &roots).unwrap();
        assert_eq!(again.body().unwrap().sequence, 2);
        let meta = again.metadata(Utc::now()).unwrap();
        assert!(!meta.stale);
        assert!(again.metadata(meta.expires_at).unwrap().stale);
        // A stored statement no pinned root signed is not believed.
        assert!(Held::load(dir.path(), &[rogue.public()]).is_err());
    }
}
