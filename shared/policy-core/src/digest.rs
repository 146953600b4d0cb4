//! Digests as lowercase hex: rate-table hashes, body fingerprints, stored idempotency keys and
//! cache keys all print their SHA-256 the same way.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// `bytes` as lowercase hex, two characters a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// The SHA-256 of `parts`, one after another, as 64 lowercase hex characters.
pub fn sha256_hex<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_print_as_the_published_lowercase_hex() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
        // The published SHA-256 of "abc", and of nothing.
        assert_eq!(
            sha256_hex([b"a".as_slice(), b"bc".as_slice()]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
