//! Service rows and their parts (needs, phones, schedules, location, coverage), written and
//! read together. Confidential locations are sealed here, before anything reaches Postgres.

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::change_log::{self, Action, Entity};
use super::schema::{coverage, location, phone, schedule, service, service_need};
use crate::boundaries::Boundaries;
use crate::crypto::{DataKey, DataKeys, LiveKeys, OpenError};
use crate::domain::eligibility::{Eligibility, Gender};
use crate::domain::phone::Phone;
use crate::domain::schedule::Schedule;
use crate::domain::service::{Location, NewService, ServicePatch, ServiceStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service, check_for_backend(diesel::pg::Pg))]
pub struct ServiceRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub min_age: Option<i16>,
    pub max_age: Option<i16>,
    pub genders: Vec<Option<String>>,
    pub accepts_unaccompanied_minors: bool,
    pub trafficking_specialized: bool,
    pub dv_specialized: bool,
    pub lgbtq_affirming: bool,
    pub no_id_required: bool,
    pub no_immigration_status_required: bool,
    pub no_law_enforcement_required: bool,
    pub accepts_children: bool,
    pub accepts_pets: bool,
    pub wheelchair_accessible: bool,
    pub languages: Vec<Option<String>>,
    pub capacity_available: Option<i32>,
    pub capacity_total: Option<i32>,
    pub capacity_reported_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: String,
}

impl ServiceRow {
    pub fn status(&self) -> ServiceStatus {
        ServiceStatus::from_stored(&self.status)
    }

    pub fn eligibility(&self) -> Eligibility {
        Eligibility {
            min_age: self.min_age.and_then(|a| u8::try_from(a).ok()),
            max_age: self.max_age.and_then(|a| u8::try_from(a).ok()),
            genders: self
                .genders
                .iter()
                .flatten()
                .filter_map(|g| Gender::from_code(g))
                .collect(),
            accepts_unaccompanied_minors: self.accepts_unaccompanied_minors,
            trafficking_specialized: self.trafficking_specialized,
            dv_specialized: self.dv_specialized,
            lgbtq_affirming: self.lgbtq_affirming,
            no_id_required: self.no_id_required,
            no_immigration_status_required: self.no_immigration_status_required,
            no_law_enforcement_required: self.no_law_enforcement_required,
            accepts_children: self.accepts_children,
            accepts_pets: self.accepts_pets,
            wheelchair_accessible: self.wheelchair_accessible,
        }
    }

    pub fn capacity(&self) -> Option<(i32, i32, DateTime<Utc>)> {
        Some((
            self.capacity_available?,
            self.capacity_total?,
            self.capacity_reported_at?,
        ))
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = service, treat_none_as_null = true, treat_none_as_default_value = false)]
struct ServiceForm<'a> {
    id: Uuid,
    organization_id: Uuid,
    name: &'a str,
    description: Option<&'a str>,
    min_age: Option<i16>,
    max_age: Option<i16>,
    genders: Vec<&'a str>,
    accepts_unaccompanied_minors: bool,
    trafficking_specialized: bool,
    dv_specialized: bool,
    lgbtq_affirming: bool,
    no_id_required: bool,
    no_immigration_status_required: bool,
    no_law_enforcement_required: bool,
    accepts_children: bool,
    accepts_pets: bool,
    wheelchair_accessible: bool,
    languages: Vec<&'a str>,
    capacity_available: Option<i32>,
    capacity_total: Option<i32>,
    capacity_reported_at: Option<DateTime<Utc>>,
    verified_at: Option<DateTime<Utc>>,
    demo: bool,
    status: &'static str,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = phone, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct PhoneRow {
    pub id: Uuid,
    pub service_id: Uuid,
    pub position: i16,
    pub number: String,
    pub kind: String,
    pub label: Option<String>,
    pub available_24_7: bool,
    pub languages: Vec<Option<String>>,
    pub keyword: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = schedule, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub service_id: Uuid,
    pub position: i16,
    pub weekdays: Vec<Option<i16>>,
    pub opens_at: NaiveTime,
    pub closes_at: NaiveTime,
    pub timezone: String,
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = location, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct LocationRow {
    pub id: Uuid,
    pub service_id: Uuid,
    pub confidential: bool,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub sealed: Option<Vec<u8>>,
    pub key_id: Option<String>,
}

