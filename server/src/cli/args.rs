//! The `roster` command line, declared with clap's derive API.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Roster keeps an Okta organization's users and groups in sync.",
    long_about = "Roster keeps an Okta organization's users and groups in sync.\n\n\
        Without a command it serves the portal (`roster serve`). `roster admin …` works on the data \
        directory of this host. The other commands talk to a running Roster over its REST API: \
        set ROSTER_URL and ROSTER_TOKEN (or pass --url and --token).",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal, the REST API and the scheduled syncs (the default).
    Serve,
    /// Host-side administration on the data directory (works offline).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Okta directories: set up, verify, sync, pause, delete.
    #[command(subcommand)]
    Directories(DirectoriesCommand),
    /// Synced users of a directory.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Synced groups of a directory and their members.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Sync runs of a directory.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// API tokens of the running server.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Sign in with Okta: show, set or turn off the OIDC app settings.
    #[command(subcommand)]
    Signin(SigninCommand),
    /// SCIM push from Okta: set-up, tokens, the request log, SCIM-only directories.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// The event log: every change to users, groups, memberships, directories and syncs.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Webhook endpoints: the event log sent, signed, to URLs you choose.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Failure notifications: open problems and what was mailed; a test mail.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// The audit log: sign-ins, configuration changes, syncs, tokens.
    Audit {
        /// An action (signin.succeeded) or a prefix ending in a dot (directory.).
        #[arg(long)]
        action: Option<String>,
        /// Part of the actor's name or id.
        #[arg(long)]
        actor: Option<String>,
        /// Only failures (refused sign-ins, …).
        #[arg(long)]
        failed: bool,
        /// At most this many entries (newest first).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Print a shell completion script (e.g. `roster completions bash > /etc/bash_completion.d/roster`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Apply the database migrations this binary carries (`serve` does too,
    /// on start) and print the schema's state. Safe while other replicas start.
    Migrate {
        #[command(flatten)]
        output: Output,
    },
    /// Write every directory, user, group, run, key (sealed), token (hashed),
    /// sign-in setting and audit entry to a file, to move the instance to
    /// another database. Stop the server first.
    Export {
        /// Where to write (JSON Lines); `-` for standard output.
        #[arg(long, default_value = "-")]
        output: String,
    },
    /// Read an export into this instance's database, which must be new and
    /// empty (all or nothing). Needs the old instance's master key.
    Import {
        /// The export to read; `-` for standard input.
        #[arg(long, default_value = "-")]
        input: String,
    },
    /// Print a fresh one-time sign-in link (valid for 1 hour), even when admins exist.
    SetupLink,
    /// Create an API token directly in the data directory (to bootstrap the CLI).
    CreateToken {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Scope::ReadOnly)]
        scope: Scope,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigninCommand {
    /// The settings (never the secret) and the values to enter in Okta.
    Show {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Save the settings. Test sign-in needs a browser, so this saves them
    /// untested and says so; run Test sign-in in Settings → Sign-in afterwards.
    Set {
        /// acme.okta.com, or an issuer such as https://acme.okta.com/oauth2/default.
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input (one line); omit to keep the saved one.
        #[arg(long)]
        client_secret_stdin: bool,
        /// An Okta group whose members administer Roster (repeat for several).
        #[arg(long = "admin-group", required = true)]
        admin_groups: Vec<String>,
        /// An Okta group whose members get read-only access (repeat for several).
        #[arg(long = "viewer-group")]
        viewer_groups: Vec<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Turn Okta sign-in off (setup and recovery links keep working).
    Remove {
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    ReadOnly,
    ReadWrite,
}

/// Where the running server is, and the token to use.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Roster's URL, e.g. https://roster.example.com.
    #[arg(
        long,
        env = "ROSTER_URL",
        global = true,
        default_value = "http://127.0.0.1:3000"
    )]
    pub url: String,
    /// An API token (`roster_…`).
    #[arg(long, env = "ROSTER_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the newest events (or those after --after), then, with --follow,
    /// each new one as it commits. With --json, one JSON object per line.
    Tail {
        /// Start after this cursor (an event's `cursor`) instead of the newest events.
        #[arg(long)]
        after: Option<String>,
        /// How many of the newest events to print first (without --after).
        #[arg(long, default_value_t = 20)]
        last: i64,
        /// Keep printing events as they commit, until interrupted.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only these types, comma-separated (user.deprovisioned,group.member_removed).
        #[arg(long)]
        types: Option<String>,
        /// Only this directory's events.
        #[arg(long)]
        directory: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// E-mail set-up and the problems that need an admin.
    Status {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Send a test mail to the recipients now.
    Test {
        #[command(flatten)]
        remote: Remote,
    },
}

/// Where a webhook sends and what.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettingsArgs {
    /// The receiver, https://… (no redirects are followed).
    #[arg(value_name = "URL")]
    pub endpoint: String,
    /// Event types to send, comma-separated; none: every type.
    #[arg(long)]
    pub types: Option<String>,
    /// Directory ids whose events to send, comma-separated; none: every directory.
    #[arg(long)]
    pub directories: Option<String>,
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Every endpoint, its status and cursor.
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// One endpoint in full.
    Show {
        id: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Add an endpoint; its signing secret is printed once. It is sent the
    /// events that commit from now on.
    Create {
        #[command(flatten)]
        settings: WebhookSettingsArgs,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Change an endpoint's URL, types, directories or description.
    Update {
        id: String,
        #[command(flatten)]
        settings: WebhookSettingsArgs,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Start sending again (failures forgotten; what waited is sent).
    Enable {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Stop sending; events wait, within the retention period.
    Disable {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// A new signing secret, printed once; the old one keeps signing for --overlap-hours.
    RotateSecret {
        id: String,
        #[arg(long, default_value_t = 24)]
        overlap_hours: i64,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Send a signed webhook.test event now and print how it went.
    Test {
        id: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Send every event after a cursor again (0: every event kept).
    Replay {
        id: String,
        #[arg(long)]
        after: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The delivery log, newest first.
    Deliveries {
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DirectoryArg {
    /// The directory's id (see `roster directories list`).
    #[arg(long, short = 'd')]
    pub directory: String,
}

#[derive(Debug, Subcommand)]
pub enum DirectoriesCommand {
    /// Active directories with status and counts.
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
        /// List unfinished set-ups (drafts) instead.
        #[arg(long)]
        drafts: bool,
    },
    /// One directory (draft or active).
    Show {
        id: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Start a new directory; prints the key to register in Okta.
    #[command(subcommand)]
    Add(AddCommand),
    /// Run the Verify checklist (on a draft or an active directory).
    Verify {
        id: String,
        /// The app to sync, when the service app can read several.
        #[arg(long)]
        app: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Create (activate) a verified draft; its first sync starts.
    Create {
        id: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Sync now.
    Sync {
        id: String,
        /// Wait for the run to finish, showing its progress.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Stop scheduled syncs.
    Pause {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Resume scheduled syncs.
    Resume {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The Okta Event Hook set-up: URL, header, secret, event types, `curl`
    /// and Terraform, the last delivery.
    OktaHook {
        id: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Create the Okta Event Hook secret (or a new one: Okta must then be
    /// given it).
    OktaHookCreate {
        id: String,
        /// The header Okta sends the secret in (default Authorization).
        #[arg(long)]
        header: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// System Log polling: whether it is on, its state, cursor and last poll.
    LogPolling {
        id: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Turn System Log polling on or off, or change its intervals (on needs
    /// the okta.logs.read scope granted in Okta).
    #[command(group(clap::ArgGroup::new("switch").required(true).args(["on", "off"])))]
    LogPollingSet {
        id: String,
        /// Poll the System Log.
        #[arg(long)]
        on: bool,
        /// Stop polling (scheduled syncs list everything again).
        #[arg(long)]
        off: bool,
        /// Seconds between polls, 10 to 3600 (default 60).
        #[arg(long, value_name = "SECONDS")]
        interval: Option<i64>,
        /// Hours between full reconciliations, 1 to 168 (default 24).
        #[arg(long, value_name = "HOURS")]
        reconcile_hours: Option<i64>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Delete a directory and everything synced from it (or discard a draft).
    Delete {
        id: String,
        /// The directory's name, typed as confirmation.
        #[arg(long)]
        confirm: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// An Okta org through an API Services app.
    Okta {
        /// The Okta domain, e.g. acme.okta.com.
        #[arg(long)]
        domain: String,
        /// The API Services app's Client ID.
        #[arg(long)]
        client_id: String,
        /// Create the directory under this name once it verifies.
        #[arg(long)]
        name: Option<String>,
        /// The app to sync, when the service app can read several.
        #[arg(long)]
        app: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Present users (every page unless --limit).
    List {
        #[command(flatten)]
        directory: DirectoryArg,
        /// Matches name, e-mail or login.
        #[arg(long, default_value = "")]
        search: String,
        /// An Okta status: ACTIVE, SUSPENDED, …
        #[arg(long, default_value = "")]
        status: String,
        /// Only members of this Okta group id.
        #[arg(long)]
        group: Option<String>,
        /// name, email, login, status, updated or groups.
        #[arg(long, default_value = "name")]
        sort: String,
        /// At most this many users.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// One user with traits, groups and history.
    Show {
        user: String,
        #[command(flatten)]
        directory: DirectoryArg,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Present groups (every page unless --limit).
    List {
        #[command(flatten)]
        directory: DirectoryArg,
        #[arg(long, default_value = "")]
        search: String,
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Present members of a group.
    Members {
        group: String,
        #[command(flatten)]
        directory: DirectoryArg,
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first.
    List {
        #[command(flatten)]
        directory: DirectoryArg,
        #[arg(long, default_value_t = 25)]
        limit: u32,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// One run with its counters and a sample of changes.
    Show {
        run: String,
        #[command(flatten)]
        directory: DirectoryArg,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Scope::ReadOnly)]
        scope: Scope,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke a token; it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// The base URL, Okta's settings and the tokens of a directory.
    Show {
        directory: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Let Okta push to a directory.
    Enable {
        directory: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Stop accepting pushes (a pulling directory keeps pulling).
    Disable {
        directory: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Create a directory fed only by Okta's SCIM push (no API Services app).
    CreateDirectory {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Generate a bearer token for Okta; its secret is printed once.
    TokenCreate {
        directory: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke a token; Okta's next request with it gets 401.
    TokenRevoke {
        directory: String,
        token_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Recent SCIM requests (method, path, status, duration), newest first.
    Log {
        directory: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_declares_its_arguments_consistently() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
