use clap::Parser;
use server::{
    auth::print_setup_link,
    cli::{self, Cli, CliError},
    config::{Config, ProcessEnv},
    startup::Application,
    telemetry,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2.
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(cli::Command::Serve) => serve().map_err(CliError::usage),
        Some(command) => runtime().and_then(|rt| rt.block_on(cli::run(command))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(e.exit)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))
}

fn serve() -> Result<(), String> {
    let config = Config::load(&ProcessEnv).map_err(|e| e.to_string())?;
    telemetry::init(&config.log_filter);
    let runtime = runtime().map_err(|e| e.message)?;
    runtime.block_on(async {
        let app = Application::build(config).await.map_err(|e| e.to_string())?;
        let public_url = app.state().public_url.as_str().to_owned();
        tracing::info!(port = app.port(), "Roster is listening; open {public_url}");
        if let Some(link) = app.setup_link() {
            print_setup_link(link);
        }
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })
}
