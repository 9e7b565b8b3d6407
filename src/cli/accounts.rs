//! `haven token ...` and `haven user ...`: credentials are created only here, by someone with
//! access to the database, never through self-registration. Secrets go to stdout once.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use uuid::Uuid;

use super::RoleArg;
use crate::auth::password::{self, Password};
use crate::auth::{Role, Token};
use crate::config::DatabaseUrl;
use crate::db::{self, accounts, organizations, tokens};
use crate::routes::normalize_email;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it on stdout (shown once; only its hash is stored). Its id,
    /// for `token revoke`, goes to stderr.
    Create {
        /// What the token may do (docs/API.md, "Who may call what").
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Organization the token acts for (required for, and only for, provider tokens).
        #[arg(long)]
        org: Option<Uuid>,
        /// What the token is for, e.g. "directory import".
        #[arg(long)]
        label: String,
    },
    /// Revoke a token by its id; it stops working at once.
    Revoke {
        /// The id `token create` printed (or `token list` shows).
        id: Uuid,
    },
    /// List the tokens, newest first: id, role, organization, created, label. Never the
    /// token itself, which only `token create` ever shows.
    List {
        /// Also the revoked ones, with when they were revoked.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin (prompted without echo on a terminal):
    /// 12 to 128 characters.
    Create {
        /// The address the person signs in with (letter case and surrounding spaces aside).
        #[arg(long)]
        email: String,
        /// What the user may do (docs/API.md, "Who may call what").
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The organization whose staff the user is (required for, and only for, providers).
        #[arg(long)]
        org: Option<Uuid>,
    },
    /// Disable a user: they cannot sign in, and their sessions end at once.
    Disable {
        /// The address the user signs in with.
        #[arg(long)]
        email: String,
    },
    /// Set a user's password, read from stdin as for `create`; their sessions end at once.
    Password {
        /// The address the user signs in with.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again, with a new password read from stdin (the old one may
    /// be why they were disabled); any sessions they held stay ended.
    Enable {
        /// The address the user signs in with.
        #[arg(long)]
        email: String,
    },
    /// List the users by email: id, email, role, organization, created, and when disabled.
    List,
}

/// Providers act for exactly one organization, which must exist; other roles for none (an
/// organization on a hotline's token would be named in the audit trail as theirs, and
/// deleting that organization would delete the token).
fn check_organization(
    conn: &mut diesel::PgConnection,
    role: Role,
    org: Option<Uuid>,
) -> anyhow::Result<()> {
    match (role, org) {
        (Role::Provider, None) => anyhow::bail!("a provider needs --org ORGANIZATION_ID"),
        (Role::Provider, Some(_)) => {}
        (_, Some(_)) => anyhow::bail!("--org is for providers only"),
        _ => {}
    }
    if let Some(org) = org
        && organizations::find(conn, org)?.is_none()
    {
        anyhow::bail!("no organization has id {org}");
    }
    Ok(())
}

pub fn token(url: &DatabaseUrl, action: &TokenCommand) -> anyhow::Result<()> {
    let pool = db::prepare_existing_job(url)?;
    let mut conn = pool.get()?;
    match action {
        TokenCommand::Create { role, org, label } => {
            let role = Role::from(*role);
            let label = label.trim();
            // One line of printable text: `token list` prints it in a tab-separated row.
            if label.is_empty()
                || label.chars().count() > 200
                || label.chars().any(char::is_control)
            {
                anyhow::bail!("--label must be 1 to 200 characters, on one line");
            }
            check_organization(&mut conn, role, *org)?;
            let token =
                Token::generate().map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
            let hash = token.hash();
            let id = Uuid::new_v4();
            tokens::insert(
                &mut conn,
                &tokens::TokenInsertForm {
                    id,
                    token_hash: &hash,
                    role: role.code(),
                    organization_id: *org,
                    label,
                },
            )?;
            eprintln!("token id: {id}");
            println!("{}", token.expose());
        }
        TokenCommand::Revoke { id } => {
            if !tokens::revoke(&mut conn, *id)? {
                anyhow::bail!("no live token has id {id}");
            }
            println!("token {id} revoked");
        }
        TokenCommand::List { all } => {
            for t in tokens::list(&mut conn, *all)? {
                let revoked = t
                    .revoked_at
                    .map(|at| format!("\trevoked {}", day_and_time(at)))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}{revoked}",
                    t.id,
                    t.role,
                    organization_or_dash(t.organization_id),
                    day_and_time(t.created_at),
                    t.label
                );
            }
        }
    }
    Ok(())
}

