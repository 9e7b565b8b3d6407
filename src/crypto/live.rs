//! The data keys of a running instance. Keys read from a file are read again when the file
//! changes: `haven keys rotate` re-seals every confidential address with a new key while
//! instances run, and they must open those addresses (and seal new ones with the new key) at
//! once, not after a restart. A changed file is taken only if it holds every key stored
//! addresses are sealed with: another deployment's key file, put there by mistake, would
//! otherwise seal new addresses with a key that no restart of this deployment accepts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::DataKeys;

/// A file that could not be taken is looked at again after this long, changed or not (its
/// permissions put right, the rows it lacked re-sealed).
const RETRY_REFUSED: Duration = Duration::from_secs(5);

/// The keys to seal and open with now; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct LiveKeys {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The key file, when the keys came from one (keys in the environment never change).
    file: Option<PathBuf>,
    held: ArcSwap<DataKeys>,
    looked: Mutex<Looked>,
}

/// What became of the key file the last times it was looked at.
#[derive(Debug, Default)]
struct Looked {
    /// The file as it was when the keys held were read from it.
    taken: Option<Stamp>,
    /// The file as it was when it was last refused, when, and why (said once a change).
    refused: Option<(Option<Stamp>, Instant, String)>,
}

/// What tells that the key file changed: `rotate` and `retire` replace it by a rename, with
/// a key more or fewer; on Unix also its inode and change time, which an edit in place that
/// puts the old modification time back cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode_and_change: (u64, i64, i64),
}

fn stamp(file: &std::path::Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    let inode_and_change = {
        use std::os::unix::fs::MetadataExt;
        (metadata.ino(), metadata.ctime(), metadata.ctime_nsec())
    };
    #[cfg(not(unix))]
    let inode_and_change = (0, 0, 0);
    Some(Stamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode_and_change,
    })
}

impl LiveKeys {
    /// Keys that never change: given in the environment, or in tests.
    pub fn fixed(keys: DataKeys) -> Self {
        Self::new(keys, None)
    }

    /// `keys`, just read from `file`, to be read again when the file changes.
    pub fn from_file(keys: DataKeys, file: PathBuf) -> Self {
        let taken = stamp(&file);
        let live = Self::new(keys, Some(file));
        live.looked().taken = taken;
        live
    }

    fn new(keys: DataKeys, file: Option<PathBuf>) -> Self {
        LiveKeys {
            inner: Arc::new(Inner {
                file,
                held: ArcSwap::from_pointee(keys),
                looked: Mutex::default(),
            }),
        }
    }

    fn looked(&self) -> std::sync::MutexGuard<'_, Looked> {
        self.inner
            .looked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The keys held, as they are: for what opens nothing stored (keyed hashes).
    pub fn get(&self) -> Arc<DataKeys> {
        self.inner.held.load_full()
    }

