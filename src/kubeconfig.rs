//! Kubeconfig loading with kubectl's rules, context resolution, and clients with bounded
//! timeouts whose errors name the context and the server.
//!
//! Loading rules (as kubectl and client-go): `--kubeconfig` alone if given (it must exist);
//! else every file listed in `KUBECONFIG`, merged, the first file to set a value wins, missing
//! files skipped; else `~/.kube/config`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{HintExt, hinted};

mod rename;

pub use rename::{ContextRename, FileEdit, RenamedFile};

/// How long to wait for a TCP + TLS connection before calling a server unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the kubeconfig came from: the files read, in precedence order.
#[derive(Clone, Debug)]
pub struct LoadedKubeconfig {
    files: Vec<(PathBuf, Kubeconfig)>,
    merged: Kubeconfig,
    /// Files named by KUBECONFIG that did not exist (skipped, as kubectl does).
    skipped: Vec<PathBuf>,
}

impl LoadedKubeconfig {
    /// Load following kubectl's rules. `explicit` is `--kubeconfig`.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        Self::load_with(explicit, std::env::var_os("KUBECONFIG"), dirs::home_dir())
    }

    /// [`LoadedKubeconfig::load`] with the environment passed in (for tests).
    pub fn load_with(
        explicit: Option<&Path>,
        kubeconfig_env: Option<std::ffi::OsString>,
        home: Option<PathBuf>,
    ) -> Result<Self> {
        if let Some(path) = explicit {
            if !path.exists() {
                return Err(hinted(
                    format!("kubeconfig file `{}` does not exist", path.display()),
                    "check the path given to --kubeconfig",
                ));
            }
            let config = read_file(path)?;
            return Self::from_files(vec![(path.to_path_buf(), config)], vec![]);
        }
        let env_paths: Vec<PathBuf> = kubeconfig_env
            .as_ref()
            .map(|v| {
                std::env::split_paths(v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if !env_paths.is_empty() {
            let mut files = Vec::new();
            let mut skipped = Vec::new();
            for path in env_paths {
                if path.exists() {
                    let config = read_file(&path)?;
                    files.push((path, config));
                } else {
                    skipped.push(path);
                }
            }
            if files.is_empty() {
                let list: Vec<String> = skipped
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect();
                return Err(hinted(
                    format!(
                        "no kubeconfig found: none of the files in KUBECONFIG exists ({})",
                        list.join(", ")
                    ),
                    "set KUBECONFIG to an existing file or pass --kubeconfig",
                ));
            }
            return Self::from_files(files, skipped);
        }
        let default = home.map(|h| h.join(".kube").join("config"));
        match default {
            Some(path) if path.exists() => {
                let config = read_file(&path)?;
                Self::from_files(vec![(path, config)], vec![])
            }
            Some(path) => Err(hinted(
                format!(
                    "no kubeconfig found: `{}` does not exist and KUBECONFIG is not set",
                    path.display()
                ),
                "pass --kubeconfig FILE or set KUBECONFIG (for the local federation: eval \"$(scripts/local-federation up)\")",
            )),
            None => Err(hinted(
                "no kubeconfig found: no home directory and KUBECONFIG is not set",
                "pass --kubeconfig FILE or set KUBECONFIG",
            )),
        }
    }

    fn from_files(files: Vec<(PathBuf, Kubeconfig)>, skipped: Vec<PathBuf>) -> Result<Self> {
        let mut merged = Kubeconfig::default();
        for (path, config) in &files {
            merged = merged
                .merge(config.clone())
                .with_context(|| format!("failed to merge kubeconfig `{}`", path.display()))?;
        }
        Ok(LoadedKubeconfig {
            files,
            merged,
            skipped,
        })
    }

    /// The merged view.
    pub fn merged(&self) -> &Kubeconfig {
        &self.merged
    }

    /// The files read, in precedence order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }

    /// Files from KUBECONFIG that were skipped because they do not exist.
    pub fn skipped(&self) -> &[PathBuf] {
        &self.skipped
    }

    pub fn current_context(&self) -> Option<&str> {
        self.merged
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty())
    }

    /// Context names in file order.
    pub fn context_names(&self) -> Vec<&str> {
        self.merged
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The file a context is defined in (the first one, which wins the merge).
    pub fn file_of_context(&self, context: &str) -> Option<&Path> {
        self.files
            .iter()
            .find(|(_, c)| c.contexts.iter().any(|n| n.name == context))
            .map(|(p, _)| p.as_path())
    }

    fn describe_files(&self) -> String {
        let names: Vec<String> = self
            .files
            .iter()
            .map(|(p, _)| format!("`{}`", p.display()))
            .collect();
        names.join(", ")
    }

    /// Resolve a context (or the current context when `None`) to connection settings.
    pub async fn resolve(&self, context: Option<&str>) -> Result<ClusterAccess> {
        let name = match context {
            Some(c) => c.to_string(),
            None => self.current_context().map(str::to_string).ok_or_else(|| {
                hinted(
                    format!(
                        "no context given and the kubeconfig ({}) has no current-context",
                        self.describe_files()
                    ),
                    "pass --host-cluster-context NAME or run `kubectl config use-context NAME`",
                )
            })?,
        };
        let Some(named) = self.merged.contexts.iter().find(|c| c.name == name) else {
            let available = self.context_names();
            let list = if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            };
            return Err(hinted(
                format!(
                    "context `{name}` not found in kubeconfig {}",
                    self.describe_files()
                ),
                format!("available contexts: {list}"),
            ));
        };
        let ctx = named.context.clone().unwrap_or_default();
        let cluster_name = ctx.cluster.clone();
        let cluster = self
            .merged
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| {
                anyhow!(
                    "context `{name}` refers to cluster `{cluster_name}`, which is not defined in kubeconfig {}",
                    self.describe_files()
                )
            })?;
        let server = cluster
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                anyhow!("cluster `{cluster_name}` of context `{name}` has no server defined")
            })?;
        let options = KubeConfigOptions {
            context: Some(name.clone()),
            cluster: None,
            user: None,
        };
        let mut config = kube::Config::from_custom_kubeconfig(self.merged.clone(), &options)
            .await
            .with_context(|| {
                format!(
                    "invalid configuration for context `{name}` in kubeconfig {}",
                    self.describe_files()
                )
            })?;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        Ok(ClusterAccess {
            context: name,
            cluster_name,
            server,
            namespace: ctx.namespace.filter(|n| !n.is_empty()),
            cluster,
            config,
        })
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path)
        .with_context(|| format!("failed to load kubeconfig `{}`", path.display()))
}

