use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: the matching index is millions of small
/// records, and glibc keeps much of what a full load frees (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    haven::telemetry::init();
    haven::cli::run(haven::cli::Cli::parse())
}
