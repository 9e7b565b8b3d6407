use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    haven::telemetry::init();
    haven::cli::run(haven::cli::Cli::parse())
}