impl crate::domain::service::FrontDoor {
    /// A stored location's front door: the parts of its address that are not sealed.
    pub fn of(row: &LocationRow) -> Self {
        crate::domain::service::FrontDoor {
            city: row.city.clone(),
            region: row.region.clone(),
            country: row.country.clone(),
        }
    }
}

impl std::fmt::Debug for LocationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationRow")
            .field("id", &self.id)
            .field("confidential", &self.confidential)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = coverage, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct CoverageRow {
    pub id: Uuid,
    pub service_id: Uuid,
    pub position: i16,
    pub kind: String,
    pub spec: serde_json::Value,
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// What a confidential location hides, as sealed into `location.sealed`.
#[derive(Serialize, serde::Deserialize)]
struct SealedAddress<'a> {
    street: Option<&'a str>,
    postal_code: Option<&'a str>,
    lat: f64,
    lon: f64,
}

/// A service with all its parts, as read back.
#[derive(Debug, Clone)]
pub struct ServiceRecord {
    pub service: ServiceRow,
    pub needs: Vec<String>,
    pub phones: Vec<PhoneRow>,
    pub schedules: Vec<ScheduleRow>,
    pub location: Option<LocationRow>,
    pub coverage: Vec<CoverageRow>,
}

fn position(i: usize) -> i16 {
    i16::try_from(i).unwrap_or(i16::MAX)
}

fn service_form(
    id: Uuid,
    new: &NewService,
    demo: bool,
    capacity_reported_at: DateTime<Utc>,
    status: ServiceStatus,
) -> ServiceForm<'_> {
    let e = &new.eligibility;
    ServiceForm {
        id,
        organization_id: new.organization_id,
        name: &new.name,
        description: new.description.as_deref(),
        min_age: e.min_age.map(i16::from),
        max_age: e.max_age.map(i16::from),
        genders: e.genders.iter().map(|g| g.code()).collect(),
        accepts_unaccompanied_minors: e.accepts_unaccompanied_minors,
        trafficking_specialized: e.trafficking_specialized,
        dv_specialized: e.dv_specialized,
        lgbtq_affirming: e.lgbtq_affirming,
        no_id_required: e.no_id_required,
        no_immigration_status_required: e.no_immigration_status_required,
        no_law_enforcement_required: e.no_law_enforcement_required,
        accepts_children: e.accepts_children,
        accepts_pets: e.accepts_pets,
        wheelchair_accessible: e.wheelchair_accessible,
        languages: new.languages.iter().map(|l| l.as_str()).collect(),
        capacity_available: new.capacity.map(|c| c.available),
        capacity_total: new.capacity.map(|c| c.total),
        capacity_reported_at: new.capacity.map(|_| capacity_reported_at),
        verified_at: new.verified_at,
        demo,
        status: status.code(),
    }
}

fn location_row(service_id: Uuid, loc: &Location, key: &DataKey) -> LocationRow {
    let id = Uuid::new_v4();
    let (lat, lon, street, postal_code, sealed, key_id) = if loc.confidential {
        let hidden = SealedAddress {
            street: loc.street.as_deref(),
            postal_code: loc.postal_code.as_deref(),
            lat: loc.coordinates.lat(),
            lon: loc.coordinates.lon(),
        };
        let plaintext = serde_json::to_vec(&hidden).unwrap_or_default();
        let sealed = key.seal(&plaintext, id.as_bytes());
        (
            None,
            None,
            None,
            None,
            Some(sealed),
            Some(key.id().to_string()),
        )
    } else {
        (
            Some(loc.coordinates.lat()),
            Some(loc.coordinates.lon()),
            loc.street.clone(),
            loc.postal_code.clone(),
            None,
            None,
        )
    };
    LocationRow {
        id,
        service_id,
        confidential: loc.confidential,
        lat,
        lon,
        street,
        postal_code,
        city: loc.city.clone(),
        region: loc.region.clone(),
        country: loc.country.clone(),
        sealed,
        key_id,
    }
}

