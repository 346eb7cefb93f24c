//! `kubectl-kubefed`: kubefedctl as a kubectl plugin (`kubectl kubefed join ...`). Same program;
//! help and usage say `kubectl kubefed`.

fn main() -> std::process::ExitCode {
    kubefedctl::cli::entry()
}
