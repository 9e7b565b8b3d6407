//! `embed_migrations!` (src/db/mod.rs) reads `migrations/` at compile time, and cargo does
//! not watch that folder by itself: without this, a new migration is left out of the build
//! (and the tests' template database, named from the folder's files, is made without it).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
