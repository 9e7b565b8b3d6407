//! The data keys of a running instance. Keys read from a file are read again whenever the
//! file changes: `haven keys rotate` re-seals every confidential address with a new key while
//! instances run, and they must open those addresses (and seal new ones with the new key) at
//! once, not after a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::DataKeys;

/// The keys to seal and open with now; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct LiveKeys {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The key file, when the keys came from one (keys in the environment never change).
    file: Option<PathBuf>,
    held: ArcSwap<Held>,
}

#[derive(Debug)]
struct Held {
    keys: Arc<DataKeys>,
    /// The file as it was when `keys` were read from it (`None`: not there).
    seen: Option<Stamp>,
}

/// What tells that the key file changed: `rotate` and `retire` replace it by a rename, with
/// a key more or fewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(file: &std::path::Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(file).ok()?;
    Some(Stamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
    })
}

impl LiveKeys {
    /// Keys that never change: given in the environment, or in tests.
    pub fn fixed(keys: DataKeys) -> Self {
        Self::new(keys, None, None)
    }

    /// `keys`, just read from `file`, to be read again when the file changes.
    pub fn from_file(keys: DataKeys, file: PathBuf) -> Self {
        let seen = stamp(&file);
        Self::new(keys, Some(file), seen)
    }

    fn new(keys: DataKeys, file: Option<PathBuf>, seen: Option<Stamp>) -> Self {
        let held = Held {
            keys: Arc::new(keys),
            seen,
        };
        LiveKeys {
            inner: Arc::new(Inner {
                file,
                held: ArcSwap::from_pointee(held),
            }),
        }
    }

    /// The keys as they are now: the key file is read again if it changed since it was last
    /// read (a `stat` per call; keys are used by writes and reveals, never by matching).
    /// Keys dropped from the file still open what they sealed here, and a file that cannot
    /// be read or parsed leaves the keys held as they were.
    pub fn get(&self) -> Arc<DataKeys> {
        let held = self.inner.held.load();
        let Some(file) = &self.inner.file else {
            return held.keys.clone();
        };
        let now = stamp(file);
        if now == held.seen {
            return held.keys.clone();
        }
        let read = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| DataKeys::parse(&text).map_err(|e| e.to_string()));
        let keys = match read {
            Ok(read) => {
                let keys = Arc::new(read.keeping(&held.keys));
                tracing::info!(
                    path = %file.display(),
                    current_key_id = keys.current().id(),
                    "data keys read again from the changed key file"
                );
                keys
            }
            Err(error) => {
                tracing::warn!(
                    path = %file.display(),
                    error,
                    "the data key file changed and cannot be read; keeping the keys held"
                );
                held.keys.clone()
            }
        };
        self.inner.held.store(Arc::new(Held {
            keys: keys.clone(),
            seen: now,
        }));
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    #[test]
    fn a_rotated_key_file_is_read_again_and_old_keys_still_open() {
        let dir = std::env::temp_dir().join(format!("haven-live-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("data.key");
        let (first, _) = DataKeys::load_or_create(&file).unwrap();
        let live = LiveKeys::from_file(first.clone(), file.clone());
        let old_id = first.current().id().to_string();
        let sealed = first.current().seal(b"x", b"row");

        let rotated = DataKeys::add_new_key(&file).unwrap();
        let now = live.get();
        assert_eq!(now.current().id(), rotated.current().id());
        assert_eq!(now.open(&old_id, &sealed, b"row").unwrap(), b"x");

        // Retired from the file, the old key still opens what it sealed here.
        DataKeys::retain_in_file(&file, |_| false).unwrap();
        let now = live.get();
        assert_eq!(now.current().id(), rotated.current().id());
        assert_eq!(now.open(&old_id, &sealed, b"row").unwrap(), b"x");

        // A file that no longer parses (or is gone) leaves the keys as they were.
        std::fs::write(&file, "not a key\n").unwrap();
        assert_eq!(live.get().current().id(), rotated.current().id());
        std::fs::remove_file(&file).unwrap();
        assert_eq!(live.get().current().id(), rotated.current().id());

        let fixed = LiveKeys::fixed(DataKeys::parse(&DataKey::generate_base64()).unwrap());
        assert_eq!(fixed.get().ids().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
