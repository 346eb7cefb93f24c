//! `kubefedctl completion SHELL`: the shell script that loads completion (it calls back into
//! kubefedctl, so completions follow the installed version and see live context names).

use anyhow::Result;
use clap::{Args, ValueEnum};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use super::GlobalArgs;

/// Print the shell completion script
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # bash, for this shell; add the line to ~/.bashrc to keep it\n  \
    source <(kubefedctl completion bash)\n\n  \
    # zsh\n  \
    kubefedctl completion zsh > \"${fpath[1]}/_kubefedctl\"\n\n  \
    # fish\n  \
    kubefedctl completion fish > ~/.config/fish/completions/kubefedctl.fish")]
pub struct CompletionArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// The registration script for `shell`, completing the command `bin`.
pub fn script(shell: Shell, bin: &str) -> Result<String> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Powershell => &Powershell,
        Shell::Elvish => &Elvish,
    };
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", bin, bin, bin, &mut buf)?;
    Ok(String::from_utf8(buf)?)
}

pub fn run(args: CompletionArgs, global: &GlobalArgs) -> Result<()> {
    let CompletionArgs { shell } = args;
    global.printer().data(&script(shell, &super::bin_name())?);
    Ok(())
}
