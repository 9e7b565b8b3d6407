//! The append-only audit trail of reveals of confidential locations (SAFETY.md rule 4), of
//! refusals that tell something of where one is, and of who wrote which services. The
//! table refuses updates and deletes itself (a trigger), so only inserts and reads live here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::schema::audit_event;
use crate::auth::Principal;

/// What a record is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    RevealLocation,
    /// The console refused an edit's coverage for being near the service's sealed site, which
    /// it checked without showing it: such refusals tell something of where the site is.
    SealedSiteCheckRefused,
    /// Writes of services through the API and the console, with the members changed (by name).
    ServiceCreated,
    ServiceReplaced,
    ServiceUpdated,
    ServiceDeleted,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::RevealLocation => "reveal_location",
            Action::SealedSiteCheckRefused => "sealed_site_check_refused",
            Action::ServiceCreated => "service_created",
            Action::ServiceReplaced => "service_replaced",
            Action::ServiceUpdated => "service_updated",
            Action::ServiceDeleted => "service_deleted",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_event, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[schema(value_type = Action)]
    pub action: String,
    pub actor_user_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    pub actor_role: String,
    pub actor_organization_id: Option<Uuid>,
    pub service_id: Uuid,
    pub reason: String,
}

#[derive(Insertable)]
#[diesel(table_name = audit_event)]
pub struct AuditInsertForm<'a> {
    pub action: &'a str,
    pub actor_user_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    pub actor_role: &'a str,
    pub actor_organization_id: Option<Uuid>,
    pub service_id: Uuid,
    pub reason: &'a str,
}

impl<'a> AuditInsertForm<'a> {
    /// `action` on service `service_id` by `caller`, for `reason`.
    pub fn by(caller: &'a Principal, action: Action, service_id: Uuid, reason: &'a str) -> Self {
        let (actor_user_id, actor_token_id) = caller.actor();
        AuditInsertForm {
            action: action.code(),
            actor_user_id,
            actor_token_id,
            actor_role: caller.role.code(),
            actor_organization_id: caller.organization_id,
            service_id,
            reason,
        }
    }
}

pub fn record(conn: &mut PgConnection, form: &AuditInsertForm<'_>) -> QueryResult<AuditRow> {
    diesel::insert_into(audit_event::table)
        .values(form)
        .returning(AuditRow::as_returning())
        .get_result(conn)
}

/// Which records a list holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub service_id: Option<Uuid>,
    pub action: Option<Action>,
}

/// Newest first, of one service or action if asked.
pub fn list(
    conn: &mut PgConnection,
    filter: ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let mut count = audit_event::table.into_boxed();
    let mut page = audit_event::table
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(id) = filter.service_id {
        count = count.filter(audit_event::service_id.eq(id));
        page = page.filter(audit_event::service_id.eq(id));
    }
    if let Some(action) = filter.action {
        count = count.filter(audit_event::action.eq(action.code()));
        page = page.filter(audit_event::action.eq(action.code()));
    }
    let total = count.count().get_result(conn)?;
    let rows = page
        .order(audit_event::id.desc())
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}
