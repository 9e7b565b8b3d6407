//! The `haven` command line: `serve`, `migrate`, `seed`, `import`, `token`, `user`, `keys`,
//! `check`.

mod accounts;
mod check;
mod keys;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use accounts::{TokenCommand, UserCommand};
pub use keys::KeysCommand;

use crate::auth::Role;
use crate::boundaries::Boundaries;
use crate::client_ip::TrustedProxies;
use crate::config::{
    DEFAULT_BIND, DEFAULT_CELL_KM, DEFAULT_DATA_KEY_FILE, DEFAULT_DATABASE_URL,
    DEFAULT_RATE_LIMIT_PER_MINUTE, DataKeySource, DatabaseUrl, Settings, parse_reveal_roles,
};
use crate::db;
use crate::seed::{self, Dataset};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "haven",
    version,
    about = "Haven: survivor-support resource directory and referral router"
)]
pub struct Cli {
    /// PostgreSQL URL; the database is created if it does not exist.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,

    /// File holding the base64 data key that seals confidential addresses; created when
    /// missing. HAVEN_DATA_KEY (the key itself, base64) takes precedence.
    #[arg(long, env = "HAVEN_DATA_KEY_FILE", default_value = DEFAULT_DATA_KEY_FILE, global = true)]
    pub data_key_file: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (creates the database and applies migrations first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "HAVEN_BIND", default_value = DEFAULT_BIND)]
        bind: String,
        /// Load the demo directory (fictional providers plus the national hotlines) if absent.
        #[arg(long)]
        demo: bool,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "HAVEN_WORKERS",
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
        workers: Option<usize>,
        /// Most Postgres connections this instance opens.
        #[arg(long, env = "HAVEN_DB_POOL_SIZE", default_value_t = 10,
            value_parser = clap::value_parser!(u32).range(1..=1000))]
        pool_size: u32,
        /// Grid size in km that anonymous callers' coordinates are snapped to.
        #[arg(long, env = "HAVEN_CELL_KM", default_value_t = DEFAULT_CELL_KM)]
        cell_km: f64,
        /// Requests an anonymous client may make per minute (0: no limit, for benchmarks).
        #[arg(long, env = "HAVEN_RATE_LIMIT", default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE)]
        rate_limit: u32,
        /// Roles besides a provider's own staff that may reveal a confidential address, comma
        /// separated: hotline, caseworker. Each reveal is audited.
        #[arg(long, env = "HAVEN_REVEAL_ROLES", default_value = "")]
        reveal_roles: String,
        /// Where the pages' Quick exit button and Esc key send the visitor.
        #[arg(long, env = "HAVEN_QUICK_EXIT_URL", default_value = crate::web::DEFAULT_QUICK_EXIT_URL)]
        quick_exit_url: String,
        /// Proxies (addresses or CIDR blocks, comma separated) whose X-Forwarded-For names the
        /// client, for rate limits. Empty: the TCP peer is the client.
        #[arg(long, env = "HAVEN_TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
    },
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Load a bundled dataset.
    Seed {
        /// Which records to load.
        #[arg(value_enum)]
        dataset: SeedDataset,
    },
    /// Bulk-load data from a file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Manage API tokens (for programs).
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Manage user accounts (for people; no one can register themselves).
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage the data keys that seal confidential addresses.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Check the stored directory against rules added after it was written.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// List, by id and field, the confidential services whose coverage shows where they are
    /// (its middle within 5 km of the sealed site), which writes now refuse; exits non-zero if
    /// there is any. Prints no location.
    Confidential,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import services from JSON Lines: one `POST /api/v1/services` body per line, with
    /// `organization_id` or `organization_name` (created when unknown), and optionally the
    /// service's own `id` (a UUID): a stored service with that id is replaced, so a file whose
    /// lines carry ids can be imported again without making copies.
    Services {
        /// The .jsonl file (`-` reads standard input).
        file: PathBuf,
        /// Lines written per transaction; a batch with any bad line is not written.
        #[arg(long, default_value_t = 5_000)]
        batch_size: usize,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeedDataset {
    /// Fictional demo providers (flagged demo) and the real national hotlines.
    Demo,
    /// The real national hotlines only.
    Hotlines,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Hotline,
    Caseworker,
    Provider,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Hotline => Role::Hotline,
            RoleArg::Caseworker => Role::Caseworker,
            RoleArg::Provider => Role::Provider,
        }
    }
}

impl Cli {
    pub fn data_key_source(&self) -> DataKeySource {
        // Read from the environment only, never a flag: command lines show up in `ps`.
        match std::env::var("HAVEN_DATA_KEY") {
            Ok(key) if !key.trim().is_empty() => DataKeySource::Inline(key),
            _ => DataKeySource::File(self.data_key_file.clone()),
        }
    }
}

