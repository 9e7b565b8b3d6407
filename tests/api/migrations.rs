use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use haven::db::MIGRATIONS;

use crate::helpers::TestDb;

#[test]
fn migrations_run_up_down_and_up_again() {
    let db = TestDb::empty();
    let mut conn = db.connect();
    let applied = conn.run_pending_migrations(MIGRATIONS).unwrap().len();
    assert!(applied >= 1);
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    // Down really reverts: no table of ours is left behind.
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let left: Vec<String> = diesel::sql_query(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    assert!(left.is_empty(), "left after down: {left:?}");
    assert_eq!(
        conn.run_pending_migrations(MIGRATIONS).unwrap().len(),
        applied
    );
}

#[test]
fn every_foreign_key_has_an_index() {
    let db = TestDb::new();
    #[derive(QueryableByName, Debug)]
    struct Unindexed {
        #[diesel(sql_type = diesel::sql_types::Text)]
        constraint: String,
    }
    // A foreign key is covered when some index starts with its columns.
    let unindexed: Vec<String> = diesel::sql_query(
        "SELECT c.conname::text AS constraint FROM pg_constraint c
         WHERE c.contype = 'f' AND NOT EXISTS (
             SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
               AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)",
    )
    .load::<Unindexed>(&mut db.connect())
    .unwrap()
    .into_iter()
    .map(|u| u.constraint)
    .collect();
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
}