    /// The keys, first taking the key file if it changed since it was read and holds every
    /// key id `needed` names (those stored addresses are sealed with). Asked before sealing
    /// or opening an address, and by the index follower a few times a second. Keys dropped
    /// from the file still open what they sealed here; a file that cannot be read, parsed,
    /// or lacks a needed key leaves the keys as they were, and is said so once.
    pub fn refreshed<E: std::fmt::Display>(
        &self,
        needed: impl FnOnce() -> Result<Vec<String>, E>,
    ) -> Arc<DataKeys> {
        let Some(file) = &self.inner.file else {
            return self.get();
        };
        let now = stamp(file);
        let mut looked = self.looked();
        if now == looked.taken {
            return self.get();
        }
        if let Some((refused, at, _)) = &looked.refused
            && *refused == now
            && at.elapsed() < RETRY_REFUSED
        {
            return self.get();
        }
        let read = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| DataKeys::parse(&text).map_err(|e| e.to_string()))
            .and_then(|read| {
                // Without the database the file cannot be checked: looked at again later.
                let needed = needed().map_err(|e| format!("cannot check it now: {e}"))?;
                match needed.iter().find(|id| !read.ids().any(|held| held == *id)) {
                    Some(missing) => Err(format!(
                        "it lacks data key {missing}, which stored addresses are sealed with"
                    )),
                    None => Ok(read),
                }
            });
        match read {
            Ok(read) => {
                let keys = Arc::new(read.keeping(&self.get()));
                self.inner.held.store(keys.clone());
                looked.taken = now;
                looked.refused = None;
                tracing::info!(
                    path = %file.display(),
                    current_key_id = keys.current().id(),
                    "data keys read again from the changed key file"
                );
                keys
            }
            Err(why) => {
                let said = looked
                    .refused
                    .as_ref()
                    .is_some_and(|(refused, _, said)| *refused == now && *said == why);
                if !said {
                    tracing::warn!(
                        path = %file.display(),
                        why = %why,
                        "the data key file changed and is not taken; keeping the keys held"
                    );
                }
                looked.refused = Some((now, Instant::now(), why));
                self.get()
            }
        }
    }

    /// [`LiveKeys::refreshed`], for sealing: refused while the key file has changed and could
    /// not be taken (why, in words), since the key in front of the keys held may no longer be
    /// in the file, and an address sealed with it would not open after a restart.
    pub fn for_sealing<E: std::fmt::Display>(
        &self,
        needed: impl FnOnce() -> Result<Vec<String>, E>,
    ) -> Result<Arc<DataKeys>, String> {
        let keys = self.refreshed(needed);
        match self.refusal() {
            Some(why) => Err(format!(
                "the data key file changed and could not be taken ({why}); new confidential addresses are not sealed until it is put right"
            )),
            None => Ok(keys),
        }
    }

    /// Why the key file, changed, is not taken, if it is not.
    pub fn refusal(&self) -> Option<String> {
        self.looked()
            .refused
            .as_ref()
            .map(|(_, _, why)| why.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    type Needed = Result<Vec<String>, String>;

    #[test]
    fn a_changed_key_file_is_taken_only_when_it_holds_the_keys_in_use() {
        let dir = std::env::temp_dir().join(format!("haven-live-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("data.key");
        let (first, _) = DataKeys::load_or_create(&file).unwrap();
        let live = LiveKeys::from_file(first.clone(), file.clone());
        let old_id = first.current().id().to_string();
        let in_use = |ids: &[&str]| -> Needed { Ok(ids.iter().map(|s| s.to_string()).collect()) };
        let sealed = first.current().seal(b"x", b"row");

        // Rotated: the new key is in front, the old one still in the file.
        let rotated = DataKeys::add_new_key(&file).unwrap();
        let now = live.refreshed(|| in_use(&[&old_id]));
        assert_eq!(now.current().id(), rotated.current().id());
        assert_eq!(now.open(&old_id, &sealed, b"row").unwrap(), b"x");

        // Retired from the file once every row is re-sealed: the old key still opens here.
        DataKeys::retain_in_file(&file, |_| false).unwrap();
        let new_id = rotated.current().id().to_string();
        let now = live.refreshed(|| in_use(&[&new_id]));
        assert_eq!(now.current().id(), new_id);
        assert_eq!(now.open(&old_id, &sealed, b"row").unwrap(), b"x");

        // Another deployment's key file: not taken, and nothing is sealed until it is put
        // right (the key in front here may be gone from the file for good).
        let kept = std::fs::read_to_string(&file).unwrap();
        assert!(live.for_sealing(|| in_use(&[&new_id])).is_ok());
        // Rewritten in place with its old modification time put back: still seen.
        #[cfg(unix)]
        {
            let before = std::fs::metadata(&file).unwrap().modified().unwrap();
            std::fs::write(&file, format!("{}\n", DataKey::generate_base64())).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_modified(before)
                .unwrap();
            assert!(live.for_sealing(|| in_use(&[&new_id])).is_err());
            std::fs::write(&file, &kept).unwrap();
        }
        // Replaced by it in the ordinary way: the same.
        std::fs::write(&file, format!("{}\n", DataKey::generate_base64())).unwrap();
        assert_eq!(live.refreshed(|| in_use(&[&new_id])).current().id(), new_id);
        assert!(live.for_sealing(|| in_use(&[&new_id])).is_err());
        // A file that does not parse, or is gone, or cannot be checked: the same.
        std::fs::write(&file, "not a key\n").unwrap();
        assert_eq!(live.refreshed(|| in_use(&[&new_id])).current().id(), new_id);
        std::fs::write(&file, &kept).unwrap();
        let unchecked = || -> Needed { Err("no database".into()) };
        assert_eq!(live.refreshed(unchecked).current().id(), new_id);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(live.refreshed(|| in_use(&[&new_id])).current().id(), new_id);

        let fixed = LiveKeys::fixed(DataKeys::parse(&DataKey::generate_base64()).unwrap());
        assert_eq!(fixed.refreshed(|| in_use(&["x"])).ids().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