#[derive(Insertable)]
#[diesel(table_name = service_need, treat_none_as_default_value = false)]
struct NeedRow {
    service_id: Uuid,
    need: &'static str,
}

/// Rows of every part of a batch of services, table by table.
#[derive(Default)]
struct Parts {
    needs: Vec<NeedRow>,
    phones: Vec<PhoneRow>,
    schedules: Vec<ScheduleRow>,
    locations: Vec<LocationRow>,
    coverage: Vec<CoverageRow>,
}

impl Parts {
    fn add(&mut self, id: Uuid, new: &NewService, key: &DataKey, boundaries: &Boundaries) {
        self.needs.extend(new.needs.iter().map(|n| NeedRow {
            service_id: id,
            need: n.code(),
        }));
        self.add_phones(id, &new.phones);
        self.add_schedules(id, &new.schedules);
        if let Some(loc) = &new.location {
            self.locations.push(location_row(id, loc, key));
        }
        self.coverage
            .extend(new.coverage.iter().enumerate().map(|(i, c)| {
                // Validated coverage always has a box; the whole world is the safe fallback.
                let b = c.bounding_box(boundaries);
                CoverageRow {
                    id: Uuid::new_v4(),
                    service_id: id,
                    position: position(i),
                    kind: c.kind().to_string(),
                    spec: c.to_json(),
                    min_lon: b.map_or(-180.0, |b| b.min_lon),
                    min_lat: b.map_or(-90.0, |b| b.min_lat),
                    max_lon: b.map_or(180.0, |b| b.max_lon),
                    max_lat: b.map_or(90.0, |b| b.max_lat),
                }
            }));
    }

    fn add_phones(&mut self, id: Uuid, phones: &[Phone]) {
        self.phones.extend(phones.iter().enumerate().map(|(i, p)| {
            PhoneRow {
                id: Uuid::new_v4(),
                service_id: id,
                position: position(i),
                number: p.number.clone(),
                kind: p.kind.code().to_string(),
                label: p.label.clone(),
                available_24_7: p.available_24_7,
                languages: p
                    .languages
                    .iter()
                    .map(|l| Some(l.as_str().to_string()))
                    .collect(),
                keyword: p.keyword.clone(),
            }
        }));
    }

    fn add_schedules(&mut self, id: Uuid, schedules: &[Schedule]) {
        self.schedules
            .extend(schedules.iter().enumerate().map(|(i, s)| ScheduleRow {
                id: Uuid::new_v4(),
                service_id: id,
                position: position(i),
                weekdays: s.weekdays.iter().copied().map(Some).collect(),
                opens_at: s.opens_at,
                closes_at: s.closes_at,
                timezone: s.timezone.name().to_string(),
            }));
    }

    /// Writes every part with one binary `COPY` per table.
    fn write(self, conn: &mut PgConnection) -> QueryResult<()> {
        if !self.needs.is_empty() {
            diesel::copy_from(service_need::table)
                .from_insertable(self.needs)
                .execute(conn)?;
        }
        if !self.phones.is_empty() {
            diesel::copy_from(phone::table)
                .from_insertable(self.phones)
                .execute(conn)?;
        }
        if !self.schedules.is_empty() {
            diesel::copy_from(schedule::table)
                .from_insertable(self.schedules)
                .execute(conn)?;
        }
        if !self.locations.is_empty() {
            diesel::copy_from(location::table)
                .from_insertable(self.locations)
                .execute(conn)?;
        }
        if !self.coverage.is_empty() {
            diesel::copy_from(coverage::table)
                .from_insertable(self.coverage)
                .execute(conn)?;
        }
        Ok(())
    }
}

/// A service to insert: its id, the parsed service, and whether it is demo data (which comes
/// from its organization).
#[derive(Clone, Copy)]
pub struct ServiceWrite<'a> {
    pub id: Uuid,
    pub service: &'a NewService,
    pub demo: bool,
}

