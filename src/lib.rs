//! Haven: a survivor-support resource directory and referral router.
//!
//! PostgreSQL holds the directory (see `db`); `domain` parses untrusted input into the types
//! that carry Haven's rules; `routes` is the HTTP surface; `startup` builds the application
//! used by `main` and by the tests alike.

pub mod auth;
pub mod boundaries;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod import;
pub mod json;
pub mod matching;
pub mod openapi;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod throttle;
pub mod web;
pub mod zips;
