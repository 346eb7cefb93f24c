//! The local federation's nodes (`scripts/local-federation up` without `--no-nodes`, issue 13):
//! workloads get real pods, Services list them, this machine reaches them by IP, `kubectl logs`
//! and `exec` work as on any cluster, and `down` leaves nothing behind. The tests share the
//! federation with nodes (`node_federation()`); the one that brings a federation down starts its
//! own.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::federation::{Federation, node_federation, repo};
use crate::util::{client_from, unique};

/// Pods are Ready about a second after they are created; this bounds a loaded machine.
const READY: Duration = Duration::from_secs(120);

const CLUSTERS: [&str; 3] = ["fedhost", "member1", "member2"];

/// The container every test runs: busybox's `httpd` serving "hello from <pod name>" on 8080,
/// Ready once it accepts connections (the kubelet probes the pod's IP).
fn web_container(fed: &Federation, before_serving: &str) -> Value {
    json!({
        "name": "web",
        "image": fed.image("busybox"),
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", format!(
            "{before_serving}mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html && exec httpd -f -p 8080 -h /www"
        )],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    })
}

async fn create<K>(api: &Api<K>, object: Value) -> K
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).expect("a valid object");
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("create {} {:?}: {e}", K::kind(&()), object.meta().name))
}

async fn namespace(client: &Client, name: &str) {
    create(
        &Api::<Namespace>::all(client.clone()),
        json!({"metadata": {"name": name}}),
    )
    .await;
}

/// A Deployment `web` of `replicas` pods labelled app=web, and the wait until all are Ready.
async fn ready_deployment(fed: &Federation, client: &Client, ns: &str, replicas: i32) -> Vec<Pod> {
    create(
        &Api::<Deployment>::namespaced(client.clone(), ns),
        json!({
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": web_pod_spec(web_container(fed, ""))
                }
            }
        }),
    )
    .await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let ready = move |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .is_some_and(|s| s.ready_replicas == Some(replicas))
    };
    tokio::time::timeout(READY, await_condition(api, "web", ready))
        .await
        .unwrap_or_else(|_| {
            panic!("Deployment `{ns}/web` has no {replicas} Ready pods after {READY:?}")
        })
        .expect("watch Deployment");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    pods.list(&ListParams::default().labels("app=web"))
        .await
        .expect("list pods")
        .items
}

/// A pod spec of one `web_container`.
fn web_pod_spec(container: Value) -> Value {
    json!({"terminationGracePeriodSeconds": 1, "containers": [container]})
}

/// A Pod `name` with `spec`, and the wait until it is Ready.
async fn ready_pod(client: &Client, ns: &str, name: &str, spec: Value) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    create(&api, json!({"metadata": {"name": name}, "spec": spec})).await;
    tokio::time::timeout(READY, await_condition(api, name, is_ready))
        .await
        .unwrap_or_else(|_| panic!("Pod `{ns}/{name}` not Ready after {READY:?}"))
        .expect("watch Pod")
        .expect("the Pod exists")
}

fn is_ready(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_else(|| panic!("pod {:?} has no IP", pod.metadata.name))
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().expect("pod name")
}

/// `kubectl` (built with the nodes) against a context of `fed`, optionally fed `stdin`.
fn kubectl(fed: &Federation, context: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(fed.bin_dir().join("kubectl"))
        .env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir().join("kubefedctl-test-home"))
        .arg("--kubeconfig")
        .arg(&fed.kubeconfig)
        .args(["--context", context])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("kubectl output")
}

fn stdout_of(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// `GET /` over plain HTTP/1.0, the whole response.
async fn http_get(ip: &str, port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect((ip, port)),
    )
    .await
    .unwrap_or_else(|_| panic!("connecting to {ip}:{port} timed out"))
    .unwrap_or_else(|e| panic!("connect to {ip}:{port}: {e}"));
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("response timed out")
    .expect("read response");
    response
}

