//! The operations. No clap and no printing here: typed `XxxOptions` in, typed `XxxOutcome`
//! out, progress through a [`Reporter`].

pub mod apply;
pub mod clusters;
pub mod disable;
pub mod discovery;
pub mod enable;
pub mod federate;
pub mod init;
pub mod join;
pub mod names;
pub mod orphaning;
pub mod unjoin;

/// Field manager used for every server-side apply.
pub const FIELD_MANAGER: &str = "kubefedctl";

/// Dry-run model, applied in one place ([`apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DryRun {
    /// Write for real.
    #[default]
    None,
    /// Read what is needed, write nothing.
    Client,
    /// Send writes with `dryRun=All`: the API server validates and admits, persists nothing.
    Server,
}

impl DryRun {
    pub fn writes(self) -> bool {
        self == DryRun::None
    }

    /// What result lines end with, as kubectl prints them: ` (dry run)`, ` (server dry run)`.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// What to do when an object a command would create already exists
/// (`--error-on-existing`, default true as in Go kubefedctl).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnExisting {
    #[default]
    Error,
    Update,
}

/// Whether an API call failed with 404: the object, or its whole resource type, is absent.
/// (kube's `Status::is_not_found` needs a `NotFound` reason, which a missing CRD's plain
/// "404 page not found" lacks.)
pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

/// Delete an object; one that is already gone is fine. Returns whether it existed.
pub async fn delete_if_present<K>(
    api: &kube::Api<K>,
    name: &str,
    dp: &kube::api::DeleteParams,
) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, dp).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// [`delete_if_present`] under `dry_run`: a client-side dry run only reads whether the object
/// exists (would be deleted); a server-side one sends the delete with `dp`'s dryRun.
pub async fn delete_unless_planned<K>(
    api: &kube::Api<K>,
    name: &str,
    dp: &kube::api::DeleteParams,
    dry_run: DryRun,
) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if dry_run == DryRun::Client {
        api.get_opt(name).await.map(|o| o.is_some())
    } else {
        delete_if_present(api, name, dp).await
    }
}

/// Receives progress messages from long operations.
pub trait Reporter: Send + Sync {
    fn step(&self, message: &str);
}

/// A reporter that drops every message.
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _message: &str) {}
}
