//! `kubefedctl`. Everything happens in [`kubefedctl::cli::entry`], shared with the kubectl plugin.

fn main() -> std::process::ExitCode {
    kubefedctl::cli::entry()
}
