//! `portcullis`: parse the command line, load config, init tracing, dispatch.

use std::io::IsTerminal;
use std::process::ExitCode;

use portcullis::cli;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let config = match cli::load_config(&cli) {
        Ok(config) => config,
        Err(failure) => return fail(failure),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

fn fail(failure: cli::Failure) -> ExitCode {
    // One line, even when a driver's message spans several.
    let message = failure
        .message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {message}");
    ExitCode::from(failure.status)
}
