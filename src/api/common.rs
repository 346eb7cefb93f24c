//! Value types shared by several KubeFed resources.

use crate::api::schema::string_enum;

string_enum! {
    /// Scope of a Kubernetes resource type or of the KubeFed control plane
    /// (Go: `apiextensionsv1.ResourceScope`).
    ///
    /// The CRD schema is a plain string, as upstream's; the values are checked by KubeFed's
    /// admission webhook, and by this type when deserialising.
    pub enum Scope {
        /// Cluster-scoped resource, or a control plane watching all namespaces.
        Cluster => "Cluster",
        /// Namespaced resource, or a control plane limited to its own namespace.
        Namespaced => "Namespaced",
    }
}

impl Scope {
    /// `true` for [`Scope::Namespaced`].
    pub fn is_namespaced(&self) -> bool {
        matches!(self, Scope::Namespaced)
    }
}

string_enum! {
    /// An `Enabled`/`Disabled` switch. Upstream spells this as several Go string types
    /// (`ConfigurationMode` for feature gates, `ResourceAdoption` for `adoptResources`,
    /// `PropagationMode`, `StatusCollectionMode`), all with exactly these two values.
    pub enum ConfigurationMode {
        /// The feature is on.
        Enabled => "Enabled",
        /// The feature is off.
        Disabled => "Disabled",
    }
}

impl ConfigurationMode {
    /// `true` for [`ConfigurationMode::Enabled`].
    pub fn is_enabled(&self) -> bool {
        matches!(self, ConfigurationMode::Enabled)
    }
}

impl From<bool> for ConfigurationMode {
    fn from(enabled: bool) -> Self {
        if enabled {
            ConfigurationMode::Enabled
        } else {
            ConfigurationMode::Disabled
        }
    }
}
