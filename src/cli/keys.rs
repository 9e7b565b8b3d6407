//! `haven keys rotate` and `haven keys retire`: replacing the data key that seals confidential
//! addresses without ever holding a row that no key on disk can open.
//!
//! Rotation writes a new key in front of the key file first, then re-seals every row in one
//! transaction; older keys stay in the file. Running instances take the changed file before
//! they next seal or open an address, and within a quarter of a second anyway
//! (`crypto::LiveKeys`). `retire`, run once no write begun before the rotation can still be
//! under way, drops the keys no stored address or remembered create uses.

use clap::Subcommand;
use diesel::PgConnection;

use crate::config::{DataKeySource, DatabaseUrl};
use crate::crypto::DataKeys;
use crate::db::{self, idempotency, services};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new data key and re-seal every confidential address with it.
    Rotate,
    /// Remove from the key file every older key that no stored address, and no create
    /// remembered for its Idempotency-Key (a day), uses; refused within a minute of the file's
    /// last change (a write that began before a rotation could still seal with an old key).
    Retire,
}

pub fn run(url: &DatabaseUrl, source: &DataKeySource, action: &KeysCommand) -> anyhow::Result<()> {
    let DataKeySource::File(path) = source else {
        anyhow::bail!(
            "key rotation works on a key file: unset HAVEN_DATA_KEY and set HAVEN_DATA_KEY_FILE"
        );
    };
    if !path.exists() {
        anyhow::bail!("no key file at {}", path.display());
    }
    let pool = db::prepare_existing_job(url)?;
    let mut conn = pool.get()?;
    match action {
        KeysCommand::Rotate => {
            // Fail before touching the file if some row cannot be opened with the keys we hold.
            load_checked(source, &mut conn)?;
            let keys = DataKeys::add_new_key(path)?;
            let resealed = services::reseal_all(&mut conn, &keys)?;
            println!(
                "new key {} is current; {resealed} confidential locations re-sealed",
                keys.current().id()
            );
        }
        KeysCommand::Retire => {
            refuse_right_after_a_rotation(path)?;
            // Creates remembered from before key ids were kept may need any older key.
            if let Some(until) = idempotency::unkeyed_remembered_until(&mut conn)? {
                anyhow::bail!(
                    "creates remembered for their Idempotency-Key from before this version do not say which key they were hashed with: retire after {}",
                    until.format("%Y-%m-%d %H:%M UTC")
                );
            }
            // Keys sealing addresses, and keys that remembered creates' hashes are keyed
            // with (a retry must still be known for what it is on any instance).
            let mut in_use = services::key_ids_in_use(&mut conn)?;
            in_use.extend(idempotency::key_ids_in_use(&mut conn)?);
            let before: usize = DataKeys::load_or_create(path)?.0.ids().count();
            let keys = DataKeys::retain_in_file(path, |id| in_use.iter().any(|u| u == id))?;
            println!(
                "{} key(s) retired; {} kept",
                before - keys.ids().count(),
                keys.ids().count()
            );
        }
    }
    Ok(())
}

/// How long after the key file last changed `retire` waits: a write that began before a
/// rotation may still be sealing with the older key (writes have 9 seconds).
const SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// `retire` right after a `rotate` could drop the key a write under way is sealing with.
fn refuse_right_after_a_rotation(path: &std::path::Path) -> anyhow::Result<()> {
    let changed = std::fs::metadata(path)?.modified()?;
    let since = changed.elapsed().unwrap_or_default();
    if since < SETTLE {
        anyhow::bail!(
            "the key file changed {} s ago: wait until a minute has passed (a write begun before the rotation may still be sealing with an older key), then retire",
            since.as_secs()
        );
    }
    Ok(())
}

/// The data keys, refused when stored addresses were sealed with a key they do not hold. A
/// key file missing from where it is looked for would otherwise be replaced by a new key that
/// seals new addresses, while every older one stays unreadable to reveals; such a new file is
/// removed again.
pub fn load_checked(source: &DataKeySource, conn: &mut PgConnection) -> anyhow::Result<DataKeys> {
    let new_file = match source {
        DataKeySource::File(path) if !path.exists() => Some(path),
        _ => None,
    };
    let keys = source.load()?;
    let missing: Vec<String> = services::key_ids_in_use(conn)?
        .into_iter()
        .filter(|id| !keys.ids().any(|held| held == id))
        .collect();
    if missing.is_empty() {
        return Ok(keys);
    }
    let (holder, note) = match (source, new_file) {
        (DataKeySource::Inline(_), _) => ("HAVEN_DATA_KEY".to_string(), String::new()),
        (DataKeySource::File(path), Some(_)) => {
            // Nothing was sealed with it yet; leave no stray key behind.
            let _ = std::fs::remove_file(path);
            (
                format!("the key file {}", path.display()),
                " (there was no file there; none is left)".to_string(),
            )
        }
        (DataKeySource::File(path), None) => {
            (format!("the key file {}", path.display()), String::new())
        }
    };
    anyhow::bail!(
        "stored confidential addresses are sealed with data key {}, which {holder} does not hold{note}: \
         set HAVEN_DATA_KEY_FILE to the key file that sealed them, or HAVEN_DATA_KEY to its keys",
        missing.join(", ")
    )
}
