//! The append-only audit trail of reveals of confidential locations (SAFETY.md rule 4), and of
//! refusals that tell something of where one is. The
//! table refuses updates and deletes itself (a trigger), so only inserts and reads live here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::schema::audit_event;
use crate::auth::Principal;

pub const REVEAL_LOCATION: &str = "reveal_location";
/// The console refused an edit's coverage for being near the service's sealed site, which it
/// checked without showing it: such refusals tell something of where the site is.
pub const SEALED_SITE_CHECK: &str = "sealed_site_check_refused";

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_event, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
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
    pub fn by(caller: &'a Principal, action: &'a str, service_id: Uuid, reason: &'a str) -> Self {
        let (actor_user_id, actor_token_id) = caller.actor();
        AuditInsertForm {
            action,
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

/// Newest first, optionally for one service.
pub fn list(
    conn: &mut PgConnection,
    service_id: Option<Uuid>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let mut count = audit_event::table.into_boxed();
    let mut page = audit_event::table
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(id) = service_id {
        count = count.filter(audit_event::service_id.eq(id));
        page = page.filter(audit_event::service_id.eq(id));
    }
    let total = count.count().get_result(conn)?;
    let rows = page
        .order(audit_event::id.desc())
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}