/// One context, resolved: what kubefedctl needs to talk to a cluster and to describe it.
#[derive(Clone, Debug)]
pub struct ClusterAccess {
    /// The context name.
    pub context: String,
    /// The kubeconfig cluster entry's name.
    pub cluster_name: String,
    /// The `server` field, verbatim (KubeFedCluster.spec.apiEndpoint copies it).
    pub server: String,
    /// The context's namespace, if set.
    pub namespace: Option<String>,
    /// The kubeconfig cluster entry (CA data, insecure-skip-tls-verify, proxy-url).
    pub cluster: kube::config::Cluster,
    /// Client settings.
    pub config: kube::Config,
}

/// How a client talks to the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/2 when the server offers it (every API server does), else HTTP/1.1: concurrent
    /// requests share one connection, so a burst of reads costs one round trip, not one TLS
    /// handshake each. For commands that send a few requests at once.
    Multiplexed,
    /// HTTP/1.1 only: concurrent requests use a pool of connections. For bulk writes, where
    /// hyper's HTTP/2 client is slower (it sends each body in a frame of its own after the
    /// headers; `federate` of 2,000 objects took 3.3 s instead of 2.3 s on loopback).
    Pooled,
}

impl ClusterAccess {
    /// A client, after checking the server answers (`GET /version`) within the connect timeout.
    /// Returns the server's git version too.
    pub async fn connect(&self) -> Result<(kube::Client, String)> {
        self.connect_with(Protocol::Multiplexed).await
    }

    /// [`ClusterAccess::connect`] speaking `protocol`.
    pub async fn connect_with(&self, protocol: Protocol) -> Result<(kube::Client, String)> {
        let client = build_client(&self.config, protocol).with_context(|| {
            format!(
                "failed to build a client for context `{}` ({})",
                self.context, self.server
            )
        })?;
        let version = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(5), client.apiserver_version())
            .await
            .map_err(|_| anyhow!("no answer within {} s", (CONNECT_TIMEOUT + Duration::from_secs(5)).as_secs()))
            .and_then(|r| r.map_err(anyhow::Error::from))
            .context_hint(
                format!("cannot reach the API server of context `{}` at {}", self.context, self.server),
                "check that the cluster is running and that the context's server, CA and credentials are right \
                 (`kubectl --context <name> get --raw /version`)",
            )?;
        Ok((client, version.git_version))
    }
}

/// A client for `config`: ours (TCP_NODELAY; HTTP/2 for [`Protocol::Multiplexed`]), or kube's
/// own for a proxied cluster, since it speaks the proxy protocols (HTTP CONNECT, SOCKS5).
pub fn build_client(config: &kube::Config, protocol: Protocol) -> kube::Result<kube::Client> {
    if config.proxy_url.is_some() {
        kube::Client::try_from(config.clone())
    } else {
        direct_client(config, protocol)
    }
}

/// kube's default client stack, minus the proxy support, with TCP_NODELAY on.
///
/// kube-rs leaves Nagle's algorithm on. Requests are written in several small TLS records, and
/// on a fresh connection the second one waits for the server's delayed ACK: about 40 ms on
/// loopback, paid by every connection a command opens (see docs/performance.md, join). With
/// TCP_NODELAY the same request takes a few milliseconds. Layers as kube's `ClientBuilder`:
/// base URI, retry of 429/503/504, authentication, extra headers, request tracing.
fn direct_client(config: &kube::Config, protocol: Protocol) -> kube::Result<kube::Client> {
    use kube::client::ConfigExt as _;
    // kube's TLS settings: CA, client certificate, insecure-skip-tls-verify.
    client_over(
        config,
        config.rustls_client_config()?,
        protocol,
        tcp_connector(config),
    )
}

