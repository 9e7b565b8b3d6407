//! Reads services from Postgres into index inputs.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use uuid::Uuid;

use super::index::{AddressView, CompactSchedule, PhoneView, ServiceInput, Site};
use super::query::NeedSet;
use crate::boundaries::Boundaries;
use crate::db::change_log;
use crate::db::schema::organization;
use crate::db::services::{self, LocationRow, ServiceRecord};
use crate::domain::coverage::Coverage;
use crate::domain::language::LanguageCode;
use crate::domain::phone::PhoneKind;
use crate::domain::schedule::Schedule;
use crate::domain::{Coordinates, Need};

/// Services read per query during a full load.
const PAGE: i64 = 20_000;

fn text(value: Option<String>) -> Option<Box<str>> {
    value.map(String::into_boxed_str)
}

fn site(location: Option<LocationRow>) -> Site {
    let Some(l) = location else { return Site::None };
    if l.confidential {
        return Site::Confidential {
            front_door: Box::new(AddressView {
                street: None,
                city: text(l.city),
                region: text(l.region),
                postal_code: None,
                country: text(l.country),
            }),
        };
    }
    match (l.lat, l.lon) {
        (Some(lat), Some(lon)) => match Coordinates::new(lat, lon) {
            Ok(at) => Site::Public {
                at,
                unit: crate::domain::coordinates::unit_vector(at),
                address: Box::new(AddressView {
                    street: text(l.street),
                    city: text(l.city),
                    region: text(l.region),
                    postal_code: text(l.postal_code),
                    country: text(l.country),
                }),
            },
            Err(_) => Site::None,
        },
        _ => Site::None,
    }
}

fn languages(values: Vec<Option<String>>) -> Vec<LanguageCode> {
    values
        .into_iter()
        .flatten()
        .filter_map(|code| LanguageCode::from_trusted(&code))
        .collect()
}

/// Turns a stored service into an index input. Stored values were validated on write; an
/// entry that no longer reads (say, a region dropped from the bundle) is skipped and logged.
pub fn to_input(
    record: ServiceRecord,
    organization_name: Arc<str>,
    boundaries: &Boundaries,
) -> ServiceInput {
    let s = record.service;
    let coverage = record
        .coverage
        .into_iter()
        .filter_map(|c| match Coverage::from_stored(c.spec, boundaries) {
            Ok(coverage) => Some(coverage),
            Err(e) => {
                tracing::warn!(service_id = %s.id, coverage_id = %c.id, reason = %e.message, "skipping unreadable coverage entry");
                None
            }
        })
        .collect();
    let schedules = record
        .schedules
        .into_iter()
        .filter_map(|row| {
            let timezone = row.timezone.parse().ok()?;
            Some(CompactSchedule::from_schedule(&Schedule {
                weekdays: row.weekdays.into_iter().flatten().collect(),
                opens_at: row.opens_at,
                closes_at: row.closes_at,
                timezone,
            }))
        })
        .collect();
    ServiceInput {
        id: s.id,
        eligibility: s.eligibility(),
        capacity: s.capacity(),
        name: s.name,
        organization_id: s.organization_id,
        organization_name,
        needs: NeedSet::of(
            &record
                .needs
                .iter()
                .filter_map(|n| Need::from_code(n))
                .collect::<Vec<_>>(),
        ),
        languages: languages(s.languages),
        site: site(record.location),
        phones: record
            .phones
            .into_iter()
            .map(|p| PhoneView {
                number: p.number.into_boxed_str(),
                kind: PhoneKind::from_code(&p.kind).unwrap_or(PhoneKind::Voice),
                label: text(p.label),
                available_24_7: p.available_24_7,
                languages: languages(p.languages).into_boxed_slice(),
            })
            .collect(),
        schedules,
        verified_at: s.verified_at,
        demo: s.demo,
        coverage,
    }
}

fn organization_names(
    conn: &mut PgConnection,
    ids: Option<&[Uuid]>,
) -> QueryResult<HashMap<Uuid, Arc<str>>> {
    let rows: Vec<(Uuid, String)> = match ids {
        Some(ids) => organization::table
            .filter(organization::id.eq_any(ids))
            .select((organization::id, organization::name))
            .load(conn)?,
        None => organization::table
            .select((organization::id, organization::name))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|(id, name)| (id, Arc::from(name)))
        .collect())
}

fn inputs(
    records: Vec<ServiceRecord>,
    names: &HashMap<Uuid, Arc<str>>,
    boundaries: &Boundaries,
) -> Vec<ServiceInput> {
    records
        .into_iter()
        .map(|r| {
            let name = names
                .get(&r.service.organization_id)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            to_input(r, name, boundaries)
        })
        .collect()
}

/// Hands every service to `sink`, page by page, and returns the change-log id the data
/// reflects; everything is read in one consistent snapshot.
pub fn load_all(
    conn: &mut PgConnection,
    boundaries: &Boundaries,
    mut sink: impl FnMut(ServiceInput),
) -> QueryResult<i64> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            let version = change_log::latest_id(conn)?;
            let names = organization_names(conn, None)?;
            let mut after = None;
            loop {
                let page = services::page_after(conn, after, PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some(last.service.id);
                let done = (page.len() as i64) < PAGE;
                inputs(page, &names, boundaries)
                    .into_iter()
                    .for_each(&mut sink);
                if done {
                    break;
                }
            }
            Ok(version)
        })
}

/// The services with these ids that still exist.
pub fn load_some(
    conn: &mut PgConnection,
    ids: &[Uuid],
    boundaries: &Boundaries,
) -> QueryResult<Vec<ServiceInput>> {
    let records = services::find_many(conn, ids)?;
    let orgs: Vec<Uuid> = records.iter().map(|r| r.service.organization_id).collect();
    let names = organization_names(conn, Some(&orgs))?;
    Ok(inputs(records, &names, boundaries))
}