/// Inserts services and all their parts with `COPY`, and logs each in the change log. Used for
/// one service from the API and for thousands from an import alike.
pub fn insert_many(
    conn: &mut PgConnection,
    batch: &[ServiceWrite<'_>],
    key: &DataKey,
    boundaries: &Boundaries,
) -> QueryResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<ServiceForm<'_>> = batch
        .iter()
        .map(|w| {
            let status = w.service.status.unwrap_or_default();
            service_form(w.id, w.service, w.demo, now, status)
        })
        .collect();
    diesel::copy_from(service::table)
        .from_insertable(rows)
        .execute(conn)?;
    let mut parts = Parts::default();
    for w in batch {
        parts.add(w.id, w.service, key, boundaries);
    }
    parts.write(conn)?;
    let ids: Vec<Uuid> = batch.iter().map(|w| w.id).collect();
    change_log::record_many(conn, Entity::Service, &ids, Action::Upsert)?;
    Ok(())
}

/// Inserts one service and its parts. `demo` comes from the owning organization.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    new: &NewService,
    demo: bool,
    key: &DataKey,
    boundaries: &Boundaries,
) -> QueryResult<()> {
    insert_many(
        conn,
        &[ServiceWrite {
            id,
            service: new,
            demo,
        }],
        key,
        boundaries,
    )
}

/// Beds available and in all, and when that was reported, as stored.
type StoredCapacity = (Option<i32>, Option<i32>, Option<DateTime<Utc>>);

/// Replaces a service and all its parts; false when there is no such service. A bed count
/// that did not change keeps the time it was reported: an edit of the name is not news about
/// beds. A status left out keeps the stored one.
pub fn replace(
    conn: &mut PgConnection,
    id: Uuid,
    new: &NewService,
    demo: bool,
    key: &DataKey,
    boundaries: &Boundaries,
) -> QueryResult<bool> {
    let write = ServiceWrite {
        id,
        service: new,
        demo,
    };
    if replace_many_unlogged(conn, &[write], key, boundaries)?.is_empty() {
        return Ok(false);
    }
    change_log::record(conn, Entity::Service, id, Action::Upsert)?;
    Ok(true)
}

