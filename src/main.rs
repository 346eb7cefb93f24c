use std::process::ExitCode;

use clap::Parser;
use kubefedctl::cli::{self, Cli};
use kubefedctl::error::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = cli.global.printer();
    tracing_subscriber::fmt()
        .with_env_filter(cli::log_filter(cli.global.verbosity))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = runtime
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(cli::run(cli)));
    match result {
        Ok(()) => ExitCode::from(Exit::Ok as u8),
        Err(err) => {
            printer.error(&err);
            ExitCode::from(Exit::for_error(&err) as u8)
        }
    }
}