#[tokio::test]
async fn a_deployment_on_every_cluster_gets_ready_pods_on_its_node() {
    let fed = node_federation();
    let ns = unique("kf-nodes");
    let runs = CLUSTERS.map(|cluster| {
        let ns = ns.clone();
        async move {
            let client = client_from(&fed.kubeconfig, cluster).await;
            namespace(&client, &ns).await;
            (cluster, ready_deployment(fed, &client, &ns, 2).await)
        }
    });
    for (cluster, pods) in futures::future::join_all(runs).await {
        assert_eq!(
            pods.len(),
            2,
            "pods of Deployment web on {cluster}: {pods:#?}"
        );
        let subnet = fed.node_env(cluster, "pods");
        let prefix = subnet.trim_end_matches("0/24");
        for pod in &pods {
            let spec = pod.spec.as_ref().unwrap();
            let status = pod.status.as_ref().unwrap();
            assert_eq!(
                spec.node_name.as_deref(),
                Some(format!("{cluster}-node").as_str())
            );
            assert_eq!(status.phase.as_deref(), Some("Running"), "{pod:#?}");
            assert!(
                pod_ip(pod).starts_with(prefix),
                "pod IP {} of {cluster} outside its node's pod network {subnet}",
                pod_ip(pod)
            );
            let container = &status.container_statuses.as_ref().unwrap()[0];
            assert!(container.ready, "{container:#?}");
            assert_eq!(container.restart_count, 0, "{container:#?}");
            assert_eq!(container.image, fed.image("busybox"));
        }
    }
}

