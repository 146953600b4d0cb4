//! Opaque, tamper-proof list cursors: the resume key, the query it belongs to and when it expires,
//! signed with HMAC-SHA256. A client can carry a cursor but cannot forge one, edit it, replay it
//! against a different filter, or use it after [`CURSOR_LIFETIME`].
//!
//! A key has a current secret, which signs, and may have a previous one, which still opens: a
//! rotation (Secrets Manager's `AWSCURRENT` and `AWSPREVIOUS`) keeps open cursors working. Where the
//! secrets come from a source that can be read again ([`KeySource`]), a cursor signed with a secret
//! newer than this environment's makes it read the secrets again, at most once a minute.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::ApiError;

/// The smallest secret accepted, in bytes.
pub use crate::settings::MIN_CURSOR_SECRET_LEN as MIN_SECRET_LEN;

/// How long a cursor opens after it is issued.
pub const CURSOR_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The least time between two reads of the secrets from their source.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The secrets cursors are signed and opened with.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// Signs new cursors, and opens them.
    pub current: Vec<u8>,
    /// Opens cursors signed before a rotation.
    pub previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("previous", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

/// The answer of a [`KeySource`]: the secrets, or why they could not be read.
pub type Fetched<'a> = Pin<Box<dyn Future<Output = Result<Secrets, String>> + Send + 'a>>;

/// Where the secrets can be read again, such as Secrets Manager.
pub trait KeySource: Send + Sync {
    /// Reads the secrets as they are now.
    fn fetch(&self) -> Fetched<'_>;
}

/// The key cursors are signed with: the secrets, and where to read them again, if anywhere.
#[derive(Clone)]
pub struct CursorKey(Arc<Inner>);

struct Inner {
    secrets: RwLock<Secrets>,
    source: Option<Box<dyn KeySource>>,
    /// When the secrets were last read from the source.
    read_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// A cursor secret is shorter than [`MIN_SECRET_LEN`].
#[derive(Debug, thiserror::Error)]
#[error("a cursor secret must be at least {MIN_SECRET_LEN} bytes")]
pub struct WeakSecret;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The query the cursor belongs to.
    q: String,
    /// Where to resume; ordered, so the same page always gets the same resume key.
    k: BTreeMap<String, String>,
    /// When it stops opening, in seconds since the Unix epoch.
    e: u64,
}

fn check(secrets: &Secrets) -> Result<(), WeakSecret> {
    let short = |s: &[u8]| s.len() < MIN_SECRET_LEN;
    if short(&secrets.current) || secrets.previous.as_deref().is_some_and(short) {
        return Err(WeakSecret);
    }
    Ok(())
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; the length was checked when the key was made.
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn invalid(detail: &str) -> ApiError {
    ApiError::InvalidField {
        field: "cursor".to_owned(),
        detail: detail.to_owned(),
    }
}

impl CursorKey {
    /// A key from one secret that is never rotated (a local stack's).
    pub fn new(secret: &[u8]) -> Result<CursorKey, WeakSecret> {
        CursorKey::with_secrets(
            Secrets {
                current: secret.to_vec(),
                previous: None,
            },
            None,
        )
    }

    /// A key from `secrets`, read again from `source` when a cursor signed with a newer secret
    /// arrives.
    pub fn with_secrets(
        secrets: Secrets,
        source: Option<Box<dyn KeySource>>,
    ) -> Result<CursorKey, WeakSecret> {
        check(&secrets)?;
        Ok(CursorKey(Arc::new(Inner {
            secrets: RwLock::new(secrets),
            source,
            read_at: Mutex::new(Some(Instant::now())),
        })))
    }

    fn secrets(&self) -> Secrets {
        self.0
            .secrets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A cursor that resumes `query` after `key`, opening until [`CURSOR_LIFETIME`] from now.
    pub fn seal(&self, query: &str, key: HashMap<String, String>) -> String {
        self.seal_at(query, key, unix_now())
    }

    /// [`CursorKey::seal`] as if it were `now` (seconds since the Unix epoch).
    pub fn seal_at(&self, query: &str, key: HashMap<String, String>, now: u64) -> String {
        let payload = serde_json::to_vec(&Payload {
            q: query.to_owned(),
            k: key.into_iter().collect(),
            e: now.saturating_add(CURSOR_LIFETIME.as_secs()),
        })
        .unwrap_or_default();
        let mut mac = mac(&self.secrets().current);
        mac.update(&payload);
        let signature = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The payload and signature of `cursor`, if it has the shape of one.
    fn parts(cursor: &str) -> Result<(Vec<u8>, Vec<u8>), ApiError> {
        let (payload, signature) = cursor
            .split_once('.')
            .ok_or_else(|| invalid("the cursor is malformed"))?;
        let decode = |part| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| invalid("the cursor is malformed"))
        };
        Ok((decode(payload)?, decode(signature)?))
    }

    /// Whether `cursor` is signed with a secret this key holds (expired or not).
    pub fn signed(&self, cursor: &str) -> bool {
        let Ok((payload, signature)) = CursorKey::parts(cursor) else {
            return false;
        };
        let secrets = self.secrets();
        std::iter::once(&secrets.current)
            .chain(secrets.previous.as_ref())
            .any(|secret| {
                let mut mac = mac(secret);
                mac.update(&payload);
                mac.verify_slice(&signature).is_ok()
            })
    }

    /// The resume key in `cursor`, if it is genuine, unexpired and belongs to `query`.
    pub fn open(&self, query: &str, cursor: &str) -> Result<HashMap<String, String>, ApiError> {
        self.open_at(query, cursor, unix_now())
    }

    /// [`CursorKey::open`] as if it were `now` (seconds since the Unix epoch).
    pub fn open_at(
        &self,
        query: &str,
        cursor: &str,
        now: u64,
    ) -> Result<HashMap<String, String>, ApiError> {
        let (payload, _) = CursorKey::parts(cursor)?;
        if !self.signed(cursor) {
            return Err(invalid("the cursor is not one this API issued"));
        }
        let payload: Payload =
            serde_json::from_slice(&payload).map_err(|_| invalid("the cursor is malformed"))?;
        if payload.e < now {
            return Err(invalid("the cursor has expired; start again without it"));
        }
        if payload.q != query {
            return Err(invalid(
                "the cursor belongs to a different filter; start again without it",
            ));
        }
        Ok(payload.k.into_iter().collect())
    }

    /// Reads the secrets again from the source if `cursor` is signed with none this key holds, the
    /// key has a source and it was not read in the last [`REFRESH_INTERVAL`]: a cursor signed by an
    /// environment that started after a rotation. A failed read keeps the secrets held.
    pub async fn refresh_for(&self, cursor: &str) {
        let Some(source) = &self.0.source else {
            return;
        };
        if self.signed(cursor) {
            return;
        }
        {
            let mut read_at = self
                .0
                .read_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if read_at.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
                return;
            }
            *read_at = Some(Instant::now());
        }
        match source.fetch().await {
            Ok(secrets) if check(&secrets).is_ok() => {
                *self
                    .0
                    .secrets
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = secrets;
                tracing::info!("cursor secrets read again: a cursor was signed with a newer one");
            }
            Ok(_) => tracing::error!(
                "cursor secrets read again are shorter than {MIN_SECRET_LEN} bytes; kept the ones held"
            ),
            Err(err) => tracing::warn!(error = %err, "cursor secrets could not be read again"),
        }
    }
}

/// Secrets Manager as a source of the cursor secrets.
#[cfg(feature = "aws")]
impl KeySource for crate::secrets::ManagedSecret {
    fn fetch(&self) -> Fetched<'_> {
        Box::pin(async move {
            let (current, previous) = self.read().await?;
            Ok(Secrets { current, previous })
        })
    }
}

