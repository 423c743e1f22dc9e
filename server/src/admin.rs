//! `huddle admin …`: for the person who runs the server. The same binary, configuration
//! (environment and `.env`) and database as the server; it may run while the server does.

use crate::config::Config;
use app::models::{DisplayName, Email, LoginName, Password, Username};
use app::server::auth::recovery;
use app::server::{db, now_ms};
use clap::{Parser, Subcommand};
use std::time::Duration;

/// How long the link printed for a new account works: its owner may not read it at once.
pub const NEW_ACCOUNT_LINK_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Parser)]
#[command(name = "huddle admin", about = "Manage Huddle's accounts (same configuration as the server)")]
pub struct Admin {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates an account and prints a one-time link (24 hours) where its owner chooses a password.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The name shown to others.
        #[arg(long)]
        name: String,
    },
    /// Prints a one-time link (30 minutes) that sets a new password for an account; its earlier
    /// links stop working. Every login of the account ends when the link is used.
    ResetPassword {
        /// The account's username or email address.
        account: String,
    },
    /// Makes an account premium (as if it had paid), e.g. for a server that sells nothing.
    GrantPremium {
        /// The account's username or email address.
        account: String,
    },
    /// Takes premium away from an account (its paid orders stay in its history).
    RevokePremium {
        /// The account's username or email address.
        account: String,
    },
    /// Lists every account.
    ListUsers,
}

/// Why a command failed: a bad argument (exit 2) or something it could not do (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            AdminError::Failed(_) => 1,
        }
    }
}

fn failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(e.to_string())
}

/// Parses `args` (without the leading `admin`); the usage text is an error to print as it is
/// (help is an error too, printed the same way, exit 0 by clap's own rules).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Admin, clap::Error> {
    Admin::try_parse_from(std::iter::once("huddle admin".to_string()).chain(args))
}

/// Runs the command; returns what to print.
pub async fn run(admin: Admin, config: Config) -> Result<String, AdminError> {
    let db = db::connect_and_migrate(&config.database_url).await.map_err(|e| failed(format!("cannot open the database: {e}")))?;
    let base_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr));
    match admin.command {
        Command::CreateUser { username, email, name } => {
            let field = |e: app::models::FieldError| AdminError::Usage(format!("--{}: {}", e.field, e.message));
            let (username, email, name) = (Username::parse(&username).map_err(field)?, Email::parse(&email).map_err(field)?, DisplayName::parse(&name).map_err(field)?);
            // A password nobody knows until the owner sets theirs through the link.
            let unknown = Password::parse(&app::server::signing::random_token(32)).map_err(field)?;
            let hash = app::server::auth::password::hash(unknown).await.map_err(|_| failed("cannot hash a password"))?;
            let id = db::users::create_account(&db, &name, &username, &email, &hash, config.default_currency.code, now_ms()).await.map_err(|e| match db::violated_unique(&e) {
                Some(c) if c.contains("username") => AdminError::Usage(format!("--username: {} is taken", username.as_str())),
                Some(c) if c.contains("email") => AdminError::Usage(format!("--email: an account with {} exists", email.as_str())),
                _ => failed(e),
            })?;
            let link = recovery::issue_reset_link(&db, id, &base_url, NEW_ACCOUNT_LINK_TTL).await.map_err(failed)?;
            Ok(format!("created account {id} ({}); its owner sets a password here within 24 hours:\n{link}", username.as_str()))
        }
        Command::ResetPassword { account } => {
            let login = LoginName::parse(&account).map_err(|e| AdminError::Usage(e.message))?;
            let user = db::users::by_login(&db, &login)
                .await
                .map_err(failed)?
            .ok_or_else(|| failed(format!("no account with the username or email {account:?}")))?;
            let link = recovery::issue_reset_link(&db, user.id, &base_url, recovery::RESET_TTL).await.map_err(failed)?;
            Ok(format!("one-time link for {} (works once, for 30 minutes):\n{link}", user.username))
        }
        Command::GrantPremium { account } => set_premium(&db, &account, true).await,
        Command::RevokePremium { account } => set_premium(&db, &account, false).await,
        Command::ListUsers => {
            let users = db::users::list(&db).await.map_err(failed)?;
            let mut out = format!("{:>6}  {:<20} {:<32} {:<9} {:<8} {:<10} {}", "id", "username", "email", "verified", "premium", "created", "name");
            for u in users {
                let created = app::models::time::format_date(u.created_at);
                let verified = if u.email_verified_at.is_some() { "yes" } else { "no" };
                let premium = if u.premium_since.is_some() { "yes" } else { "no" };
                out.push_str(&format!("\n{:>6}  {:<20} {:<32} {:<9} {:<8} {:<10} {}", u.id, u.username, u.email, verified, premium, created, u.name));
            }
            Ok(out)
        }
    }
}

async fn set_premium(db: &db::Db, account: &str, premium: bool) -> Result<String, AdminError> {
    let login = LoginName::parse(account).map_err(|e| AdminError::Usage(e.message))?;
    let user = db::users::by_login(db, &login)
        .await
        .map_err(failed)?
        .ok_or_else(|| failed(format!("no account with the username or email {account:?}")))?;
    let already = user.premium_since.is_some() == premium;
    db::payments::set_premium(db, user.id, premium, now_ms()).await.map_err(failed)?;
    Ok(match (premium, already) {
        (true, false) => format!("{} is premium now", user.username),
        (true, true) => format!("{} was premium already", user.username),
        (false, false) => format!("{} is no longer premium", user.username),
        (false, true) => format!("{} was not premium", user.username),
    })
}