#[tokio::test]
async fn a_service_endpointslice_lists_its_ready_pods() {
    let fed = node_federation();
    let client = client_from(&fed.kubeconfig, "member2").await;
    let ns = unique("kf-nodes-svc");
    namespace(&client, &ns).await;
    create(
        &Api::<Service>::namespaced(client.clone(), &ns),
        json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    )
    .await;
    let pods = ready_deployment(fed, &client, &ns, 2).await;
    let want: BTreeSet<String> = pods.iter().map(pod_ip).collect();

    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let ready_addresses = |s: &EndpointSlice| -> BTreeSet<String> {
        s.endpoints
            .iter()
            .flatten()
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            .flat_map(|e| e.addresses.clone())
            .collect()
    };
    let config = watcher::Config::default().labels("kubernetes.io/service-name=web");
    let mut listing = std::pin::pin!(
        watcher(slices, config)
            .applied_objects()
            .try_filter(|s| std::future::ready(ready_addresses(s) == want))
    );
    let slice = tokio::time::timeout(READY, listing.try_next())
        .await
        .unwrap_or_else(|_| {
            panic!("no EndpointSlice of Service `{ns}/web` lists {want:?} after {READY:?}")
        })
        .expect("watch EndpointSlices")
        .expect("an EndpointSlice");

    assert_eq!(slice.address_type, "IPv4");
    let ports = slice.ports.as_ref().expect("ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].port, Some(8080));
    let pod_names: BTreeSet<String> = pods.iter().map(name).collect();
    for endpoint in slice.endpoints.iter().flatten() {
        assert_eq!(endpoint.node_name.as_deref(), Some("member2-node"));
        let target = endpoint.target_ref.as_ref().expect("targetRef");
        assert_eq!(target.kind.as_deref(), Some("Pod"));
        assert!(
            pod_names.contains(target.name.as_deref().unwrap()),
            "{target:?} not in {pod_names:?}"
        );
    }
}

#[tokio::test]
async fn a_pod_on_member1_answers_http_from_this_machine_at_its_ip() {
    let fed = node_federation();
    let client = client_from(&fed.kubeconfig, "member1").await;
    let ns = unique("kf-nodes-http");
    namespace(&client, &ns).await;
    let pods = ready_deployment(fed, &client, &ns, 1).await;
    let pod = &pods[0];

    let response = http_get(&pod_ip(pod), 8080).await;
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    assert_eq!(body, format!("hello from {}\n", name(pod)));
}

#[tokio::test]
async fn kubectl_logs_shows_what_the_container_printed() {
    let fed = node_federation();
    let client = client_from(&fed.kubeconfig, "member1").await;
    let ns = unique("kf-nodes-logs");
    namespace(&client, &ns).await;
    let talker = web_container(
        fed,
        "echo 'line one' && echo \"line two from $(hostname)\" && ",
    );
    let pod = ready_pod(&client, &ns, "talker", web_pod_spec(talker)).await;

    let out = kubectl(fed, "member1", &["logs", "-n", &ns, &name(&pod)], None);
    assert_eq!(
        stdout_of(&out, "kubectl logs"),
        "line one\nline two from talker\n"
    );
}

#[tokio::test]
async fn kubectl_exec_runs_commands_in_the_container() {
    let fed = node_federation();
    let client = client_from(&fed.kubeconfig, "member2").await;
    let ns = unique("kf-nodes-exec");
    namespace(&client, &ns).await;
    let pod = ready_pod(&client, &ns, "shell", web_pod_spec(web_container(fed, ""))).await;
    let exec = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec![
            "exec",
            if stdin.is_some() { "-i" } else { "" },
            "-n",
            &ns,
            "shell",
            "--",
        ];
        all.retain(|a| !a.is_empty());
        all.extend_from_slice(args);
        kubectl(fed, "member2", &all, stdin)
    };

    let out = exec(
        &[
            "sh",
            "-c",
            "echo \"in $(hostname)\"; echo $((6 * 7)); cat /www/index.html",
        ],
        None,
    );
    assert_eq!(
        stdout_of(&out, "kubectl exec"),
        format!("in shell\n42\nhello from {}\n", name(&pod))
    );
    // stdin reaches the container, and its exit code comes back.
    let out = exec(&["sh", "-c", "tr a-z A-Z"], Some("ping\n"));
    assert_eq!(stdout_of(&out, "kubectl exec -i"), "PING\n");
    let out = exec(&["sh", "-c", "exit 3"], None);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a federation in `dir` holds on this machine, found the way an engineer would look:
/// processes (by command line, or inside a node's PID namespace), mounts in any process's view,
/// processes inside a node's network namespace, the nodes' links, the containers' cgroups.
#[derive(Debug, Default, PartialEq)]
struct Traces {
    processes: BTreeSet<String>,
    mounts: BTreeSet<String>,
    in_node_netns: BTreeSet<String>,
    links: BTreeSet<String>,
    cgroups: BTreeSet<String>,
}

impl Traces {
    fn scan(dir: &Path, nodes: &NodeIds) -> Self {
        let dir_s = dir.to_str().unwrap();
        let mut t = Traces::default();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == std::process::id().to_string() {
                continue;
            }
            let proc = entry.path();
            let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let ns_of = |kind: &str| {
                std::fs::read_link(proc.join("ns").join(kind))
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            if cmdline.contains(dir_s) || nodes.pidns.contains(&ns_of("pid")) {
                t.processes.insert(format!("{pid} {cmdline}"));
            }
            if nodes.netns.contains(&ns_of("net")) {
                t.in_node_netns.insert(format!("{pid} {cmdline}"));
            }
            let mountinfo = std::fs::read_to_string(proc.join("mountinfo")).unwrap_or_default();
            for line in mountinfo.lines().filter(|l| l.contains(dir_s)) {
                t.mounts
                    .insert(line.split(' ').nth(4).unwrap_or(line).to_string());
            }
        }
        for link in &nodes.links {
            if Path::new("/sys/class/net").join(link).exists() {
                t.links.insert(link.clone());
            }
        }
        for cgroup in &nodes.cgroups {
            if cgroup.exists() {
                t.cgroups.insert(cgroup.display().to_string());
            }
        }
        t
    }
}

/// The identities of a federation's nodes, read from its state before it goes.
struct NodeIds {
    pidns: BTreeSet<String>,
    netns: BTreeSet<String>,
    links: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
}

impl NodeIds {
    fn of(fed: &Federation) -> Self {
        let read = |c: &str, f: &str| {
            std::fs::read_to_string(fed.dir.join(c).join("node").join(f))
                .unwrap()
                .trim()
                .to_string()
        };
        let mut cgroups = BTreeSet::new();
        for c in CLUSTERS {
            let tasks = fed
                .dir
                .join(c)
                .join("node/containerd/state/io.containerd.runtime.v2.task/k8s.io");
            for bundle in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
                let spec: Value = serde_json::from_str(
                    &std::fs::read_to_string(bundle.path().join("config.json")).unwrap(),
                )
                .unwrap();
                let path = spec["linux"]["cgroupsPath"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .to_string();
                cgroups.insert(Path::new("/sys/fs/cgroup/memory").join(path));
            }
        }
        NodeIds {
            pidns: CLUSTERS.iter().map(|c| read(c, "pidns")).collect(),
            netns: CLUSTERS.iter().map(|c| read(c, "netns")).collect(),
            links: CLUSTERS
                .iter()
                .map(|c| fed.node_env(c, "host_if"))
                .collect(),
            cgroups,
        }
    }
}

/// The tests that run a federation of their own take turns: once one is gone, the next reuses
/// its network slot (so its link names) and the kernel its namespace inodes, and a scan would see
/// the other test's federation.
async fn one_own_federation_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// A federation with nodes of its own in `target/test-federation/<pid>-<name>`, owned by `owner`,
/// with a pod on member1 that has a Secret volume (the kubelet mounts a tmpfs for it), and the
/// identities of its nodes. Asserts that the scan sees the run, so that an empty scan later means
/// something.
async fn busy_federation(name: &str, owner: u32) -> (Federation, NodeIds) {
    let dir = repo()
        .join("target/test-federation")
        .join(format!("{}-{name}", std::process::id()));
    let fed = Federation::up(&dir, &[], owner);
    let client = client_from(&fed.kubeconfig, "member1").await;
    let ns = unique("kf-nodes-run");
    namespace(&client, &ns).await;
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    create(
        &secrets,
        json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}),
    )
    .await;
    let mut container = web_container(&fed, "cat /secret/k && ");
    container["volumeMounts"] = json!([{"name": "s", "mountPath": "/secret"}]);
    let mut spec = web_pod_spec(container);
    spec["volumes"] = json!([{"name": "s", "secret": {"secretName": "s"}}]);
    ready_pod(&client, &ns, "with-volume", spec).await;

    let nodes = NodeIds::of(&fed);
    let running = Traces::scan(&dir, &nodes);
    assert!(
        running.processes.iter().any(|p| p.contains("kubelet")),
        "{running:#?}"
    );
    assert!(
        running
            .mounts
            .iter()
            .any(|m| m.contains("kubernetes.io~secret")),
        "{running:#?}"
    );
    assert!(!running.in_node_netns.is_empty(), "{running:#?}");
    assert_eq!(running.links, nodes.links, "{running:#?}");
    assert!(!running.cgroups.is_empty(), "{running:#?}");
    (fed, nodes)
}

fn assert_nothing_left(fed: &Federation, nodes: &NodeIds) {
    assert!(!fed.dir.exists(), "{} still exists", fed.dir.display());
    assert_eq!(Traces::scan(&fed.dir, nodes), Traces::default());
}

#[tokio::test]
async fn down_after_a_run_leaves_no_process_mount_or_network_namespace() {
    let _turn = one_own_federation_at_a_time().await;
    let (fed, nodes) = busy_federation("down", std::process::id()).await;
    fed.down();
    assert_nothing_left(&fed, &nodes);
}

/// A process to own a federation, killed when dropped (also when the test fails).
struct Owner(std::process::Child);

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_crashed_owner_leaves_no_process_mount_or_network_namespace() {
    let _turn = one_own_federation_at_a_time().await;
    let mut owner = Owner(Command::new("sleep").arg("600").spawn().expect("run sleep"));
    let (fed, nodes) = busy_federation("crash", owner.0.id()).await;
    // SIGKILL, as a crashing test binary gets; the watchdog notices and runs `down`.
    owner.0.kill().expect("kill the owner");
    owner.0.wait().expect("reap the owner");
    let deadline = std::time::Instant::now() + READY;
    while fed.dir.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_nothing_left(&fed, &nodes);
}
