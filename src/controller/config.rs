//! The controller-manager's settings: the KubeFedConfig `kubefed`, read once at start-up (as
//! upstream), with upstream's defaults for every field left out and upstream's validation.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kube::{Api, Client};

use crate::api::kubefedconfig::{
    FEATURE_PUSH_RECONCILER, FEATURE_RAW_RESOURCE_STATUS_COLLECTION, FEATURE_SCHEDULER_PREFERENCES,
};
use crate::api::{
    ConfigurationMode, KUBEFED_CONFIG_NAME, KubeFedConfig, KubeFedConfigSpec, ResourceLockType,
    Scope,
};
use crate::error::hinted;

/// Everything the controllers take from the KubeFedConfig, defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The control plane's namespace (KubeFedClusters, Secrets, FederatedTypeConfigs).
    pub namespace: String,
    pub scope: Scope,
    /// Delay before a full re-reconcile after a cluster became available. Upstream waits this
    /// long; ours reconciles at once and keeps the value for compatibility of the config only.
    pub available_delay: Duration,
    pub unavailable_delay: Duration,
    /// How long a member cache may take to sync before its cluster is reported as
    /// `CachedRetrievalFailed` (upstream exits the process instead, #1459).
    pub cache_sync_timeout: Duration,
    pub leader: LeaderSettings,
    pub push_reconciler: bool,
    pub scheduler_preferences: bool,
    pub raw_resource_status_collection: bool,
    pub health: HealthSettings,
    /// Workers per federated type (upstream `syncController.maxConcurrentReconciles`).
    pub sync_concurrency: usize,
    pub adopt_resources: bool,
    pub status_concurrency: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeaderSettings {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    pub lock: ResourceLockType,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HealthSettings {
    pub period: Duration,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub timeout: Duration,
}

impl Settings {
    /// The namespace the controllers are limited to: the control plane's own in `Namespaced`
    /// scope, all namespaces (`None`) in `Cluster` scope.
    pub fn target_namespace(&self) -> Option<&str> {
        match self.scope {
            Scope::Namespaced => Some(&self.namespace),
            Scope::Cluster => None,
        }
    }

    /// Resolve a KubeFedConfig spec: upstream's defaults (`defaults.go`) for what is left out,
    /// then upstream's validation (`validation.go`).
    pub fn resolve(namespace: &str, spec: &KubeFedConfigSpec) -> Result<Settings> {
        let durations = spec.controller_duration.clone().unwrap_or_default();
        let leader = spec.leader_elect.clone().unwrap_or_default();
        let health = spec.cluster_health_check.clone().unwrap_or_default();
        let sync = spec.sync_controller.clone().unwrap_or_default();
        let status = spec.status_controller.clone().unwrap_or_default();
        let duration =
            |field: &str, value: &Option<String>, default: Duration| -> Result<Duration> {
                match value {
                    None => Ok(default),
                    Some(text) => {
                        let d = parse_duration(text).with_context(|| {
                            format!("invalid duration `{text}` in spec.{field}")
                        })?;
                        if d.is_zero() {
                            bail!("spec.{field} must be greater than 0, not `{text}`");
                        }
                        Ok(d)
                    }
                }
            };
        let positive = |field: &str, value: Option<i64>, default: i64| -> Result<i64> {
            let v = value.unwrap_or(default);
            if v <= 0 {
                bail!("spec.{field} must be greater than 0, not {v}");
            }
            Ok(v)
        };
        let mut seen = std::collections::BTreeSet::new();
        for gate in &spec.feature_gates {
            if ![
                FEATURE_PUSH_RECONCILER,
                FEATURE_SCHEDULER_PREFERENCES,
                FEATURE_RAW_RESOURCE_STATUS_COLLECTION,
            ]
            .contains(&gate.name.as_str())
            {
                bail!(
                    "spec.featureGates: unknown feature gate `{}` (known: {FEATURE_PUSH_RECONCILER}, \
                     {FEATURE_RAW_RESOURCE_STATUS_COLLECTION}, {FEATURE_SCHEDULER_PREFERENCES})",
                    gate.name
                );
            }
            if !seen.insert(gate.name.as_str()) {
                bail!(
                    "spec.featureGates: `{}` is listed more than once",
                    gate.name
                );
            }
        }
        let gate = |name: &str, default: bool| {
            spec.feature_gate(name)
                .map_or(default, |mode| mode.is_enabled())
        };
        let settings = Settings {
            namespace: namespace.to_string(),
            scope: spec.scope,
            available_delay: duration(
                "controllerDuration.availableDelay",
                &durations.available_delay,
                Duration::from_secs(20),
            )?,
            unavailable_delay: duration(
                "controllerDuration.unavailableDelay",
                &durations.unavailable_delay,
                Duration::from_secs(60),
            )?,
            cache_sync_timeout: duration(
                "controllerDuration.cacheSyncTimeout",
                &durations.cache_sync_timeout,
                Duration::from_secs(300),
            )?,
            leader: LeaderSettings {
                lease_duration: duration(
                    "leaderElect.leaseDuration",
                    &leader.lease_duration,
                    Duration::from_secs(15),
                )?,
                renew_deadline: duration(
                    "leaderElect.renewDeadline",
                    &leader.renew_deadline,
                    Duration::from_secs(10),
                )?,
                retry_period: duration(
                    "leaderElect.retryPeriod",
                    &leader.retry_period,
                    Duration::from_secs(5),
                )?,
                lock: leader.resource_lock.unwrap_or(ResourceLockType::ConfigMaps),
            },
            push_reconciler: gate(FEATURE_PUSH_RECONCILER, true),
            scheduler_preferences: gate(FEATURE_SCHEDULER_PREFERENCES, true),
            raw_resource_status_collection: gate(FEATURE_RAW_RESOURCE_STATUS_COLLECTION, false),
            health: HealthSettings {
                period: duration(
                    "clusterHealthCheck.period",
                    &health.period,
                    Duration::from_secs(10),
                )?,
                failure_threshold: positive(
                    "clusterHealthCheck.failureThreshold",
                    health.failure_threshold,
                    3,
                )?
                .try_into()
                .unwrap_or(u32::MAX),
                success_threshold: positive(
                    "clusterHealthCheck.successThreshold",
                    health.success_threshold,
                    1,
                )?
                .try_into()
                .unwrap_or(u32::MAX),
                timeout: duration(
                    "clusterHealthCheck.timeout",
                    &health.timeout,
                    Duration::from_secs(3),
                )?,
            },
            sync_concurrency: positive(
                "syncController.maxConcurrentReconciles",
                sync.max_concurrent_reconciles,
                1,
            )?
            .try_into()
            .unwrap_or(usize::MAX),
            adopt_resources: sync
                .adopt_resources
                .is_none_or(|mode| mode == ConfigurationMode::Enabled),
            status_concurrency: positive(
                "statusController.maxConcurrentReconciles",
                status.max_concurrent_reconciles,
                1,
            )?
            .try_into()
            .unwrap_or(usize::MAX),
        };
        let l = &settings.leader;
        // NB: upstream's rule (validation.go): leaseDuration > renewDeadline > 1.2 x retryPeriod.
        if l.lease_duration <= l.renew_deadline {
            bail!(
                "spec.leaderElect.leaseDuration ({:?}) must be greater than renewDeadline ({:?})",
                l.lease_duration,
                l.renew_deadline
            );
        }
        if l.renew_deadline.as_secs_f64() <= 1.2 * l.retry_period.as_secs_f64() {
            bail!(
                "spec.leaderElect.renewDeadline ({:?}) must be greater than 1.2 x retryPeriod ({:?})",
                l.renew_deadline,
                l.retry_period
            );
        }
        Ok(settings)
    }
}

/// Read the KubeFedConfig `kubefed` from the control plane's namespace, or from `file` (whose
/// namespace is then taken to be the control plane's, as upstream's `--kubefed-config`).
pub async fn load(client: &Client, namespace: &str, file: Option<&Path>) -> Result<Settings> {
    let (spec, source) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("failed to read KubeFedConfig file `{}`", path.display())
            })?;
            let config: KubeFedConfig = serde_saphyr::from_str(&text)
                .with_context(|| format!("`{}` is not a KubeFedConfig", path.display()))?;
            (config.spec, format!("file `{}`", path.display()))
        }
        None => {
            let api: Api<KubeFedConfig> = Api::namespaced(client.clone(), namespace);
            let config = api
                .get_opt(KUBEFED_CONFIG_NAME)
                .await
                .with_context(|| {
                    format!("failed to read KubeFedConfig `{namespace}/{KUBEFED_CONFIG_NAME}`")
                })?
                .ok_or_else(|| {
                    hinted(
                        format!("KubeFedConfig `{namespace}/{KUBEFED_CONFIG_NAME}` does not exist"),
                        format!(
                            "install the control plane first: `kubefedctl init --kubefed-namespace {namespace}`"
                        ),
                    )
                })?;
            (config.spec, format!("`{namespace}/{KUBEFED_CONFIG_NAME}`"))
        }
    };
    Settings::resolve(namespace, &spec).with_context(|| format!("invalid KubeFedConfig {source}"))
}