/// Why the cursor key could not be made at cold start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Where the secret comes from is not configured, or is refused.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The secret is too short.
    #[error(transparent)]
    Weak(#[from] WeakSecret),
    /// Secrets Manager did not answer with it.
    #[error("the cursor secret could not be read: {0}")]
    Unreadable(String),
}

/// The cursor key a function that pages signs with: the local stack's secret, or the Secrets
/// Manager secret's current and previous versions, read now and again after a rotation.
#[cfg(feature = "aws")]
pub async fn cursor_key(settings: &crate::settings::Settings) -> Result<CursorKey, KeyError> {
    use crate::settings::CursorSecret;
    match settings.cursor_secret()? {
        CursorSecret::Local(secret) => Ok(CursorKey::new(secret)?),
        CursorSecret::Managed(id) => {
            let source =
                crate::secrets::ManagedSecret::new(id, settings.secrets_endpoint.as_deref()).await;
            let secrets = source.fetch().await.map_err(KeyError::Unreadable)?;
            Ok(CursorKey::with_secrets(secrets, Some(Box::new(source)))?)
        }
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
        let previous_short = Secrets {
            current: vec![1; 32],
            previous: Some(b"short".to_vec()),
        };
        assert!(CursorKey::with_secrets(previous_short, None).is_err());
    }

    #[test]
    fn a_cursor_expires_after_its_lifetime() {
        let now = 1_800_000_000;
        let cursor = key().seal_at("q", resume(), now);
        let lifetime = CURSOR_LIFETIME.as_secs();
        assert_eq!(
            key().open_at("q", &cursor, now + lifetime).unwrap(),
            resume()
        );
        let err = key().open_at("q", &cursor, now + lifetime + 1).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        // The expiry is signed: moving it forward breaks the signature.
        let (payload, signature) = cursor.split_once('.').unwrap();
        let mut opened: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        opened["e"] = serde_json::json!(now + 10 * lifetime);
        let extended = format!(
            "{}.{signature}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&opened).unwrap())
        );
        let err = key()
            .open_at("q", &extended, now + lifetime + 1)
            .unwrap_err();
        assert!(err.to_string().contains("not one this API issued"), "{err}");
    }

    /// A source whose secrets a test sets, counting its reads.
    struct Rotating {
        secrets: Mutex<Secrets>,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl KeySource for Arc<Rotating> {
        fn fetch(&self) -> Fetched<'_> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let secrets = self.secrets.lock().unwrap().clone();
            Box::pin(async move { Ok(secrets) })
        }
    }

    #[tokio::test]
    async fn a_rotation_keeps_open_cursors_and_a_newer_secret_is_read_once() {
        let (old, new) = (vec![1u8; 32], vec![2u8; 32]);
        let source = Arc::new(Rotating {
            secrets: Mutex::new(Secrets {
                current: old.clone(),
                previous: None,
            }),
            reads: std::sync::atomic::AtomicUsize::new(0),
        });
        // An environment started before the rotation, and its cursor.
        let before = CursorKey::with_secrets(
            Secrets {
                current: old.clone(),
                previous: None,
            },
            Some(Box::new(Arc::clone(&source))),
        )
        .unwrap();
        let old_cursor = before.seal("q", resume());
        // The rotation: new is current, old is previous. An environment started after it opens
        // the old cursor, and signs with the new secret.
        *source.secrets.lock().unwrap() = Secrets {
            current: new.clone(),
            previous: Some(old.clone()),
        };
        let after = CursorKey::with_secrets(source.secrets.lock().unwrap().clone(), None).unwrap();
        assert_eq!(after.open("q", &old_cursor).unwrap(), resume());
        let new_cursor = after.seal("q", resume());
        // The older environment does not know the new secret until it reads the source again,
        // which a cursor it cannot verify makes it do, once.
        assert!(before.open("q", &new_cursor).is_err());
        // Read at start: a refresh is not due yet.
        before.refresh_for(&new_cursor).await;
        assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 0);
        *before.0.read_at.lock().unwrap() = None;
        before.refresh_for(&new_cursor).await;
        assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(before.open("q", &new_cursor).unwrap(), resume());
        assert_eq!(before.open("q", &old_cursor).unwrap(), resume());
        // A forged cursor cannot make it read again within the interval.
        before.refresh_for("eyJ9.AAAA").await;
        assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
