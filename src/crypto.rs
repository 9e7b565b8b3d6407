//! Application-level encryption of the confidential parts of the directory (SAFETY.md rule 1):
//! XChaCha20-Poly1305 with a key that lives outside the database. Postgres only ever sees the
//! sealed bytes and the id of the key that sealed them.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

mod live;
pub use live::LiveKeys;

const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// A 256-bit data key. `Debug` shows only its id.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Key for [`DataKey::keyed_hash`], derived from the data key.
    hash_key: [u8; 32],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the data key must be 32 bytes, base64-encoded")]
    Malformed,
    #[error("cannot read or create the data key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened with key {key_id}")]
pub struct OpenError {
    pub key_id: String,
}

impl DataKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != KEY_LEN {
            return Err(KeyError::Malformed);
        }
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| KeyError::Malformed)?;
        // The id names the key without revealing it: a prefix of its SHA-256.
        let digest = Sha256::digest(bytes);
        let id = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let hash_key = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(bytes)
            .map_err(|_| KeyError::Malformed)?
            .chain_update(b"haven keyed hashes v1")
            .finalize()
            .into_bytes()
            .into();
        Ok(DataKey {
            id,
            cipher,
            hash_key,
        })
    }

    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| KeyError::Malformed)?;
        DataKey::from_bytes(&bytes)
    }

    /// A fresh random key, as base64.
    pub fn generate_base64() -> String {
        let key = chacha20poly1305::Key::generate();
        BASE64.encode(key.as_slice())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// An HMAC-SHA256 to feed, keyed from this data key and `purpose`: for hashes Postgres
    /// keeps of data that may hold a sealed address (an idempotent create's body), so that a
    /// copy of the database cannot be used to check a guessed address against them.
    pub fn keyed_hash(&self, purpose: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.hash_key)
            .unwrap_or_else(|_| <Hmac<Sha256> as hmac::KeyInit>::new(&Default::default()));
        mac.update(purpose);
        mac.update(&[0]);
        mac
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the row id) so sealed values cannot
    /// be swapped between rows. Output: nonce || ciphertext.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let error = || OpenError {
            key_id: self.id.clone(),
        };
        if sealed.len() < NONCE_LEN {
            return Err(error());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| error())?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| error())
    }
}

/// The data keys a deployment holds, newest first: the first seals, any of them opens what it
/// sealed (rows store the key id). `haven keys rotate` puts a new key in front and re-seals.
#[derive(Clone, Debug)]
pub struct DataKeys {
    keys: Vec<DataKey>,
}

