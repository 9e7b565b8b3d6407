//! Reads services from Postgres into index inputs.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use uuid::Uuid;

use super::index::{
    AddressView, CompactSchedule, OrganizationView, PhoneView, PhoneWords, ServiceInput, Site,
};
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

/// A stored schedule row as results show it; None for a time zone this build does not know.
pub fn schedule_of(row: &services::ScheduleRow) -> Option<CompactSchedule> {
    let timezone = row.timezone.parse().ok()?;
    Some(CompactSchedule::from_schedule(&Schedule {
        weekdays: row.weekdays.iter().flatten().copied().collect(),
        opens_at: row.opens_at,
        closes_at: row.closes_at,
        timezone,
    }))
}

/// Services read per query during a full load.
const PAGE: i64 = 20_000;

fn site(location: Option<LocationRow>) -> Site {
    let Some(l) = location else { return Site::None };
    if l.confidential {
        return Site::Confidential {
            front_door: AddressView::new(
                None,
                l.city.as_deref(),
                l.region.as_deref(),
                None,
                l.country.as_deref(),
            ),
        };
    }
    match (l.lat, l.lon) {
        (Some(lat), Some(lon)) => match Coordinates::new(lat, lon) {
            Ok(at) => Site::Public {
                at,
                address: AddressView::new(
                    l.street.as_deref(),
                    l.city.as_deref(),
                    l.region.as_deref(),
                    l.postal_code.as_deref(),
                    l.country.as_deref(),
                ),
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
    organization: Arc<OrganizationView>,
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
    let schedules = record.schedules.iter().filter_map(schedule_of).collect();
    ServiceInput {
        id: s.id,
        eligibility: s.eligibility(),
        capacity: s.capacity(),
        name: s.name,
        organization,
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
            .map(|p| {
                PhoneView::new(
                    PhoneWords {
                        number: &p.number,
                        label: p.label.as_deref(),
                        keyword: p.keyword.as_deref(),
                    },
                    PhoneKind::from_code(&p.kind).unwrap_or(PhoneKind::Voice),
                    p.available_24_7,
                    languages(p.languages).into_boxed_slice(),
                )
            })
            .collect(),
        schedules,
        verified_at: s.verified_at,
        demo: s.demo,
        coverage,
    }
}

/// Organizations by id, one shared record each for all their services.
fn organizations(
    conn: &mut PgConnection,
    ids: Option<&[Uuid]>,
) -> QueryResult<HashMap<Uuid, Arc<OrganizationView>>> {
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
        .map(|(id, name)| {
            let name = name.into_boxed_str();
            (id, Arc::new(OrganizationView { id, name }))
        })
        .collect())
}

/// The index inputs of the services searches may send people to: one temporarily closed or
/// no longer offered is left out, as a deleted one is.
fn inputs(
    records: Vec<ServiceRecord>,
    organizations: &HashMap<Uuid, Arc<OrganizationView>>,
    boundaries: &Boundaries,
) -> Vec<ServiceInput> {
    records
        .into_iter()
        .filter(|r| r.service.status().is_offered())
        .map(|r| {
            let id = r.service.organization_id;
            let organization = organizations.get(&id).cloned().unwrap_or_else(|| {
                Arc::new(OrganizationView {
                    id,
                    name: Box::default(),
                })
            });
            to_input(r, organization, boundaries)
        })
        .collect()
}

/// Hands every service to `sink`, page by page, and returns the change-log id the data
/// reflects; everything is read in one consistent snapshot. Between pages it stops, with an
/// error, once `wanted` says the load is no longer wanted.
pub fn load_all(
    conn: &mut PgConnection,
    boundaries: &Boundaries,
    mut sink: impl FnMut(ServiceInput),
    wanted: impl Fn() -> bool,
) -> QueryResult<i64> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            let version = change_log::latest_id(conn)?;
            let organizations = organizations(conn, None)?;
            let mut after = None;
            loop {
                let page = services::page_after(conn, after, PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some(last.service.id);
                let done = (page.len() as i64) < PAGE;
                inputs(page, &organizations, boundaries)
                    .into_iter()
                    .for_each(&mut sink);
                if done {
                    break;
                }
                // A stopping instance need not wait for the rest (a million services take a
                // minute): the load is abandoned between pages.
                if !wanted() {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(version)
        })
}

/// The services with these ids that still exist and are offered.
pub fn load_some(
    conn: &mut PgConnection,
    ids: &[Uuid],
    boundaries: &Boundaries,
) -> QueryResult<Vec<ServiceInput>> {
    let records = services::find_many(conn, ids)?;
    let orgs: Vec<Uuid> = records.iter().map(|r| r.service.organization_id).collect();
    let organizations = organizations(conn, Some(&orgs))?;
    Ok(inputs(records, &organizations, boundaries))
}
