//! `portcullis`: parse the command line, load config, init tracing, dispatch.

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
        .init();
    match cli::run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

fn fail(failure: cli::Failure) -> ExitCode {
    eprintln!("error: {}", failure.message);
    ExitCode::from(failure.status)
}
