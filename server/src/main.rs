use server::{
    auth::print_setup_link,
    config::{Config, ProcessEnv},
    startup::Application,
    telemetry,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("roster: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let config = Config::load(&ProcessEnv).map_err(|e| e.to_string())?;
    telemetry::init(&config.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
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
