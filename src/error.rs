//! Error plumbing shared by every command: exit codes, hints, usage errors.
//!
//! Errors are `anyhow` chains. A [`Hinted`] link adds a `hint:` line telling the user what to
//! type next; a [`UsageError`] anywhere in the chain makes the exit code 2.

use std::fmt;

/// The process exit codes, documented in docs/migrating-from-go-kubefedctl.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// The operation failed (API error, unreachable cluster, bad input file, ...).
    Failure = 1,
    /// The command line was wrong (unknown flag, missing argument, conflicting options).
    Usage = 2,
}

impl Exit {
    /// The exit code for an error chain: 2 for usage errors, 1 otherwise.
    pub fn for_error(err: &anyhow::Error) -> Exit {
        if err
            .chain()
            .any(|e| e.downcast_ref::<UsageError>().is_some())
        {
            Exit::Usage
        } else {
            Exit::Failure
        }
    }
}

/// A link in an error chain carrying advice for the user.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// The command line was wrong in a way clap cannot see (for example two flags that exclude
/// each other only for some values).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A new error with a hint and no cause.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// `.context()` with a hint.
pub trait HintExt<T> {
    fn context_hint(self, message: impl Into<String>, hint: impl Into<String>)
    -> anyhow::Result<T>;
}

impl<T, E> HintExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn context_hint(
        self,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> anyhow::Result<T> {
        self.map_err(|e| {
            e.into().context(Hinted {
                message: message.into(),
                hint: hint.into(),
            })
        })
    }
}

/// The hints found along an error chain, outermost first.
pub fn hints(err: &anyhow::Error) -> Vec<&str> {
    // A hint attached with `.context(Hinted)` is reachable only through anyhow's own downcast
    // (which searches the context layers); one created with `hinted()` appears in the chain.
    let mut out: Vec<&str> = err
        .downcast_ref::<Hinted>()
        .map(|h| h.hint.as_str())
        .into_iter()
        .collect();
    for h in err.chain().filter_map(|e| e.downcast_ref::<Hinted>()) {
        if !out.contains(&h.hint.as_str()) {
            out.push(h.hint.as_str());
        }
    }
    out
}
