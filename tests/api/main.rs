//! API tests: real Postgres (a database per test), the real app over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where it stands"
)]

mod auth;
mod browser;
mod cli;
mod health;
mod helpers;
mod idempotency;
mod matching;
mod migrations;
mod openapi;
mod organizations;
mod reference;
mod relay;
mod reveal;
mod safety;
mod services;
mod sessions;
mod status;
mod validation;
mod write_audit;