/// Parse a Go `time.Duration` string (`20s`, `1m30s`, `1.5h`, `300ms`, `0`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        bail!("expected a duration such as `20s`, `1m30s` or `500ms`");
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            bail!("expected a number in `{text}`");
        }
        let value: f64 = number
            .parse()
            .with_context(|| format!("bad number `{number}` in `{text}`"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => bail!("missing unit in duration `{text}` (ns, us, ms, s, m, h)"),
            other => bail!("unknown unit `{other}` in duration `{text}` (ns, us, ms, s, m, h)"),
        };
        total += value * scale;
    }
    // Go's Duration is an int64 of nanoseconds: about 292 years.
    if !total.is_finite() || total > 9.2e9 {
        bail!("duration `{text}` is out of range");
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for (text, ms) in [
            ("20s", 20_000),
            ("1m30s", 90_000),
            ("5m", 300_000),
            ("1.5h", 5_400_000),
            ("300ms", 300),
            ("0", 0),
            ("1h1m1s", 3_661_000),
        ] {
            assert_eq!(parse_duration(text).unwrap().as_millis(), ms, "{text}");
        }
        for bad in ["", "10", "-5s", "5x", "s", "1e400h", ".s", "99999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chart_defaults_resolve_to_upstream_defaults() {
        let a =
            Settings::resolve("ns", &KubeFedConfigSpec::chart_defaults(Scope::Cluster)).unwrap();
        let b = Settings::resolve("ns", &KubeFedConfigSpec::new(Scope::Cluster)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.health.failure_threshold, 3);
        assert_eq!(a.leader.lease_duration, Duration::from_secs(15));
        assert!(a.push_reconciler && a.scheduler_preferences && !a.raw_resource_status_collection);
        assert!(a.adopt_resources);
        assert_eq!(a.target_namespace(), None);
    }

    #[test]
    fn upstream_validation() {
        let mut spec = KubeFedConfigSpec::chart_defaults(Scope::Namespaced);
        spec.leader_elect.as_mut().unwrap().renew_deadline = Some("15s".into());
        let err = Settings::resolve("ns", &spec).unwrap_err().to_string();
        assert!(err.contains("leaseDuration"), "{err}");
        let mut spec = KubeFedConfigSpec::chart_defaults(Scope::Namespaced);
        spec.cluster_health_check
            .as_mut()
            .unwrap()
            .failure_threshold = Some(0);
        assert!(Settings::resolve("ns", &spec).is_err());
        let mut spec = KubeFedConfigSpec::chart_defaults(Scope::Namespaced);
        spec.feature_gates.push(spec.feature_gates[0].clone());
        assert!(Settings::resolve("ns", &spec).is_err());
        let spec = KubeFedConfigSpec::chart_defaults(Scope::Namespaced);
        assert_eq!(
            Settings::resolve("ns", &spec).unwrap().target_namespace(),
            Some("ns")
        );
    }
}
