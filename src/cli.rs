//! The command line (DESIGN.md §2). Admins script it: keep it stable.
//!
//! Exit status: 0 on success, 2 on bad usage, 1 on failure, with one line on stderr.
//! `--json` prints exactly one JSON value on stdout; logs go to stderr.

mod audit;
mod clients;
mod keys;
mod resources;
mod serve;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::service::AdminError;
use crate::store::{migrations, ConnectionManager, DbConn, Store, StoreError};

/// Portcullis: an OAuth 2 / OpenID Connect authorization server.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
pub struct Cli {
    /// A TOML file with settings (environment variables win over it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first unless --no-migrate).
    Serve {
        /// Do not apply migrations; refuse to start if the schema is behind.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Create or upgrade the schema (creates a missing SQLite file).
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage APIs (RFC 8707 resources): the audiences of access tokens.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register an API; its introspection secret is shown once.
    Create(ResourceArgs),
    /// List APIs.
    List {
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show an API (by id or identifier).
    Show(ResourceTarget),
    /// Replace an API's settings (every flag as for create; the secret stays).
    Update {
        /// The API's id or identifier.
        #[arg(allow_hyphen_values = true)]
        resource: String,
        #[command(flatten)]
        args: ResourceArgs,
    },
    /// Delete an API (its tokens live on until they expire).
    Delete(ResourceTarget),
}

/// An API named by id or identifier, and `--json`.
#[derive(Debug, Args)]
pub struct ResourceTarget {
    #[arg(allow_hyphen_values = true)]
    pub resource: String,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

/// What `resource create|update` takes.
#[derive(Debug, Args)]
pub struct ResourceArgs {
    /// The API's identifier: the `aud` of its tokens (absolute URI, no fragment).
    #[arg(long)]
    pub identifier: String,
    /// A name for people.
    #[arg(long)]
    pub name: Option<String>,
    /// The scopes the API defines, space-separated.
    #[arg(long)]
    pub scope: String,
    /// A client id that may ask tokens for this API (repeatable).
    #[arg(long = "client", value_name = "CLIENT_ID", allow_hyphen_values = true)]
    pub clients: Vec<String>,
    /// Seconds its access tokens live (60 to access_token_lifetime; default: that).
    #[arg(long)]
    pub access_token_lifetime: Option<i64>,
    /// RS256, ES256 or EdDSA (default: the client's or the server's).
    #[arg(long)]
    pub signing_alg: Option<String>,
    /// Put the user's roles and groups in its access tokens (RFC 9068 §2.2.3.1).
    #[arg(long)]
    pub roles: bool,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List security events, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Only events of this kind (e.g. `login.failed`, `client.disabled`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events about this user id.
    #[arg(long, allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Only events about this client id (ids may start with `-`).
    #[arg(long, allow_hyphen_values = true)]
    pub client: Option<String>,
    /// Only events at or after this time: unix seconds or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most this many events (default 100).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `--json` alone, for the commands that take nothing else.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their states and times.
    List {
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Rotate now: the waiting key takes over as soon as it has been published long
    /// enough, and a new waiting key is made.
    Rotate {
        /// Only this algorithm (default: every configured one).
        #[arg(long, value_parser = ["RS256", "ES256", "EdDSA"])]
        alg: Option<String>,
    },
    /// Revoke a compromised key: out of the JWKS and never used again, at once.
    Revoke {
        /// The key's `kid` (a kid may start with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from one line of standard input.
    Create(UserCreateArgs),
    /// List users.
    List {
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show a user (by id or username).
    Show(UserTarget),
    /// Change a user's email, name or admin flag.
    Update(UserUpdateArgs),
    /// Disable a user: sessions end, refresh tokens are revoked.
    Disable(UserTarget),
    /// Enable a disabled user.
    Enable(UserTarget),
    /// Delete a user with their sessions, consents and tokens.
    Delete(UserTarget),
    /// Lift a lockout after failed logins.
    Unlock(UserTarget),
    /// Set a new password, read from one line of standard input.
    SetPassword(UserSetPasswordArgs),
    /// List the clients a user has consented to.
    Consents(UserTarget),
    /// Withdraw a user's consent for a client (its refresh tokens die with it).
    RevokeConsent(UserClientTarget),
    /// Add or remove roles of a user (released with the `roles` scope).
    Roles(UserNamesArgs),
    /// Add or remove groups of a user (released with the `roles` scope).
    Groups(UserNamesArgs),
    /// List a user's live sessions.
    Sessions(UserTarget),
    /// End every live session of a user.
    EndSessions(UserTarget),
}

/// A user named by id or username, and `--json`.
#[derive(Debug, Args)]
pub struct UserTarget {
    /// The user's id or username.
    #[arg(allow_hyphen_values = true)]
    pub user: String,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

/// `user roles|groups USER [--add NAME]... [--remove NAME]...`
#[derive(Debug, Args)]
pub struct UserNamesArgs {
    /// The user's id or username.
    #[arg(allow_hyphen_values = true)]
    pub user: String,
    /// A name to add (repeatable).
    #[arg(long = "add", value_name = "NAME")]
    pub add: Vec<String>,
    /// A name to remove (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    pub remove: Vec<String>,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserClientTarget {
    /// The user's id or username.
    #[arg(allow_hyphen_values = true)]
    pub user: String,
    /// The client's id (ids may start with `-`).
    #[arg(allow_hyphen_values = true)]
    pub client: String,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserUpdateArgs {
    /// The user's id or username.
    #[arg(allow_hyphen_values = true)]
    pub user: String,
    /// A new email address (empty: none). A changed address is not verified.
    #[arg(long)]
    pub email: Option<String>,
    /// A new display name (empty: none).
    #[arg(long)]
    pub name: Option<String>,
    /// Whether the user is an administrator.
    #[arg(long, value_name = "true|false")]
    pub admin: Option<bool>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserSetPasswordArgs {
    /// The user's id or username.
    #[arg(allow_hyphen_values = true)]
    pub user: String,
    /// Read the password from standard input (one line; the newline is stripped).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (one line; the newline is stripped).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed this once.
    Create(ClientCreateArgs),
    /// List clients (never their secrets).
    List {
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show a client's registration (never its secret).
    Show(ClientTarget),
    /// Change a client's registration; a list flag replaces the whole list.
    Update(ClientUpdateArgs),
    /// Disable a client: it can no longer authenticate; its tokens stop working.
    Disable(ClientTarget),
    /// Enable a disabled client.
    Enable(ClientTarget),
    /// Delete a client with its codes, consents and refresh tokens.
    Delete(ClientTarget),
    /// Give a client a new secret (printed once); the old one works for the grace.
    RotateSecret(ClientRotateArgs),
}

/// A client named by id, and `--json`.
#[derive(Debug, Args)]
pub struct ClientTarget {
    /// The client's id.
    #[arg(allow_hyphen_values = true)]
    pub client: String,
    /// Print one JSON value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientRotateArgs {
    /// The client's id.
    #[arg(allow_hyphen_values = true)]
    pub client: String,
    /// How long the old secret keeps working: `1h`, `30m`, `90s`, or plain seconds
    /// (0: it stops at once).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub grace: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientUpdateArgs {
    /// The client's id.
    #[arg(allow_hyphen_values = true)]
    pub client: String,
    /// Human-readable name shown on the consent page.
    #[arg(long)]
    pub name: Option<String>,
    /// A redirect URI, matched exactly (repeat for more; replaces the list).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for more; replaces the list).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A grant type (repeat for more; replaces the list).
    #[arg(long = "grant-type", value_name = "T")]
    pub grant_types: Vec<String>,
    /// The scopes the client may request, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// Algorithm of this client's access tokens (one of signing_algs; empty: the
    /// server's default).
    #[arg(long, value_name = "ALG")]
    pub access_token_signing_alg: Option<String>,
    /// Algorithm of this client's ID tokens (one of signing_algs; empty: RS256).
    #[arg(long, value_name = "ALG")]
    pub id_token_signed_response_alg: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// Human-readable name shown on the consent page.
    #[arg(long)]
    pub name: String,
    /// A redirect URI, matched exactly (repeat for more).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI, matched exactly (repeat for more).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// authorization_code, refresh_token or client_credentials (repeat for more;
    /// default authorization_code + refresh_token).
    #[arg(long = "grant-type", value_name = "T")]
    pub grant_types: Vec<String>,
    /// The scopes the client may request, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// A public client (no secret; implies auth method `none`).
    #[arg(long)]
    pub public: bool,
    /// client_secret_basic, client_secret_post or none.
    #[arg(long, value_name = "METHOD")]
    pub token_endpoint_auth_method: Option<String>,
    /// Algorithm of this client's access tokens (one of signing_algs); default: the
    /// server's access_token_signing_alg.
    #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub access_token_signing_alg: Option<String>,
    /// Algorithm of this client's ID tokens (one of signing_algs); default RS256
    /// (OIDC Core §3.1.3.7).
    #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub id_token_signed_response_alg: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// A failed command: the one line to print and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub status: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            status: 2,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            status: 1,
        }
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        Failure::failed(e.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::failed(e.to_string())
    }
}

/// Parses the arguments; help and version print and exit 0, anything else wrong is
/// one line and status 2.
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = e.print();
                ExitCode::SUCCESS
            }
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                eprintln!("error: a subcommand is required (see `portcullis --help`)");
                ExitCode::from(2)
            }
            _ => {
                // clap's first paragraph (e.g. "required arguments were not provided:"
                // and the list of them), folded into one line.
                let rendered = e.to_string();
                let summary = rendered
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ");
                eprintln!("{summary} (see `portcullis --help`)");
                ExitCode::from(2)
            }
        }
    })
}

/// Loads the configuration named on the command line and in the environment.
pub fn load_config(cli: &Cli) -> Result<Config, Failure> {
    for setting in config::SETTINGS {
        let name = config::env_name(setting.key);
        if std::env::var_os(&name).is_some_and(|v| v.to_str().is_none()) {
            return Err(Failure::failed(format!(
                "configuration: {name}: not valid UTF-8"
            )));
        }
    }
    Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())
        .map_err(|e| Failure::failed(format!("configuration: {e}")))
}

/// Runs the command.
pub fn run(cli: Cli, config: Config) -> Result<(), Failure> {
    match cli.command {
        Command::Serve { no_migrate } => serve::run(config, !no_migrate),
        Command::Migrate => migrate(&config),
        Command::Resource(command) => resources::run(&config, command),
        Command::Client(ClientCommand::Create(args)) => clients::create(&config, args),
        Command::Client(ClientCommand::List { json }) => clients::list(&config, json),
        Command::Client(ClientCommand::Show(t)) => clients::show(&config, t),
        Command::Client(ClientCommand::Update(args)) => clients::update(&config, args),
        Command::Client(ClientCommand::Disable(t)) => clients::disable(&config, t),
        Command::Client(ClientCommand::Enable(t)) => clients::enable(&config, t),
        Command::Client(ClientCommand::Delete(t)) => clients::delete(&config, t),
        Command::Client(ClientCommand::RotateSecret(args)) => clients::rotate_secret(&config, args),
        Command::User(command) => users::run(&config, command),
        Command::Audit(AuditCommand::List(args)) => audit::list(&config, args),
        Command::Keys(KeysCommand::List { json }) => keys::list(&config, json),
        Command::Keys(KeysCommand::Rotate { alg }) => keys::rotate(&config, alg.as_deref()),
        Command::Keys(KeysCommand::Revoke { kid }) => keys::revoke(&config, &kid),
    }
}

/// `portcullis migrate`.
fn migrate(config: &Config) -> Result<(), Failure> {
    let (_, applied) = migrated_connection(config)?;
    if applied.is_empty() {
        print_line(&format!("schema is up to date ({})", config.database_url))
    } else {
        print_line(&format!(
            "applied {} migration(s) to {}: {}",
            applied.len(),
            config.database_url,
            applied.join(", ")
        ))
    }
}

/// A connection for an admin command, with the schema brought up to date first.
fn admin_connection(config: &Config) -> Result<DbConn, Failure> {
    Ok(migrated_connection(config)?.0)
}

/// A direct connection (no pool) after applying pending migrations; also returns
/// the versions applied.
fn migrated_connection(config: &Config) -> Result<(DbConn, Vec<String>), Failure> {
    let mut conn =
        ConnectionManager::new(config.database_url.clone(), config.postgres_statement_cache)
            .establish()?;
    let applied = migrations::run_pending(&mut conn)?;
    Ok((conn, applied))
}

/// The store of an admin command (one connection, schema brought up to date first)
/// and a runtime to run the operations on it.
fn admin_store(config: &Config) -> Result<(Store, tokio::runtime::Runtime), Failure> {
    drop(admin_connection(config)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    let store = Store::open(
        &config.database_url,
        &crate::store::PoolSettings::of(config, 1),
    )?;
    Ok((store, runtime))
}

/// Runs one operation against the admin store.
fn operate<T, F, Fut>(config: &Config, operation: F) -> Result<T, Failure>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<T, AdminError>>,
{
    let (store, runtime) = admin_store(config)?;
    Ok(runtime.block_on(operation(store))?)
}

/// Prints `value` as JSON with `--json`, else the `text` lines.
fn print_either(json: bool, value: &impl serde::Serialize, text: &[String]) -> Result<(), Failure> {
    if json {
        return print_json(value);
    }
    text.iter().try_for_each(|line| print_line(line))
}

/// Now, in the stored time format.
fn now() -> i64 {
    crate::store::unix_seconds(std::time::SystemTime::now())
}

/// Prints `value` as one line of JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value).map_err(|e| Failure::failed(e.to_string()))?;
    print_line(&text)
}

/// Writes one line to stdout; a closed stdout is a failure, not a panic.
fn print_line(line: &str) -> Result<(), Failure> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")
        .map_err(|e| Failure::failed(format!("cannot write to standard output: {e}")))
}
