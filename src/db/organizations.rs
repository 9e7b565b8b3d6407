//! Organization rows and the queries over them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::change_log::{self, Action, Entity};
use super::schema::{app_user, organization, service};
use crate::domain::organization::{NewOrganization, OrganizationPatch};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organization, check_for_backend(diesel::pg::Pg))]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = organization)]
struct OrganizationInsertForm<'a> {
    id: Uuid,
    name: &'a str,
    description: Option<&'a str>,
    website: Option<&'a str>,
    email: Option<&'a str>,
    demo: bool,
}

#[derive(AsChangeset)]
#[diesel(table_name = organization)]
struct OrganizationUpdateForm<'a> {
    name: Option<&'a str>,
    description: Option<Option<&'a str>>,
    website: Option<Option<&'a str>>,
    email: Option<Option<&'a str>>,
}

pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    new: &NewOrganization,
) -> QueryResult<OrganizationRow> {
    let row = insert_unlogged(conn, id, new)?;
    change_log::record(conn, Entity::Organization, id, Action::Upsert)?;
    Ok(row)
}

/// [`insert`] without its change-log entry, which the caller writes before committing.
pub fn insert_unlogged(
    conn: &mut PgConnection,
    id: Uuid,
    new: &NewOrganization,
) -> QueryResult<OrganizationRow> {
    diesel::insert_into(organization::table)
        .values(OrganizationInsertForm {
            id,
            name: &new.name,
            description: new.description.as_deref(),
            website: new.website.as_deref(),
            email: new.email.as_deref(),
            demo: new.demo,
        })
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<OrganizationRow>> {
    organization::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()
}

/// The organization if `only` (a caller's own organization) is absent or names it: the object
/// check is part of the query that loads the object.
pub fn find_visible(
    conn: &mut PgConnection,
    id: Uuid,
    only: Option<Uuid>,
) -> QueryResult<Option<OrganizationRow>> {
    let mut query = organization::table
        .find(id)
        .select(OrganizationRow::as_select())
        .into_boxed();
    if let Some(own) = only {
        query = query.filter(organization::id.eq(own));
    }
    query.first(conn).optional()
}

/// Locks the row for the rest of the transaction, so a concurrent delete cannot slip between
/// a check and the write that depends on it.
pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<OrganizationRow>> {
    organization::table
        .find(id)
        .select(OrganizationRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    patch: &OrganizationPatch,
) -> QueryResult<Option<OrganizationRow>> {
    let row = diesel::update(organization::table.find(id))
        .set((
            OrganizationUpdateForm {
                name: patch.name.as_deref(),
                description: patch.description.as_ref().map(Option::as_deref),
                website: patch.website.as_ref().map(Option::as_deref),
                email: patch.email.as_ref().map(Option::as_deref),
            },
            organization::updated_at.eq(diesel::dsl::now),
        ))
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
        .optional()?;
    if row.is_some() {
        change_log::record(conn, Entity::Organization, id, Action::Upsert)?;
    }
    Ok(row)
}

pub fn count_services(conn: &mut PgConnection, id: Uuid) -> QueryResult<i64> {
    service::table
        .filter(service::organization_id.eq(id))
        .count()
        .get_result(conn)
}

pub fn count_users(conn: &mut PgConnection, id: Uuid) -> QueryResult<i64> {
    app_user::table
        .filter(app_user::organization_id.eq(id))
        .count()
        .get_result(conn)
}

/// Deletes the organization and its API tokens; the caller first makes sure it has no services.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(organization::table.find(id)).execute(conn)? > 0;
    if deleted {
        change_log::record(conn, Entity::Organization, id, Action::Delete)?;
    }
    Ok(deleted)
}

/// Organizations whose name contains `text` (any case), by name.
pub fn search(
    conn: &mut PgConnection,
    text: &str,
    limit: i64,
) -> QueryResult<Vec<OrganizationRow>> {
    let pattern = format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    organization::table
        .filter(organization::name.ilike(pattern))
        .select(OrganizationRow::as_select())
        .order((organization::name, organization::id))
        .limit(limit)
        .load(conn)
}

/// A page of organizations; with `only`, just that one.
pub fn list(
    conn: &mut PgConnection,
    only: Option<Uuid>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<OrganizationRow>, i64)> {
    let mut count = organization::table.into_boxed();
    let mut page = organization::table
        .select(OrganizationRow::as_select())
        .into_boxed();
    if let Some(own) = only {
        count = count.filter(organization::id.eq(own));
        page = page.filter(organization::id.eq(own));
    }
    let total = count.count().get_result(conn)?;
    let rows = page
        .order((organization::name, organization::id))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}