/// A client for `config` that verifies the server as `tls` says instead of as `config` does,
/// e.g. a member cluster's [`client_config`](crate::controller::tls::client_config), which
/// kube's `Config` cannot express. The rest is [`build_client`]'s stack (HTTP/2 when offered),
/// and `config.proxy_url` is honoured as kube does (http, https and socks5 proxies); an https
/// proxy is verified with `tls` too, as Go's transport does.
pub fn build_client_with_tls(
    config: &kube::Config,
    tls: rustls::ClientConfig,
    protocol: Protocol,
) -> kube::Result<kube::Client> {
    use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
    let Some(proxy) = &config.proxy_url else {
        return client_over(config, tls, protocol, tcp_connector(config));
    };
    match proxy.scheme_str() {
        Some("socks5") => {
            let socks = SocksV5::new(proxy.clone(), tcp_connector(config));
            client_over(config, tls, protocol, socks)
        }
        Some("http") => {
            let tunnel = with_proxy_auth(proxy, Tunnel::new(proxy.clone(), tcp_connector(config)));
            client_over(config, tls, protocol, tunnel)
        }
        Some("https") => {
            let mut proxy_tls = tls.clone();
            proxy_tls.alpn_protocols.clear();
            let to_proxy = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(proxy_tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp_connector(config));
            let tunnel = with_proxy_auth(proxy, Tunnel::new(proxy.clone(), to_proxy));
            client_over(config, tls, protocol, tunnel)
        }
        _ => Err(kube::Error::ProxyProtocolUnsupported {
            proxy_url: Box::new(proxy.clone()),
        }),
    }
}

/// `Proxy-Authorization: Basic ...` from the proxy URL's user info, as kube and Go send it.
fn with_proxy_auth<C>(
    proxy: &http::Uri,
    tunnel: hyper_util::client::legacy::connect::proxy::Tunnel<C>,
) -> hyper_util::client::legacy::connect::proxy::Tunnel<C> {
    match proxy_authorization(proxy) {
        Some(auth) => tunnel.with_auth(auth),
        None => tunnel,
    }
}

/// The Basic credentials in the proxy URL's user info, percent-decoded.
fn proxy_authorization(proxy: &http::Uri) -> Option<http::HeaderValue> {
    use base64::Engine as _;
    let (userinfo, _) = proxy.authority()?.as_str().rsplit_once('@')?;
    let decoded = percent_decode(userinfo);
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(decoded)
    );
    let mut value = http::HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// TCP connections as kube opens them, plus TCP_NODELAY.
fn tcp_connector(config: &kube::Config) -> hyper_util::client::legacy::connect::HttpConnector {
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(config.connect_timeout);
    http
}

/// The client stack over `connector` (TCP, or a proxy tunnel), with TLS from `tls`.
fn client_over<C>(
    config: &kube::Config,
    mut tls: rustls::ClientConfig,
    protocol: Protocol,
    connector: C,
) -> kube::Result<kube::Client>
where
    C: tower::Service<http::Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read
        + hyper::rt::Write
        + hyper_util::client::legacy::connect::Connection
        + Send
        + Unpin
        + 'static,
    C::Future: Send + 'static,
    C::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::TokioExecutor;
    use kube::client::ConfigExt as _;
    use kube::client::retry::RetryPolicy;
    use tower::ServiceBuilder;
    use tower::retry::RetryLayer;

    // hyper-rustls sets ALPN from the enabled HTTP versions and refuses a preset one.
    tls.alpn_protocols.clear();
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
        })?;
        https = https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let https = match protocol {
        Protocol::Multiplexed => https.enable_all_versions().wrap_connector(connector),
        Protocol::Pooled => https.enable_http1().wrap_connector(connector),
    };
    let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .layer(
            // What `-v 4` shows of each request, as kube's builder does: method, URL, status
            // and latency (never headers, which carry the credentials).
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &http::Request<kube::client::Body>| {
                    tracing::debug_span!("HTTP", method = %req.method(), url = %req.uri())
                })
                .on_request(())
                .on_response(
                    |res: &http::Response<_>, latency: Duration, _: &tracing::Span| {
                        tracing::debug!(status = res.status().as_u16(), ?latency, "response");
                    },
                )
                .on_body_chunk(())
                .on_eos(())
                .on_failure(
                    |failure: tower_http::classify::ServerErrorsFailureClass,
                     latency: Duration,
                     _: &tracing::Span| {
                        tracing::debug!(%failure, ?latency, "request failed");
                    },
                ),
        )
        .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        .service(hyper);
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_percent_decoded_basic_auth() {
        use base64::Engine as _;
        let proxy: http::Uri = "http://us%40er:p%3Ass%@proxy.example:3128".parse().unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("us@er:p:ss%")
        );
        assert_eq!(proxy_authorization(&proxy).unwrap(), expected.as_str());
        let anonymous: http::Uri = "http://proxy.example:3128".parse().unwrap();
        assert_eq!(proxy_authorization(&anonymous), None);
    }
}