/// Runs a parsed command; errors are printed as one line and give a non-zero exit.
pub fn run(cli: Cli) -> ExitCode {
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("haven: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&cli.database_url).map_err(anyhow::Error::msg)?;
    match &cli.command {
        Command::Migrate => {
            db::ensure_database(&url)?;
            let applied = db::run_migrations(&mut db::connect(&url)?, &url)?;
            println!("migrations applied: {applied}");
        }
        Command::Seed { dataset } => {
            let pool = db::prepare_job(&url)?;
            let mut conn = pool.get()?;
            let key = keys::load_checked(&cli.data_key_source(), &mut conn)?;
            let datasets: &[Dataset] = match dataset {
                SeedDataset::Demo => &[Dataset::Hotlines, Dataset::Demo],
                SeedDataset::Hotlines => &[Dataset::Hotlines],
            };
            for &dataset in datasets {
                let report = seed::load(&mut conn, dataset, key.current(), Boundaries::bundled())?;
                println!(
                    "{dataset:?}: {} organizations and {} services added, {} organizations already present",
                    report.organizations_added, report.services_added, report.organizations_present
                );
            }
        }
        Command::Import {
            what: ImportCommand::Services { file, batch_size },
        } => {
            import_services(&cli, &url, file, *batch_size)?;
        }
        Command::Token { action } => accounts::token(&url, action)?,
        Command::User { action } => accounts::user(&url, action)?,
        Command::Keys { action } => keys::run(&url, &cli.data_key_source(), action)?,
        Command::Check {
            what: CheckCommand::Confidential,
        } => check::confidential(&url, &cli.data_key_source())?,
        Command::Serve {
            bind,
            demo,
            workers,
            pool_size,
            cell_km,
            rate_limit,
            reveal_roles,
            quick_exit_url,
            trusted_proxies,
        } => {
            if !(0.1..=50.0).contains(cell_km) {
                anyhow::bail!("--cell-km must be between 0.1 and 50");
            }
            // Everything that can be wrong with the settings is found before the database is
            // touched.
            let reveal_roles = parse_reveal_roles(reveal_roles).map_err(anyhow::Error::msg)?;
            let trusted_proxies =
                TrustedProxies::parse(trusted_proxies).map_err(anyhow::Error::msg)?;
            let pool = db::prepare(&url, *pool_size)?;
            let source = cli.data_key_source();
            let data_key = source.live(keys::load_checked(&source, &mut *pool.get()?)?);
            let settings = Settings {
                database_url: url,
                bind: bind.clone(),
                workers: workers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
                pool_size: *pool_size,
                data_key: data_key.clone(),
                cell_km: *cell_km,
                rate_limit_per_minute: *rate_limit,
                reveal_roles,
                quick_exit_url: quick_exit_url.clone(),
                trusted_proxies,
            };
            let app = Application::build(&settings, pool.clone())
                .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
            // Seeded once the address is ours: a taken port leaves the directory as it was.
            // The index picks the seeded services up from the change log.
            if *demo {
                let mut conn = pool.get()?;
                for dataset in [Dataset::Hotlines, Dataset::Demo] {
                    let report = seed::load(
                        &mut conn,
                        dataset,
                        data_key.get().current(),
                        Boundaries::bundled(),
                    )?;
                    tracing::info!(dataset = ?dataset, organizations_added = report.organizations_added, services_added = report.services_added, "seeded");
                }
            }
            tracing::info!(bind = %bind, port = app.port(), "haven is listening");
            app.serve()?;
        }
    }
    Ok(())
}

/// Errors printed in full; past this many, only counted.
const ERRORS_SHOWN: usize = 100;

fn import_services(
    cli: &Cli,
    url: &DatabaseUrl,
    file: &std::path::Path,
    batch_size: usize,
) -> anyhow::Result<()> {
    if batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    // `-` is standard input, as for most tools that read a file.
    let (input, size): (Box<dyn std::io::Read>, u64) = if file == std::path::Path::new("-") {
        (Box::new(std::io::stdin()), 0)
    } else {
        let cannot =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot read {}: {e}", file.display());
        let opened = std::fs::File::open(file).map_err(|e| cannot(&e))?;
        let metadata = opened.metadata().map_err(|e| cannot(&e))?;
        if metadata.is_dir() {
            return Err(cannot(&"it is a directory"));
        }
        (Box::new(opened), metadata.len())
    };
    let pool = db::prepare_existing_job(url)?;
    let mut conn = pool.get()?;
    let source = cli.data_key_source();
    // Read again before each batch, as a running instance does: a rotation may come while a
    // long import runs.
    let key = source.live(keys::load_checked(&source, &mut conn)?);
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut importer = crate::import::Importer::new(&mut conn, &key, Boundaries::bundled())?;
    let report = importer.run(
        &mut conn,
        std::io::BufReader::with_capacity(1 << 20, input),
        batch_size,
        |bytes| bar.set_position(bytes),
    );
    bar.finish_and_clear();
    for e in report.errors.iter().take(ERRORS_SHOWN) {
        let field = if e.field.is_empty() {
            String::new()
        } else {
            format!("{}: ", e.field)
        };
        eprintln!("line {}: {field}{}", e.line, e.message);
    }
    if report.errors.len() > ERRORS_SHOWN {
        eprintln!("... and {} more errors", report.errors.len() - ERRORS_SHOWN);
    }
    println!(
        "imported {} of {} services ({} replaced by id, {} organizations created) in {:.1}s; {} batches written, {} rejected, {} bad lines",
        report.imported,
        report.lines,
        report.replaced,
        report.organizations_created,
        started.elapsed().as_secs_f64(),
        report.batches_written,
        report.batches_rejected,
        report.errors.len()
    );
    if report.without_id > 0 {
        eprintln!(
            "{} services were written from lines without an \"id\": importing this file again would add them again",
            report.without_id
        );
    }
    if let Some(why) = &report.stopped {
        anyhow::bail!(
            "the import stopped after line {}: {why}; the batches written before stay written (run the file again: lines with an id are replaced, not copied)",
            report.lines
        )
    }
    if report.errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} lines could not be imported", report.errors.len())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `--help` on everything (DESIGN.md): every command and every argument says what it is.
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            if command.get_about().is_none() {
                missing.push(path.clone());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:?}");
    }
}
