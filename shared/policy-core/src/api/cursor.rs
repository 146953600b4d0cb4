//! Opaque, tamper-proof list cursors: the resume key and the query it belongs to, signed with
//! HMAC-SHA256. A client can carry a cursor but cannot forge one, edit it, or replay it against a
//! different filter.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::ApiError;

/// The smallest secret accepted, in bytes.
pub use crate::settings::MIN_CURSOR_SECRET_LEN as MIN_SECRET_LEN;

/// The key cursors are signed with, from `CURSOR_SECRET`.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// `CURSOR_SECRET` is missing or too short.
#[derive(Debug, thiserror::Error)]
#[error("CURSOR_SECRET must be set to at least {MIN_SECRET_LEN} bytes")]
pub struct WeakSecret;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The query the cursor belongs to.
    q: String,
    /// Where to resume; ordered, so the same page always gets the same cursor (and cache key).
    k: BTreeMap<String, String>,
}

impl CursorKey {
    /// A key from `secret`.
    pub fn new(secret: &[u8]) -> Result<CursorKey, WeakSecret> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(WeakSecret);
        }
        Ok(CursorKey(secret.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; the length was checked when the key was made.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// A cursor that resumes `query` after `key`.
    pub fn seal(&self, query: &str, key: HashMap<String, String>) -> String {
        let payload = serde_json::to_vec(&Payload {
            q: query.to_owned(),
            k: key.into_iter().collect(),
        })
        .unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let signature = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The resume key in `cursor`, if it is genuine and belongs to `query`.
    pub fn open(&self, query: &str, cursor: &str) -> Result<HashMap<String, String>, ApiError> {
        let invalid = |detail: &str| ApiError::InvalidField {
            field: "cursor".to_owned(),
            detail: detail.to_owned(),
        };
        let (payload, signature) = cursor
            .split_once('.')
            .ok_or_else(|| invalid("the cursor is malformed"))?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| invalid("the cursor is malformed"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| invalid("the cursor is malformed"))?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&signature)
            .map_err(|_| invalid("the cursor is not one this API issued"))?;
        let payload: Payload =
            serde_json::from_slice(&payload).map_err(|_| invalid("the cursor is malformed"))?;
        if payload.q != query {
            return Err(invalid(
                "the cursor belongs to a different filter; start again without it",
            ));
        }
        Ok(payload.k.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new(&[7; 32]).unwrap()
    }

    fn resume() -> HashMap<String, String> {
        HashMap::from([("policy_number".to_owned(), "POL-2026-000001".to_owned())])
    }

    #[test]
    fn a_sealed_cursor_opens_for_its_query_only() {
        let cursor = key().seal("by_state|CA", resume());
        assert_eq!(key().open("by_state|CA", &cursor).unwrap(), resume());
        assert!(key().open("by_state|TX", &cursor).is_err());
    }

    #[test]
    fn forged_edited_and_foreign_cursors_are_refused() {
        let cursor = key().seal("q", resume());
        let (payload, signature) = cursor.split_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(br#"{"q":"q","k":{"policy_number":"POL-2026-999999"}}"#);
        for bad in [
            format!("{forged_payload}.{signature}"),
            format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            "not-a-cursor".to_owned(),
            String::new(),
            CursorKey::new(&[8; 32]).unwrap().seal("q", resume()),
        ] {
            let err = key().open("q", &bad).unwrap_err();
            assert!(
                matches!(err, ApiError::InvalidField { ref field, .. } if field == "cursor"),
                "{bad}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(CursorKey::new(b"short").is_err());
    }
}
