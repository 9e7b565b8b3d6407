//! The first answers to create requests sent with an `Idempotency-Key` (SAFETY.md rule 18).
//! Both functions run in the create's own transaction, so an answer is kept exactly when what
//! it reports was committed.

use diesel::prelude::*;
use diesel::sql_types::Bool;
use uuid::Uuid;

use super::schema::idempotency_key as keys;

/// How long a key is remembered; after that it may be used again.
pub const KEEP_HOURS: i32 = 24;

/// A key's earlier use: which request it came with, and the 201 it was answered.
#[derive(Debug, Queryable)]
pub struct Stored {
    pub request_hash: Vec<u8>,
    /// `None` (both) only while the first request's transaction is still writing its answer.
    pub location: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// Claims `key_hash` for `owner`. `None`: the key is new (or its day is over), and the caller
/// goes on with its write and then [`record`]s the answer. `Some`: an earlier request that
/// committed used it. A concurrent request with the same key waits here until the first one
/// commits or rolls back (the primary key's uniqueness check), so only one of them writes.
pub fn claim(
    conn: &mut PgConnection,
    owner: Uuid,
    key_hash: &[u8],
    request_hash: &[u8],
    data_key_id: &str,
) -> QueryResult<Option<Stored>> {
    let expired = format!("created_at < now() - interval '{KEEP_HOURS} hours'");
    diesel::delete(keys::table.filter(diesel::dsl::sql::<Bool>(&expired))).execute(conn)?;
    let claimed = diesel::insert_into(keys::table)
        .values((
            keys::owner_id.eq(owner),
            keys::key_hash.eq(key_hash),
            keys::request_hash.eq(request_hash),
            keys::key_id.eq(data_key_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if claimed == 1 {
        return Ok(None);
    }
    keys::table
        .find((owner, key_hash))
        .select((keys::request_hash, keys::location, keys::body))
        .first(conn)
        .optional()
}

/// Keeps the answer to the request that claimed the key.
pub fn record(
    conn: &mut PgConnection,
    owner: Uuid,
    key_hash: &[u8],
    location: &str,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(keys::table.find((owner, key_hash)))
        .set((keys::location.eq(location), keys::body.eq(body)))
        .execute(conn)
        .map(drop)
}

/// Keys younger than [`KEEP_HOURS`]: the creates still remembered.
fn remembered() -> diesel::expression::SqlLiteral<Bool> {
    diesel::dsl::sql::<Bool>(&format!(
        "created_at >= now() - interval '{KEEP_HOURS} hours'"
    ))
}

/// The data keys the request hashes of creates still remembered are keyed with.
pub fn key_ids_in_use(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    keys::table
        .filter(remembered())
        .filter(keys::key_id.is_not_null())
        .select(keys::key_id.assume_not_null())
        .distinct()
        .load(conn)
}

/// When the newest create remembered without the id of the key its hash is keyed with (made
/// before that id was kept) stops being remembered, if one is.
pub fn unkeyed_remembered_until(
    conn: &mut PgConnection,
) -> QueryResult<Option<chrono::DateTime<chrono::Utc>>> {
    let newest: Option<chrono::DateTime<chrono::Utc>> = keys::table
        .filter(remembered())
        .filter(keys::key_id.is_null())
        .select(diesel::dsl::max(keys::created_at))
        .first(conn)?;
    Ok(newest.map(|at| at + chrono::Duration::hours(i64::from(KEEP_HOURS))))
}
