//! Type lookup shared by enable, disable, federate and orphaning: one aggregated discovery
//! pass per run (two requests), then kubectl-like name matching (kubefedctl-behaviour.md 4.1).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use kube::Client;
use kube::core::discovery::v2::APIGroupDiscoveryList;

use crate::error::hinted;

/// An API type the server serves, in the version discovery prefers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiType {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl ApiType {
    /// `plural` for the core group, else `plural.group`: the FederatedTypeConfig name.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// How an object of this type is named in messages: `namespace/name`, or `name` for a
    /// cluster-scoped type.
    pub fn display_name(&self, namespace: &str, name: &str) -> String {
        if self.namespaced {
            format!("{namespace}/{name}")
        } else {
            name.to_string()
        }
    }

    /// A dynamic API for this type in `version` (its discovered version when `None`), namespaced
    /// to `namespace` when the type is namespaced.
    pub fn dynamic_api(
        &self,
        client: &kube::Client,
        version: Option<&str>,
        namespace: &str,
    ) -> kube::Api<kube::api::DynamicObject> {
        let gvk = kube::api::GroupVersionKind::gvk(
            &self.group,
            version.unwrap_or(&self.version),
            &self.kind,
        );
        let ar = kube::discovery::ApiResource::from_gvk_with_plural(&gvk, &self.plural);
        if self.namespaced {
            kube::Api::namespaced_with(client.clone(), namespace, &ar)
        } else {
            kube::Api::all_with(client.clone(), &ar)
        }
    }

    fn matches(&self, name: &str) -> bool {
        name == self.plural
            || name == self.singular
            || name == self.kind.to_lowercase()
            || self.short_names.iter().any(|s| s.to_lowercase() == name)
    }
}

/// The server's types: for each group and resource, the entry of the group's preferred version
/// if it has the resource, else of the first version listing it (as client-go's
/// `ServerPreferredResources`). Subresources are left out.
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    pub types: Vec<ApiType>,
    /// Groups whose discovery is stale (an unavailable aggregated API), by name.
    pub stale_groups: Vec<String>,
}

pub async fn discover(client: &Client, context: &str) -> Result<Discovered> {
    let (core, groups) = futures::future::try_join(
        client.list_core_api_versions_aggregated(),
        client.list_api_groups_aggregated(),
    )
    .await
    .with_context(|| format!("failed to discover the API types of cluster `{context}`"))?;
    Ok(from_discovery(core, groups))
}

fn from_discovery(core: APIGroupDiscoveryList, groups: APIGroupDiscoveryList) -> Discovered {
    let mut out = Discovered::default();
    for group in core.items.into_iter().chain(groups.items) {
        let group_name = group.metadata.and_then(|m| m.name).unwrap_or_default();
        // Versions come in preference order; keep the first entry per resource.
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        for version in group.versions {
            let v = version.version.unwrap_or_default();
            if version.freshness.as_deref() == Some("Stale")
                && !out.stale_groups.contains(&group_name)
            {
                out.stale_groups.push(group_name.clone());
            }
            for r in version.resources {
                let Some(plural) = r.resource else { continue };
                if plural.contains('/') || seen.insert(plural.clone(), ()).is_some() {
                    continue;
                }
                let kind = r.response_kind.and_then(|k| k.kind).unwrap_or_default();
                out.types.push(ApiType {
                    group: group_name.clone(),
                    version: v.clone(),
                    singular: r
                        .singular_resource
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| kind.to_lowercase()),
                    kind,
                    plural,
                    short_names: r.short_names,
                    namespaced: r.scope.as_deref() == Some("Namespaced"),
                    verbs: r.verbs,
                });
            }
        }
    }
    out
}

/// Why a name did not resolve.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("Unable to find api resource named \"{0}\".")]
    NotFound(String),
    #[error(
        "Multiple resources are matched by \"{name}\": {}. A group-qualified plural name must be provided.",
        .candidates.join(", ")
    )]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
}

impl Discovered {
    /// Resolve what a user typed: a plural, singular, kind or short name, optionally
    /// qualified by group (`deployments.apps`; also `deployment.apps` and `Deployment.apps`,
    /// which the Go tool never accepted). The core group wins; otherwise several groups
    /// matching is an error. `version` filters on the discovered version.
    pub fn lookup(&self, name: &str, version: Option<&str>) -> Result<&ApiType, LookupError> {
        let lowered = name.to_lowercase();
        let candidates: Vec<&ApiType> = self
            .types
            .iter()
            .filter(|t| version.is_none_or(|v| v == t.version))
            .filter(|t| match lowered.split_once('.') {
                Some((n, g)) => g == t.group && t.matches(n),
                None => t.matches(&lowered),
            })
            .collect();
        if let Some(core) = candidates.iter().find(|t| t.group.is_empty()) {
            return Ok(core);
        }
        match candidates.as_slice() {
            [] => Err(LookupError::NotFound(name.to_string())),
            [one] => Ok(one),
            many => {
                let mut names: Vec<String> = many.iter().map(|t| t.qualified_plural()).collect();
                names.dedup();
                if names.len() == 1 {
                    return Ok(many[0]);
                }
                Err(LookupError::Ambiguous {
                    name: name.to_string(),
                    candidates: names,
                })
            }
        }
    }

    /// [`Discovered::lookup`] as an error users can act on (mentions stale groups).
    pub fn resolve(&self, name: &str, version: Option<&str>, context: &str) -> Result<&ApiType> {
        self.lookup(name, version).map_err(|e| {
            let stale = if self.stale_groups.is_empty() {
                String::new()
            } else {
                format!(" (discovery of {} is unavailable)", self.stale_groups.join(", "))
            };
            let hint = match &e {
                LookupError::NotFound(_) => match version {
                    Some(v) => format!(
                        "check the name and --version {v} (only the preferred version of each type is used); list types with `kubectl --context {context} api-resources`"
                    ),
                    None => format!("list the types with `kubectl --context {context} api-resources`"),
                },
                LookupError::Ambiguous { candidates, .. } => format!("for example `{}`", candidates[0]),
            };
            hinted(format!("{e}{stale}"), hint)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(group: &str, plural: &str, kind: &str, short: &[&str]) -> ApiType {
        ApiType {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            namespaced: true,
            verbs: vec![],
        }
    }

    #[test]
    fn lookup_forms_core_wins_and_ambiguity() {
        let d = Discovered {
            types: vec![
                t("", "events", "Event", &["ev"]),
                t("apps", "deployments", "Deployment", &["deploy"]),
                t("events.k8s.io", "events", "Event", &["ev"]),
                t("a.example", "widgets", "Widget", &[]),
                t("b.example", "widgets", "Widget", &[]),
            ],
            stale_groups: vec![],
        };
        for name in [
            "deployments",
            "deployment",
            "Deployment",
            "deploy",
            "deployments.apps",
            "deployment.apps",
            "Deployment.apps",
        ] {
            assert_eq!(
                d.lookup(name, None).unwrap().plural,
                "deployments",
                "{name}"
            );
        }
        assert_eq!(d.lookup("events", None).unwrap().group, "");
        assert_eq!(
            d.lookup("events.events.k8s.io", None).unwrap().group,
            "events.k8s.io"
        );
        let err = d.lookup("widgets", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multiple resources are matched by \"widgets\": widgets.a.example, widgets.b.example. A group-qualified plural name must be provided."
        );
        assert!(d.lookup("deployments", Some("v1beta1")).is_err());
        assert!(matches!(
            d.lookup("pods", None),
            Err(LookupError::NotFound(_))
        ));
    }
}
