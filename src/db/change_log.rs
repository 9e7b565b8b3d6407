//! The change log every directory write appends to, in the write's own transaction; an
//! insert trigger `NOTIFY`s `haven_change_log` so matching indexes can follow.

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::change_log;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Organization,
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upsert,
    Delete,
}

pub fn record(
    conn: &mut PgConnection,
    entity: Entity,
    entity_id: Uuid,
    action: Action,
) -> QueryResult<i64> {
    let entity = match entity {
        Entity::Organization => "organization",
        Entity::Service => "service",
    };
    let action = match action {
        Action::Upsert => "upsert",
        Action::Delete => "delete",
    };
    diesel::insert_into(change_log::table)
        .values((
            change_log::entity.eq(entity),
            change_log::entity_id.eq(entity_id),
            change_log::action.eq(action),
        ))
        .returning(change_log::id)
        .get_result(conn)
}

/// The newest change id, or 0 for an empty log.
pub fn latest_id(conn: &mut PgConnection) -> QueryResult<i64> {
    change_log::table
        .select(diesel::dsl::max(change_log::id))
        .first::<Option<i64>>(conn)
        .map(|id| id.unwrap_or(0))
}

#[derive(Debug, Clone, Queryable)]
pub struct Change {
    pub id: i64,
    pub entity: String,
    pub entity_id: Uuid,
}

/// Changes after `after`, oldest first.
pub fn since(conn: &mut PgConnection, after: i64, limit: i64) -> QueryResult<Vec<Change>> {
    change_log::table
        .filter(change_log::id.gt(after))
        .order(change_log::id)
        .limit(limit)
        .select((change_log::id, change_log::entity, change_log::entity_id))
        .load(conn)
}