/// As [`replace`] for many services at once (an import's batch), with each table's parts
/// deleted and written in one statement. Returns the ids of those replaced (the others do
/// not exist). The caller must log them before its transaction commits: an import logs a
/// whole batch at its end, so as to hold the directory-wide write lock only from there.
pub fn replace_many_unlogged(
    conn: &mut PgConnection,
    batch: &[ServiceWrite<'_>],
    key: &DataKey,
    boundaries: &Boundaries,
) -> QueryResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = batch.iter().map(|w| w.id).collect();
    let stored: HashMap<Uuid, (StoredCapacity, String)> = service::table
        .filter(service::id.eq_any(&ids))
        .select((
            service::id,
            (
                (
                    service::capacity_available,
                    service::capacity_total,
                    service::capacity_reported_at,
                ),
                service::status,
            ),
        ))
        .load::<(Uuid, (StoredCapacity, String))>(conn)?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut replaced = Vec::with_capacity(stored.len());
    let mut parts = Parts::default();
    for w in batch {
        let Some((old_capacity, old_status)) = stored.get(&w.id) else {
            continue;
        };
        let status = w
            .service
            .status
            .unwrap_or_else(|| ServiceStatus::from_stored(old_status));
        let reported_at = match (old_capacity, w.service.capacity) {
            ((Some(available), Some(total), Some(at)), Some(c))
                if c.available == *available && c.total == *total =>
            {
                *at
            }
            _ => now,
        };
        let updated = diesel::update(service::table.find(w.id))
            .set((
                service_form(w.id, w.service, w.demo, reported_at, status),
                service::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        // Deleted since it was read: nothing to replace.
        if updated == 1 {
            replaced.push(w.id);
            parts.add(w.id, w.service, key, boundaries);
        }
    }
    if replaced.is_empty() {
        return Ok(replaced);
    }
    diesel::delete(service_need::table.filter(service_need::service_id.eq_any(&replaced)))
        .execute(conn)?;
    diesel::delete(phone::table.filter(phone::service_id.eq_any(&replaced))).execute(conn)?;
    diesel::delete(schedule::table.filter(schedule::service_id.eq_any(&replaced))).execute(conn)?;
    diesel::delete(location::table.filter(location::service_id.eq_any(&replaced))).execute(conn)?;
    diesel::delete(coverage::table.filter(coverage::service_id.eq_any(&replaced))).execute(conn)?;
    parts.write(conn)?;
    Ok(replaced)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(service::table.find(id)).execute(conn)? > 0;
    if deleted {
        change_log::record(conn, Entity::Service, id, Action::Delete)?;
    }
    Ok(deleted)
}

/// Locks the service for the rest of the transaction if it exists and `only` (the caller's own
/// organization, for providers) is absent or owns it; returns its organization. The object
/// check is part of the query that loads the object.
pub fn lock_visible(
    conn: &mut PgConnection,
    id: Uuid,
    only: Option<Uuid>,
) -> QueryResult<Option<Uuid>> {
    // Locking clauses cannot be boxed, hence two spelled-out queries.
    let row = service::table.find(id).select(service::organization_id);
    match only {
        Some(own) => row
            .filter(service::organization_id.eq(own))
            .for_update()
            .first(conn)
            .optional(),
        None => row.for_update().first(conn).optional(),
    }
}

/// Applies a provider's day-to-day changes (phones, schedules, capacity, status) to a service
/// the caller has locked with [`lock_visible`].
pub fn patch(conn: &mut PgConnection, id: Uuid, patch: &ServicePatch) -> QueryResult<()> {
    let target = service::table.find(id);
    if let Some(status) = patch.status {
        diesel::update(target)
            .set(service::status.eq(status.code()))
            .execute(conn)?;
    }
    if let Some(capacity) = patch.capacity {
        diesel::update(target)
            .set((
                service::capacity_available.eq(capacity.available),
                service::capacity_total.eq(capacity.total),
                service::capacity_reported_at.eq(diesel::dsl::now),
                service::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set(service::updated_at.eq(diesel::dsl::now))
            .execute(conn)?;
    }
    let mut parts = Parts::default();
    if let Some(phones) = &patch.phones {
        diesel::delete(phone::table.filter(phone::service_id.eq(id))).execute(conn)?;
        parts.add_phones(id, phones);
    }
    if let Some(schedules) = &patch.schedules {
        diesel::delete(schedule::table.filter(schedule::service_id.eq(id))).execute(conn)?;
        parts.add_schedules(id, schedules);
    }
    parts.write(conn)?;
    change_log::record(conn, Entity::Service, id, Action::Upsert)
}

/// A confidential location opened for a reveal. `Debug` hides it.
#[derive(Clone, Serialize, serde::Deserialize)]
pub struct ConfidentialAddress {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

impl std::fmt::Debug for ConfidentialAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfidentialAddress([redacted])")
    }
}

/// Puts back location rows read before a replace (sealed bytes stay bound to each row's id).
pub fn restore_locations(conn: &mut PgConnection, rows: &[LocationRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(location::table)
        .values(rows)
        .execute(conn)
        .map(|_| ())
}

/// The stored coverage entries of a service the caller has locked, in their order, as
/// [`crate::domain::coverage::Coverage::to_json`] wrote them.
pub fn coverage_specs(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<serde_json::Value>> {
    coverage::table
        .filter(coverage::service_id.eq(id))
        .order(coverage::position)
        .select(coverage::spec)
        .load(conn)
}

/// When a service the caller has locked was last verified.
pub fn verified_at_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<DateTime<Utc>>> {
    service::table
        .find(id)
        .select(service::verified_at)
        .first(conn)
}

/// The location row of a service the caller has locked.
/// The service's status; None when there is no such service.
pub fn status_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ServiceStatus>> {
    let stored: Option<String> = service::table
        .find(id)
        .select(service::status)
        .first(conn)
        .optional()?;
    Ok(stored.map(|code| ServiceStatus::from_stored(&code)))
}

pub fn location_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<LocationRow>> {
    location::table
        .filter(location::service_id.eq(id))
        .select(LocationRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the services of `ids` that exist for the rest of the transaction, in id order, and
/// returns the confidential location rows among theirs, each with its service's organization.
/// Services are locked before their parts, as every writer does.
pub fn lock_confidential_locations(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, LocationRow)>> {
    service::table
        .filter(service::id.eq_any(ids))
        .order(service::id)
        .select(service::id)
        .for_update()
        .load::<Uuid>(conn)?;
    location::table
        .inner_join(service::table)
        .filter(location::service_id.eq_any(ids))
        .filter(location::confidential.eq(true))
        .select((service::organization_id, LocationRow::as_select()))
        .load(conn)
}

#[derive(Debug, thiserror::Error)]
pub enum OpenLocationError {
    #[error("the location is not confidential")]
    NotConfidential,
    #[error(transparent)]
    Key(#[from] OpenError),
    /// Without serde's message, which may quote the plaintext: this error can reach a log.
    #[error("sealed location does not decode")]
    Decode,
}

/// Opens a confidential location's sealed street, postal code and coordinates.
pub fn open_location(
    row: &LocationRow,
    keys: &DataKeys,
) -> Result<ConfidentialAddress, OpenLocationError> {
    let (Some(sealed), Some(key_id)) = (&row.sealed, &row.key_id) else {
        return Err(OpenLocationError::NotConfidential);
    };
    let plaintext = keys.open(key_id, sealed, row.id.as_bytes())?;
    serde_json::from_slice(&plaintext).map_err(|_| OpenLocationError::Decode)
}

/// Re-seals every confidential location not sealed by `keys.current()`; returns how many.
/// One transaction, so a failure leaves every row as it was.
pub fn reseal_all(conn: &mut PgConnection, keys: &DataKeys) -> Result<usize, ResealError> {
    conn.transaction(|conn| {
        let current = keys.current();
        let rows: Vec<LocationRow> = location::table
            .filter(location::confidential.eq(true))
            .filter(location::key_id.ne(current.id()))
            .select(LocationRow::as_select())
            .for_update()
            .load(conn)?;
        for row in &rows {
            let address = open_location(row, keys)?;
            let plaintext = serde_json::to_vec(&address).map_err(|_| OpenLocationError::Decode)?;
            let sealed = current.seal(&plaintext, row.id.as_bytes());
            diesel::update(location::table.find(row.id))
                .set((
                    location::sealed.eq(sealed),
                    location::key_id.eq(current.id()),
                ))
                .execute(conn)?;
        }
        Ok(rows.len())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Open(#[from] OpenLocationError),
}

/// Ids of the keys that sealed stored rows.
/// The data keys to open addresses with now: `live`'s, after taking its key file if it
/// changed and holds every key stored addresses use.
pub fn data_keys(live: &LiveKeys, conn: &mut PgConnection) -> std::sync::Arc<DataKeys> {
    live.refreshed(|| key_ids_in_use(conn))
}

/// The data keys a write needs: when it `seals` an address (a confidential location sent),
/// keys to seal with, refused (why, in words) while a changed key file is not taken; else
/// the keys held, which open a stored site it keeps.
pub fn keys_to_write(
    live: &LiveKeys,
    conn: &mut PgConnection,
    seals: bool,
) -> Result<std::sync::Arc<DataKeys>, String> {
    if seals {
        live.for_sealing(|| key_ids_in_use(conn))
    } else {
        Ok(data_keys(live, conn))
    }
}

/// Opens `row` with `live`'s keys; once more after looking at the key file again if they do
/// not open it: `haven keys rotate` may have re-sealed it between the look and the read.
pub fn open_location_now(
    row: &LocationRow,
    live: &LiveKeys,
    conn: &mut PgConnection,
) -> Result<ConfidentialAddress, OpenLocationError> {
    open_location(row, &data_keys(live, conn))
        .or_else(|_| open_location(row, &data_keys(live, conn)))
}

pub fn key_ids_in_use(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    location::table
        .filter(location::key_id.is_not_null())
        .select(location::key_id.assume_not_null())
        .distinct()
        .load(conn)
}

/// Ids of the services whose location is confidential, in order.
pub fn confidential_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    location::table
        .filter(location::confidential.eq(true))
        .order(location::service_id)
        .select(location::service_id)
        .load(conn)
}

pub fn exists(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(service::table.find(id))).get_result(conn)
}

/// Services with these ids (those that exist), with their parts.
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ServiceRecord>> {
    let rows = service::table
        .filter(service::id.eq_any(ids))
        .select(ServiceRow::as_select())
        .load(conn)?;
    with_parts(conn, rows)
}

/// Up to `limit` services after `after` in id order (keyset paging for full loads).
pub fn page_after(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ServiceRecord>> {
    let mut query = service::table
        .select(ServiceRow::as_select())
        .order(service::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service::id.gt(after));
    }
    let rows = query.load(conn)?;
    with_parts(conn, rows)
}

pub fn ids_of_organizations(
    conn: &mut PgConnection,
    organizations: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    service::table
        .filter(service::organization_id.eq_any(organizations))
        .select(service::id)
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ServiceRecord>> {
    find_visible(conn, id, None)
}

/// The service if `only` (a provider's own organization) is absent or owns it.
pub fn find_visible(
    conn: &mut PgConnection,
    id: Uuid,
    only: Option<Uuid>,
) -> QueryResult<Option<ServiceRecord>> {
    let mut query = service::table
        .find(id)
        .select(ServiceRow::as_select())
        .into_boxed();
    if let Some(own) = only {
        query = query.filter(service::organization_id.eq(own));
    }
    let Some(row) = query.first(conn).optional()? else {
        return Ok(None);
    };
    Ok(with_parts(conn, vec![row])?.pop())
}

/// Which services a list holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub organization_id: Option<Uuid>,
    pub status: Option<ServiceStatus>,
}

/// One page of services, of one organization or status if asked, in name order.
pub fn list(
    conn: &mut PgConnection,
    filter: ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ServiceRecord>, i64)> {
    let mut count = service::table.into_boxed();
    let mut page = service::table.select(ServiceRow::as_select()).into_boxed();
    if let Some(org) = filter.organization_id {
        count = count.filter(service::organization_id.eq(org));
        page = page.filter(service::organization_id.eq(org));
    }
    if let Some(status) = filter.status {
        count = count.filter(service::status.eq(status.code()));
        page = page.filter(service::status.eq(status.code()));
    }
    let total = count.count().get_result(conn)?;
    let rows = page
        .order((service::name, service::id))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((with_parts(conn, rows)?, total))
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Loads the parts of many services with one query per part.
fn with_parts(conn: &mut PgConnection, rows: Vec<ServiceRow>) -> QueryResult<Vec<ServiceRecord>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut needs = group(
        service_need::table
            .filter(service_need::service_id.eq_any(&ids))
            .order((service_need::service_id, service_need::need))
            .load::<(Uuid, String)>(conn)?,
        |(id, _)| *id,
    );
    let mut phones = group(
        phone::table
            .filter(phone::service_id.eq_any(&ids))
            .order((phone::service_id, phone::position))
            .select(PhoneRow::as_select())
            .load(conn)?,
        |p| p.service_id,
    );
    let mut schedules = group(
        schedule::table
            .filter(schedule::service_id.eq_any(&ids))
            .order((schedule::service_id, schedule::position))
            .select(ScheduleRow::as_select())
            .load(conn)?,
        |s| s.service_id,
    );
    let mut locations: HashMap<Uuid, LocationRow> = location::table
        .filter(location::service_id.eq_any(&ids))
        .select(LocationRow::as_select())
        .load::<LocationRow>(conn)?
        .into_iter()
        .map(|l| (l.service_id, l))
        .collect();
    let mut coverage = group(
        coverage::table
            .filter(coverage::service_id.eq_any(&ids))
            .order((coverage::service_id, coverage::position))
            .select(CoverageRow::as_select())
            .load(conn)?,
        |c| c.service_id,
    );
    Ok(rows
        .into_iter()
        .map(|service| {
            let id = service.id;
            ServiceRecord {
                needs: needs
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(_, n)| n)
                    .collect(),
                phones: phones.remove(&id).unwrap_or_default(),
                schedules: schedules.remove(&id).unwrap_or_default(),
                location: locations.remove(&id),
                coverage: coverage.remove(&id).unwrap_or_default(),
                service,
            }
        })
        .collect())
}
