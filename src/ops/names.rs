//! The names join and unjoin give objects, exactly as Go kubefedctl builds them (so either tool
//! can unjoin what the other joined), and their validation before any write.

use std::fmt;

/// Prefix of the RBAC objects join creates on the member.
const ROLE_PREFIX: &str = "kubefed-controller-manager";

/// Every name join derives from a cluster name and a host cluster name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinNames {
    /// Member ServiceAccount, and the member token Secret: `<cluster>-<host>`.
    pub service_account: String,
    /// ClusterRole/ClusterRoleBinding (cluster scope) or Role/RoleBinding (namespaced scope):
    /// `kubefed-controller-manager:<sa>`.
    pub role: String,
    /// The health-check ClusterRole/Binding of namespaced scope:
    /// `kubefed-controller-manager:<ns>:healthcheck-<sa>`.
    pub health_check_role: String,
}

impl JoinNames {
    pub fn new(cluster: &str, host_cluster: &str, namespace: &str) -> Self {
        let service_account = format!("{cluster}-{host_cluster}");
        JoinNames {
            role: format!("{ROLE_PREFIX}:{service_account}"),
            health_check_role: format!("{ROLE_PREFIX}:{namespace}:healthcheck-{service_account}"),
            service_account,
        }
    }
}

/// Why a name is not a valid DNS-1123 subdomain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidName {
    pub name: String,
    /// The offending characters, deduplicated, in order of appearance.
    pub bad_chars: Vec<char>,
    pub problem: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bad_chars.is_empty() {
            write!(f, "`{}` {}", self.name, self.problem)
        } else {
            let chars: Vec<String> = self.bad_chars.iter().map(|c| format!("`{c}`")).collect();
            write!(
                f,
                "`{}` contains {} ({})",
                self.name,
                chars.join(", "),
                self.problem
            )
        }
    }
}

/// Check a DNS-1123 subdomain (what the API server requires for ServiceAccount, Secret and
/// custom-resource names): at most 253 lower-case alphanumerics, `-` and `.`, starting and
/// ending with an alphanumeric.
pub fn validate_subdomain(name: &str) -> Result<(), InvalidName> {
    let mut bad_chars = Vec::new();
    for c in name.chars() {
        let ok = c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
        if !ok && !bad_chars.contains(&c) {
            bad_chars.push(c);
        }
    }
    let invalid = |bad_chars, problem| {
        Err(InvalidName {
            name: name.to_string(),
            bad_chars,
            problem,
        })
    };
    if !bad_chars.is_empty() {
        return invalid(
            bad_chars,
            "a name must consist of lower-case letters, digits, '-' and '.'",
        );
    }
    if name.is_empty() {
        return invalid(vec![], "is empty");
    }
    if name.len() > 253 {
        return invalid(vec![], "is longer than 253 characters");
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return invalid(vec![], "must start and end with a letter or digit");
    }
    Ok(())
}

/// A safe DNS-1123 name derived from an unsafe one: `kubernetes-admin@kubernetes` becomes
/// `kubernetes-admin-kubernetes`, `gke_p_z_n` becomes `gke-p-z-n`, an EKS ARN keeps its last
/// path segment's spirit: `arn:aws:eks:eu-west-1:123:cluster/prod` becomes
/// `arn-aws-eks-eu-west-1-123-cluster-prod`.
pub fn suggest_subdomain(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(|c: char| c == '-' || c == '.');
    let mut s: String = trimmed.chars().take(63).collect();
    while s.ends_with('-') || s.ends_with('.') {
        s.pop();
    }
    if s.is_empty() {
        "cluster".to_string()
    } else {
        s
    }
}

/// RBAC object names only need to be valid path segments.
pub fn validate_path_segment(name: &str) -> Result<(), InvalidName> {
    let bad_chars: Vec<char> = ['/', '%']
        .into_iter()
        .filter(|c| name.contains(*c))
        .collect();
    if !bad_chars.is_empty() {
        return Err(InvalidName {
            name: name.to_string(),
            bad_chars,
            problem: "a name may not contain '/' or '%'",
        });
    }
    if name == "." || name == ".." {
        return Err(InvalidName {
            name: name.to_string(),
            bad_chars: vec![],
            problem: "may not be '.' or '..'",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_go_kubefedctl() {
        let n = JoinNames::new("member1", "fedhost", "kube-federation-system");
        assert_eq!(n.service_account, "member1-fedhost");
        assert_eq!(n.role, "kubefed-controller-manager:member1-fedhost");
        assert_eq!(
            n.health_check_role,
            "kubefed-controller-manager:kube-federation-system:healthcheck-member1-fedhost"
        );
    }

    #[test]
    fn unsafe_context_names_are_caught_and_fixed() {
        for (name, bad, fixed) in [
            (
                "member1-kubernetes-admin@kubernetes",
                vec!['@'],
                "member1-kubernetes-admin-kubernetes",
            ),
            ("gke_project_zone_name", vec!['_'], "gke-project-zone-name"),
            ("Member1", vec!['M'], "member1"),
            (
                "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
                vec![':', '/'],
                "arn-aws-eks-eu-west-1-123456789012-cluster-prod",
            ),
        ] {
            let err = validate_subdomain(name).unwrap_err();
            assert_eq!(err.bad_chars, bad, "{name}");
            assert_eq!(suggest_subdomain(name), fixed);
            validate_subdomain(&suggest_subdomain(name)).unwrap();
        }
        validate_subdomain("member1-fedhost").unwrap();
        assert!(validate_subdomain("-a").is_err());
        assert!(validate_path_segment("kubefed-controller-manager:a@b").is_ok());
        assert!(validate_path_segment("a/b").is_err());
    }
}
