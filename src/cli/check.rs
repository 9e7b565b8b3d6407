//! `haven check confidential`: the stored directory against the rules that a confidential
//! service's coverage may not be drawn around its site (`keeps_site_hidden`) and that it keeps
//! an intake phone (`has_front_door`). Writes refuse both; rows written before the rules
//! existed are found here, to be fixed by hand.

use crate::boundaries::Boundaries;
use crate::config::{DataKeySource, DatabaseUrl};
use crate::db::{self, services};
use crate::domain::Coordinates;
use crate::domain::coverage::Coverage;
use crate::domain::service::{has_front_door, keeps_site_hidden};

/// Services read at a time, so that a national directory is not held in memory at once.
const CHUNK: usize = 1_000;

/// Prints each offending service as `<id> <field>`, never a location, then a count; an error
/// (a non-zero exit) when there is any.
pub fn confidential(url: &DatabaseUrl, source: &DataKeySource) -> anyhow::Result<()> {
    let pool = db::prepare_existing_job(url)?;
    let mut conn = pool.get()?;
    let keys = super::keys::load_checked(source, &mut conn)?;
    let ids = services::confidential_ids(&mut conn)?;
    let mut revealing = 0;
    for chunk in ids.chunks(CHUNK) {
        for record in services::find_many(&mut conn, chunk)? {
            let id = record.service.id;
            let Some(location) = &record.location else {
                continue;
            };
            let site = services::open_location(location, &keys)?;
            let site = Coordinates::new(site.lat, site.lon)
                .map_err(|e| anyhow::anyhow!("the sealed location of {id}: {e}"))?;
            let coverage = record
                .coverage
                .into_iter()
                .map(|row| Coverage::from_stored(row.spec, Boundaries::bundled()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("stored coverage of {id}: {}", e.message))?;
            let broken = [
                keeps_site_hidden(&coverage, site),
                has_front_door(&record.phones),
            ];
            for e in broken.iter().filter_map(|r| r.as_ref().err()) {
                println!("{id} {}", e.field);
            }
            if broken.iter().any(Result::is_err) {
                revealing += 1;
            }
        }
    }
    println!(
        "{} confidential services checked; {revealing} with coverage that shows where they are or no intake phone",
        ids.len()
    );
    if revealing > 0 {
        anyhow::bail!(
            "{revealing} confidential services need their coverage moved or a phone added (see docs/API.md)"
        );
    }
    Ok(())
}
