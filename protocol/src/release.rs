//! Release artefacts' signatures: `SHA256SUMS` (one `<hex>  <file>` line per
//! artefact) signed with an ed25519 release key into `SHA256SUMS.sig`, a
//! JSON [`Signature`]. The message is domain-separated, so no other
//! signature of the same key (a package, a statement) can stand for one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::keys::{PublicKey, SigningKeyPair};
use crate::package::Signature;

const CONTEXT: &[u8] = b"vantage-release-sums-v1\n";

fn message(sums: &[u8]) -> Vec<u8> {
    [CONTEXT, sums].concat()
}

/// Signs the text of a `SHA256SUMS` file.
pub fn sign_sums(key: &SigningKeyPair, sums: &[u8]) -> Signature {
    Signature {
        key_id: key.public().id(),
        signature: B64.encode(key.sign(&message(sums))),
    }
}

/// Whether `signature` is `key`'s over the text of a `SHA256SUMS` file.
pub fn verify_sums(key: &PublicKey, sums: &[u8], signature: &Signature) -> bool {
    let Ok(bytes) = B64.decode(&signature.signature) else {
        return false;
    };
    let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
        return false;
    };
    signature.key_id == key.id() && key.verify(&message(sums), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_sums_and_key_only() {
        let key = SigningKeyPair::generate("release");
        let sums = b"00ff  vantage-0.1.0-x86_64-unknown-linux-gnu.tar.gz\n";
        let sig = sign_sums(&key, sums);
        assert!(verify_sums(&key.public(), sums, &sig));
        assert!(!verify_sums(&key.public(), b"00fe  x\n", &sig));
        let other = SigningKeyPair::generate("other");
        assert!(!verify_sums(&other.public(), sums, &sig));
        // A plain signature over the same bytes is not a release signature.
        let plain = Signature {
            key_id: key.public().id(),
            signature: B64.encode(key.sign(sums)),
        };
        assert!(!verify_sums(&key.public(), sums, &plain));
    }
}
