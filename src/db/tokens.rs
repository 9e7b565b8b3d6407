//! API tokens: stored only as SHA-256 hashes, with a role and, for providers, an organization.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::api_token;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_token, check_for_backend(diesel::pg::Pg))]
pub struct TokenRow {
    pub id: Uuid,
    pub role: String,
    pub organization_id: Option<Uuid>,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = api_token)]
pub struct TokenInsertForm<'a> {
    pub id: Uuid,
    pub token_hash: &'a [u8],
    pub role: &'a str,
    pub organization_id: Option<Uuid>,
    pub label: &'a str,
}

pub fn insert(conn: &mut PgConnection, form: &TokenInsertForm<'_>) -> QueryResult<()> {
    diesel::insert_into(api_token::table)
        .values(form)
        .execute(conn)
        .map(|_| ())
}

/// The live (not revoked) token with this hash.
pub fn find_active(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<Option<TokenRow>> {
    api_token::table
        .filter(api_token::token_hash.eq(token_hash))
        .filter(api_token::revoked_at.is_null())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// Every token, newest first; the revoked ones only when `revoked` is true.
pub fn list(conn: &mut PgConnection, revoked: bool) -> QueryResult<Vec<TokenRow>> {
    let mut query = api_token::table
        .select(TokenRow::as_select())
        .order((api_token::created_at.desc(), api_token::id))
        .into_boxed();
    if !revoked {
        query = query.filter(api_token::revoked_at.is_null());
    }
    query.load(conn)
}

/// Revokes a token by id. Returns false when no live token has this id.
pub fn revoke(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::update(
        api_token::table
            .find(id)
            .filter(api_token::revoked_at.is_null()),
    )
    .set(api_token::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .map(|n| n > 0)
}