impl DataKeys {
    /// One base64 key per line (blank lines and `#` comments ignored); the first line is current.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(DataKey::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Malformed);
        }
        Ok(DataKeys { keys })
    }

    pub fn single(key: DataKey) -> Self {
        DataKeys { keys: vec![key] }
    }

    /// The key that seals new data.
    pub fn current(&self) -> &DataKey {
        &self.keys[0]
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(DataKey::id)
    }

    /// Every key, newest first.
    pub fn all(&self) -> impl Iterator<Item = &DataKey> {
        self.keys.iter()
    }

    /// These keys, then those of `older` they lack: a running instance that reads its key
    /// file again keeps opening what keys since dropped from it have sealed.
    pub fn keeping(mut self, older: &DataKeys) -> DataKeys {
        for key in &older.keys {
            if !self.keys.iter().any(|k| k.id() == key.id()) {
                self.keys.push(key.clone());
            }
        }
        self
    }

    /// Opens data sealed by the key named `key_id`.
    pub fn open(&self, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        self.keys
            .iter()
            .find(|k| k.id() == key_id)
            .ok_or_else(|| OpenError {
                key_id: key_id.to_string(),
            })?
            .open(sealed, context)
    }

    /// Reads the key file at `path`, creating it (mode 0600) with one new key if it is absent.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((DataKeys::parse(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                let text = format!("{}\n", DataKey::generate_base64());
                write_private(path, &text).map_err(err)?;
                Ok((DataKeys::parse(&text)?, true))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Writes a new key in front of the ones in the file at `path` and returns the new ring.
    /// The file is replaced atomically (written aside, then renamed), so a crash leaves either
    /// the old ring or the new one, and every key that sealed a stored row stays readable.
    pub fn add_new_key(path: &Path) -> Result<Self, KeyError> {
        let err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        let old = std::fs::read_to_string(path).map_err(err)?;
        DataKeys::parse(&old)?;
        let text = format!("{}\n{old}", DataKey::generate_base64());
        Self::replace_file(path, &text)?;
        DataKeys::parse(&text)
    }

    /// Keeps in the file at `path` only the keys whose ids `keep` accepts (the current key
    /// always stays).
    pub fn retain_in_file(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Self, KeyError> {
        let err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(err)?;
        let mut kept = Vec::new();
        for (i, line) in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let key = DataKey::from_base64(line)?;
            if i == 0 || keep(key.id()) {
                kept.push(line.to_string());
            }
        }
        let text = format!("{}\n", kept.join("\n"));
        Self::replace_file(path, &text)?;
        DataKeys::parse(&text)
    }

    fn replace_file(path: &Path, text: &str) -> Result<(), KeyError> {
        let err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        // Through a link, the file it names is replaced (a secrets mount, a shared volume),
        // not the link.
        let target = std::fs::canonicalize(path).map_err(err)?;
        let path = target.as_path();
        let aside = path.with_extension("key.new");
        let _ = std::fs::remove_file(&aside);
        write_private(&aside, text).map_err(err)?;
        keep_owner(path, &aside).map_err(err)?;
        std::fs::rename(&aside, path).map_err(err)?;
        // On disk before any row is sealed with the new key: a crash must not leave rows
        // that only a key lost with the page cache opens.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Gives `new` the owner, group and mode of the file at `old`, which it replaces: instances
/// may run as another user than the one who rotates, and must still read it.
#[cfg(unix)]
fn keep_owner(old: &Path, new: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(before) = std::fs::metadata(old) else {
        return Ok(());
    };
    std::os::unix::fs::chown(new, Some(before.uid()), Some(before.gid()))?;
    std::fs::set_permissions(new, before.permissions())
}

#[cfg(not(unix))]
fn keep_owner(_old: &Path, _new: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_context() {
        let key = DataKey::from_base64(&DataKey::generate_base64()).unwrap();
        let sealed = key.seal(b"12 Hidden Lane", b"row-1");
        assert!(!sealed.windows(6).any(|w| w == b"Hidden"));
        assert_eq!(key.open(&sealed, b"row-1").unwrap(), b"12 Hidden Lane");
        assert!(key.open(&sealed, b"row-2").is_err());
        let other = DataKey::from_base64(&DataKey::generate_base64()).unwrap();
        assert!(other.open(&sealed, b"row-1").is_err());
        assert_ne!(key.id(), other.id());
    }

    #[test]
    fn key_rings_open_with_any_key_and_seal_with_the_first() {
        let old = DataKey::generate_base64();
        let new = DataKey::generate_base64();
        let old_only = DataKeys::parse(&old).unwrap();
        let sealed = old_only.current().seal(b"x", b"row");
        let ring = DataKeys::parse(&format!("# rotated\n{new}\n\n{old}\n")).unwrap();
        assert_ne!(ring.current().id(), old_only.current().id());
        let old_id = old_only.current().id();
        assert_eq!(ring.open(old_id, &sealed, b"row").unwrap(), b"x");
        assert!(
            DataKeys::parse(&new)
                .unwrap()
                .open(old_id, &sealed, b"row")
                .is_err()
        );
        assert!(DataKeys::parse("# nothing\n").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_rotation_through_a_link_replaces_the_file_it_names() {
        let dir = std::env::temp_dir().join(format!("haven-key-link-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (real, link) = (dir.join("real.key"), dir.join("data.key"));
        DataKeys::load_or_create(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let ring = DataKeys::add_new_key(&link).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let (read, _) = DataKeys::load_or_create(&real).unwrap();
        assert_eq!(
            read.ids().collect::<Vec<_>>(),
            ring.ids().collect::<Vec<_>>()
        );
        assert_eq!(read.ids().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_malformed_keys() {
        assert!(DataKey::from_base64("short").is_err());
        assert!(DataKey::from_bytes(&[0u8; 16]).is_err());
    }
}