/// A time as the lists print it: "2026-12-07 14:05 UTC".
fn day_and_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn organization_or_dash(org: Option<Uuid>) -> String {
    org.map_or_else(|| "-".to_string(), |id| id.to_string())
}

/// A new password read from stdin (prompted without echo on a terminal), checked and hashed.
fn read_password_hash() -> anyhow::Result<String> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password (12-128 characters): ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let password =
        Password::new(text, "password").map_err(|e| anyhow::anyhow!("password {}", e.message))?;
    password::hash(&password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

pub fn user(url: &DatabaseUrl, action: &UserCommand) -> anyhow::Result<()> {
    match action {
        UserCommand::Create { email, role, org } => {
            let email = normalize_email(email);
            if !(3..=254).contains(&email.len())
                || !email.contains('@')
                || email.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                anyhow::bail!("--email must be an email address");
            }
            let role = Role::from(*role);
            let pool = db::prepare_existing_job(url)?;
            let mut conn = pool.get()?;
            check_organization(&mut conn, role, *org)?;
            if accounts::find_user_by_email(&mut conn, &email)?.is_some() {
                anyhow::bail!("a user with this email already exists");
            }
            let hash = read_password_hash()?;
            let id = Uuid::new_v4();
            accounts::insert_user(
                &mut conn,
                &accounts::UserInsertForm {
                    id,
                    email: &email,
                    password_hash: &hash,
                    role: role.code(),
                    organization_id: *org,
                },
            )?;
            println!("user {id} created ({})", role.code());
        }
        UserCommand::Disable { email } => {
            let email = normalize_email(email);
            let pool = db::prepare_existing_job(url)?;
            let mut conn = pool.get()?;
            let disabled = diesel::Connection::transaction(&mut *conn, |conn| {
                accounts::disable_user(conn, &email)
            })?;
            if !disabled {
                anyhow::bail!("no user has this email");
            }
            println!("user disabled; their sessions have ended");
        }
        UserCommand::Password { email } | UserCommand::Enable { email } => {
            let enable = matches!(action, UserCommand::Enable { .. });
            let email = normalize_email(email);
            let pool = db::prepare_existing_job(url)?;
            let mut conn = pool.get()?;
            let Some(found) = accounts::find_user_by_email(&mut conn, &email)? else {
                anyhow::bail!("no user has this email");
            };
            // Asked to enable someone already enabled, say so, rather than end their
            // sessions and change their password unasked.
            if enable && found.disabled_at.is_none() {
                anyhow::bail!(
                    "this user is not disabled; `haven user password` gives them a new password"
                );
            }
            let hash = read_password_hash()?;
            let changed = diesel::Connection::transaction(&mut *conn, |conn| {
                accounts::set_password(conn, &email, &hash, enable)
            })?;
            if !changed {
                anyhow::bail!("no user has this email");
            }
            if enable {
                println!("user enabled with the new password");
            } else {
                println!("password set; the user's sessions have ended");
            }
        }
        UserCommand::List => {
            let pool = db::prepare_existing_job(url)?;
            let mut conn = pool.get()?;
            for u in accounts::list_users(&mut conn)? {
                let disabled = u
                    .disabled_at
                    .map(|at| format!("\tdisabled {}", day_and_time(at)))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}{disabled}",
                    u.id,
                    u.email,
                    u.role,
                    organization_or_dash(u.organization_id),
                    day_and_time(u.created_at)
                );
            }
        }
    }
    Ok(())
}
