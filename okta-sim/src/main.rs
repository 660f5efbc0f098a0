//! `okta-sim` binary: seeds an org and serves it until SIGTERM or Ctrl-C.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use okta_sim::{RateLimitConfig, RunningSim, SimConfig};

const USAGE: &str = "usage: okta-sim [--listen ADDR] [--seed N] [--users N] [--groups N] [--memberships N] \
[--rate-limit-per-minute N]
Each flag can also be set by environment: OKTA_SIM_LISTEN, OKTA_SIM_SEED, OKTA_SIM_USERS, OKTA_SIM_GROUPS,
OKTA_SIM_MEMBERSHIPS, OKTA_SIM_RATE_LIMIT_PER_MINUTE (flags win).";

fn parse_args() -> Result<SimConfig, String> {
    let mut config = SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 4010)),
        rate_limit: RateLimitConfig::default(),
        ..SimConfig::default()
    };
    let mut settings: Vec<(String, String)> = Vec::new();
    for (flag, var) in [
        ("listen", "OKTA_SIM_LISTEN"),
        ("seed", "OKTA_SIM_SEED"),
        ("users", "OKTA_SIM_USERS"),
        ("groups", "OKTA_SIM_GROUPS"),
        ("memberships", "OKTA_SIM_MEMBERSHIPS"),
        ("rate-limit-per-minute", "OKTA_SIM_RATE_LIMIT_PER_MINUTE"),
    ] {
        if let Ok(v) = std::env::var(var) {
            settings.push((flag.to_owned(), v));
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Err(USAGE.to_owned());
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg}\n{USAGE}"));
        };
        let (flag, value) = match flag.split_once('=') {
            Some((f, v)) => (f.to_owned(), v.to_owned()),
            None => (
                flag.to_owned(),
                args.next().ok_or_else(|| format!("--{flag} needs a value"))?,
            ),
        };
        settings.push((flag, value));
    }
    for (flag, value) in settings {
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("--{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "listen" => {
                config.listen = value
                    .parse()
                    .map_err(|_| format!("--listen: bad address {value}"))?
            }
            "seed" => config.seed = num(&value)?,
            "users" => config.users = num(&value)? as usize,
            "groups" => config.groups = num(&value)? as usize,
            "memberships" => config.memberships = num(&value)? as usize,
            "rate-limit-per-minute" => {
                config.rate_limit.per_minute_default = u32::try_from(num(&value)?)
                    .map_err(|_| "--rate-limit-per-minute too large".to_owned())?;
                config.rate_limit.window = Duration::from_secs(60);
            }
            other => return Err(format!("unknown flag --{other}\n{USAGE}")),
        }
    }
    Ok(config)
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("okta_sim=info")),
        )
        .init();
    let config = match parse_args() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let sim = match RunningSim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("okta-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("okta-sim listening on {}", sim.base_url());
    println!("admin page: {}/sim", sim.base_url());
    wait_for_signal().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}
