//! Users who sign in and their sessions. Session tokens are stored only as SHA-256 hashes; the
//! expiry rules live in the query that accepts a session, so every request checks them with
//! the database's clock.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::schema::{app_user, user_session};

/// Sessions end this long after sign-in, whatever happens.
pub const SESSION_ABSOLUTE_HOURS: i64 = 12;
/// ... and this long after their last use.
pub const SESSION_IDLE_MINUTES: i64 = 30;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = app_user, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub organization_id: Option<Uuid>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = app_user)]
pub struct UserInsertForm<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub organization_id: Option<Uuid>,
}

pub fn insert_user(conn: &mut PgConnection, form: &UserInsertForm<'_>) -> QueryResult<()> {
    diesel::insert_into(app_user::table)
        .values(form)
        .execute(conn)
        .map(|_| ())
}

pub fn find_user_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<UserRow>> {
    app_user::table
        .filter(app_user::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Ends every session the users `ids` hold.
fn end_sessions(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<()> {
    diesel::update(
        user_session::table
            .filter(user_session::user_id.eq_any(ids))
            .filter(user_session::ended_at.is_null()),
    )
    .set(user_session::ended_at.eq(diesel::dsl::now))
    .execute(conn)
    .map(|_| ())
}

/// Disables the user and ends every session they hold, in the caller's transaction.
/// Returns false when no user has this email.
pub fn disable_user(conn: &mut PgConnection, email: &str) -> QueryResult<bool> {
    let ids: Vec<Uuid> = diesel::update(app_user::table.filter(app_user::email.eq(email)))
        .set(app_user::disabled_at.eq(diesel::dsl::now))
        .returning(app_user::id)
        .get_results(conn)?;
    end_sessions(conn, &ids)?;
    Ok(!ids.is_empty())
}

/// A user as `user list` shows it: no password hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = app_user, check_for_backend(diesel::pg::Pg))]
pub struct UserListing {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub organization_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Every user, by email.
pub fn list_users(conn: &mut PgConnection) -> QueryResult<Vec<UserListing>> {
    app_user::table
        .select(UserListing::as_select())
        .order(app_user::email)
        .load(conn)
}

/// Gives the user a new password hash and ends every session they hold (a password reset
/// after a leak must shut out whoever used the old one); with `enable`, a disabled user signs
/// in again. Returns false when no user has this email.
pub fn set_password(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
    enable: bool,
) -> QueryResult<bool> {
    let target = app_user::table.filter(app_user::email.eq(email));
    let ids: Vec<Uuid> = if enable {
        diesel::update(target)
            .set((
                app_user::password_hash.eq(password_hash),
                app_user::disabled_at.eq(None::<DateTime<Utc>>),
            ))
            .returning(app_user::id)
            .get_results(conn)?
    } else {
        diesel::update(target)
            .set(app_user::password_hash.eq(password_hash))
            .returning(app_user::id)
            .get_results(conn)?
    };
    end_sessions(conn, &ids)?;
    Ok(!ids.is_empty())
}

/// Opens a session for the user, if they still have `password_hash` (the one the sign-in
/// checked) and are enabled; None otherwise. The user's row is locked while it is read, so a
/// new password or a disabling either waits for the session (and then ends it) or comes first
/// (and no session opens): a sign-in racing a reset cannot keep a session past it.
pub fn insert_session(
    conn: &mut PgConnection,
    id: Uuid,
    token_hash: &[u8],
    user_id: Uuid,
    password_hash: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Opened {
        #[diesel(sql_type = Timestamptz)]
        created_at: DateTime<Utc>,
    }
    diesel::sql_query(
        "INSERT INTO user_session (id, token_hash, user_id) \
         SELECT $1, $2, u.id FROM app_user u \
         WHERE u.id = $3 AND u.password_hash = $4 AND u.disabled_at IS NULL FOR SHARE \
         RETURNING created_at",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Bytea, _>(token_hash)
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<Text, _>(password_hash)
    .get_result::<Opened>(conn)
    .optional()
    .map(|opened| opened.map(|o| o.created_at))
}

/// A live session and who holds it.
#[derive(Debug, QueryableByName)]
pub struct ActiveSession {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub organization_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// Accepts the session with this token hash if it has not ended, expired (absolute or idle) or
/// belonged to a since-disabled user, and marks it used now: one statement, so a session cannot
/// be used between its check and its renewal.
pub fn touch_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<ActiveSession>> {
    diesel::sql_query(format!(
        "UPDATE user_session s SET last_seen_at = now()
           FROM app_user u
          WHERE s.token_hash = $1 AND u.id = s.user_id
            AND s.ended_at IS NULL AND u.disabled_at IS NULL
            AND s.created_at > now() - interval '{SESSION_ABSOLUTE_HOURS} hours'
            AND s.last_seen_at > now() - interval '{SESSION_IDLE_MINUTES} minutes'
      RETURNING s.id AS session_id, u.id AS user_id, u.role, u.organization_id,
                LEAST(s.created_at + interval '{SESSION_ABSOLUTE_HOURS} hours',
                      now() + interval '{SESSION_IDLE_MINUTES} minutes') AS expires_at"
    ))
    .bind::<Bytea, _>(token_hash)
    .get_result(conn)
    .optional()
}

/// Ends a session (sign-out). Returns whether it was still open.
pub fn end_session(conn: &mut PgConnection, session_id: Uuid) -> QueryResult<bool> {
    diesel::update(
        user_session::table
            .find(session_id)
            .filter(user_session::ended_at.is_null()),
    )
    .set(user_session::ended_at.eq(diesel::dsl::now))
    .execute(conn)
    .map(|n| n > 0)
}
