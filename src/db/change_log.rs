//! The change log every directory write appends to, in the write's own transaction; a
//! statement trigger `NOTIFY`s `haven_change_log` so matching indexes can follow. Changes are
//! kept for [`KEPT_FOR_DAYS`] (`trim`): an index that fell further behind than that loads
//! everything again instead of following.

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

impl Entity {
    fn code(self) -> &'static str {
        match self {
            Entity::Organization => "organization",
            Entity::Service => "service",
        }
    }
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Action::Upsert => "upsert",
            Action::Delete => "delete",
        }
    }
}

/// Serializes directory writes from their first logged change to commit, so change ids become
/// visible in id order and a reader that has seen id N has seen every id below it.
pub const WRITE_LOCK: i64 = 0x4841_5645_4e00;

fn lock_writes(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
        .execute(conn)
        .map(|_| ())
}

#[derive(Insertable)]
#[diesel(table_name = change_log)]
struct ChangeRow {
    entity: &'static str,
    entity_id: Uuid,
    action: &'static str,
}

pub fn record(
    conn: &mut PgConnection,
    entity: Entity,
    entity_id: Uuid,
    action: Action,
) -> QueryResult<()> {
    record_many(conn, entity, &[entity_id], action)
}

/// Logs the same change for many entities at once (bulk imports).
pub fn record_many(
    conn: &mut PgConnection,
    entity: Entity,
    ids: &[Uuid],
    action: Action,
) -> QueryResult<()> {
    lock_writes(conn)?;
    let rows: Vec<ChangeRow> = ids
        .iter()
        .map(|id| ChangeRow {
            entity: entity.code(),
            entity_id: *id,
            action: action.code(),
        })
        .collect();
    diesel::insert_into(change_log::table)
        .values(&rows)
        .execute(conn)
        .map(|_| ())
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

/// How long changes are kept. Running instances read each change within seconds; only one cut
/// off from Postgres for longer needs older ones, and it loads everything again instead
/// (see [`oldest_id`]).
pub const KEPT_FOR_DAYS: i32 = 7;

/// Deletes up to `limit` of the oldest changes made more than [`KEPT_FOR_DAYS`] ago, never the
/// newest one (its id is the directory's version, which must not go back). Returns how many
/// went.
pub fn trim(conn: &mut PgConnection, limit: i64) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Integer};
    diesel::sql_query(
        "DELETE FROM change_log WHERE id IN ( \
             SELECT id FROM change_log \
             WHERE changed_at < now() - make_interval(days => $1) \
               AND id < (SELECT max(id) FROM change_log) \
             ORDER BY id LIMIT $2)",
    )
    .bind::<Integer, _>(KEPT_FOR_DAYS)
    .bind::<BigInt, _>(limit)
    .execute(conn)
}

/// The oldest change kept, or None for an empty log. A reader that has seen changes only up
/// to an id below this one less one may have missed some that were trimmed.
pub fn oldest_id(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    change_log::table
        .select(diesel::dsl::min(change_log::id))
        .first(conn)
}
