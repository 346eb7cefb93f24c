#!/usr/bin/env python3
"""Measurements for `scripts/bench controller`, against the clusters of a local federation
($LOCAL_FEDERATION_DIR: pki/ and <cluster>/port), as the admin (client certificate).
Standard library only. Every wait has a timeout and says what it waited for.

  count-watch --clusters C,.. --ns NS --count N [--ready-kfc NAME --kubefed-ns NS] --timeout S
      Watch the ConfigMaps labelled kubefed.io/managed=true in NS on each cluster; print `ready`
      once the watches run, then (when every cluster holds N) key=value lines of epoch-ns times:
      first_ns (first new object anywhere), done_ns, done_ns_<cluster>; with --ready-kfc also
      ready_ns (the KubeFedCluster NAME first seen Ready=True, polled every 100 ms).
  latency --host C --members C,.. --ns NS --count N --timeout S
      Create N FederatedConfigMaps one at a time; for each, the time from the POST's response to
      the ConfigMap being on every member (watches). Prints p50_ms p90_ms p99_ms max_ms mean_ms.
  drift --cluster C --ns NS --samples N --timeout S
      Patch the data of N managed ConfigMaps (one at a time) and time until a watch shows each
      restored to data.key=value. Prints samples_ms median_ms max_ms.
  snapshot --clusters C,.. --out FILE
      Write counters of apiserver_request_total for write verbs, per cluster, as JSON.
  settle --clusters C,.. --out FILE --quiet S --timeout S [--ignore-host-configmaps]
      Snapshot every second until the write counters (leases, KubeFedCluster status and, with the
      flag, the host's ConfigMaps left out: periodic) stay unchanged for S seconds.
  writes --before F --after F --idle-before F --idle-after F --objects N [--summary F]
      Writes per object, by side (host, members) and resource, net of the idle rate (windows from
      the snapshots' times).
  idle --before F --after F [--baseline-before F --baseline-after F] [--summary F]
      Writes over an idle window, by cluster and resource, per minute; beside them the rate of a
      window without the controller.
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "APPLY")
MANAGED = "kubefed.io%2Fmanaged%3Dtrue"
FED_DIR = os.environ.get("LOCAL_FEDERATION_DIR", "")


def die(msg):
    print(f"bench-controller-watch: {msg}", file=sys.stderr, flush=True)
    os._exit(1)


def ctx():
    p = os.path.join(FED_DIR, "pki")
    c = ssl.create_default_context(cafile=os.path.join(p, "ca.crt"))
    c.load_cert_chain(os.path.join(p, "admin.crt"), os.path.join(p, "admin.key"))
    return c


SSL = None


def port(cluster):
    with open(os.path.join(FED_DIR, cluster, "port")) as f:
        return int(f.read().strip())


def conn(cluster, timeout=30):
    return http.client.HTTPSConnection("127.0.0.1", port(cluster), context=SSL, timeout=timeout)


def request(cluster, method, path, body=None, ctype="application/json", c=None, ok=(200, 201)):
    own = c is None
    c = c or conn(cluster)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = ctype
        body = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    if own:
        c.close()
    if r.status not in ok:
        raise RuntimeError(f"{method} {cluster}{path}: HTTP {r.status}: {data[:300]!r}")
    return r.status, (json.loads(data) if data else None)


def list_all(cluster, path, query):
    """Names of a (paginated) list and its resourceVersion."""
    names, cont, c = {}, "", conn(cluster, timeout=60)
    while True:
        q = f"{query}&limit=500" + (f"&continue={urllib.parse.quote(cont)}" if cont else "")
        _, body = request(cluster, "GET", f"{path}?{q}", c=c)
        for it in body["items"]:
            names[it["metadata"]["name"]] = it
        cont = body["metadata"].get("continue", "")
        if not cont:
            c.close()
            return names, body["metadata"]["resourceVersion"]


class Watch(threading.Thread):
    """A list, then a watch (re-listed when the server ends it) of one collection on one cluster.
    Keeps `objects` (name -> object) current and calls `on_event(kind, obj, t_mono, t_ns)` for each
    change; `ready` is set once the first watch runs."""

    def __init__(self, cluster, path, query, on_event, lock):
        super().__init__(daemon=True)
        self.cluster, self.path, self.query = cluster, path, query
        self.on_event, self.lock = on_event, lock
        self.objects, self.ready, self.error = {}, threading.Event(), None

    def run(self):
        try:
            while True:
                objs, rv = list_all(self.cluster, self.path, self.query)
                with self.lock:
                    for name, o in objs.items():
                        if name not in self.objects:
                            self.objects[name] = o
                            self.on_event("ADDED", o, time.monotonic(), time.time_ns())
                    self.lock.notify_all()
                self.stream(rv)
        except Exception as e:  # reported by the waiter
            self.error = f"watch of {self.path} on {self.cluster}: {e}"
            self.ready.set()
            with self.lock:
                self.lock.notify_all()

    def stream(self, rv):
        c = conn(self.cluster, timeout=None)
        q = f"{self.query}&watch=1&allowWatchBookmarks=true&resourceVersion={rv}"
        c.request("GET", f"{self.path}?{q}", headers={"Accept": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {r.read()[:300]!r}")
        self.ready.set()
        while True:
            line = r.readline()
            if not line:
                c.close()
                return
            t_mono, t_ns = time.monotonic(), time.time_ns()
            ev = json.loads(line)
            kind, obj = ev["type"], ev["object"]
            if kind == "BOOKMARK":
                continue
            if kind == "ERROR":  # e.g. 410 Gone: list again
                c.close()
                return
            name = obj["metadata"]["name"]
            with self.lock:
                if kind == "DELETED":
                    self.objects.pop(name, None)
                else:
                    self.objects[name] = obj
                self.on_event(kind, obj, t_mono, t_ns)
                self.lock.notify_all()


def cm_path(ns):
    return f"/api/v1/namespaces/{ns}/configmaps"


def wait_ready(watches, timeout=30):
    deadline = time.monotonic() + timeout
    for w in watches:
        if not w.ready.wait(max(0, deadline - time.monotonic())):
            die(f"the watch of {w.path} on {w.cluster} did not start within {timeout} s")
        if w.error:
            die(w.error)


def cmd_count_watch(a):
    clusters = a.clusters.split(",")
    lock = threading.Condition()
    state = {"first_ns": None}
    initial = {}

    def on_event(kind, obj, t_mono, t_ns):
        if kind == "ADDED" and state["first_ns"] is None and started.is_set():
            state["first_ns"] = t_ns

    started = threading.Event()
    watches = [Watch(c, cm_path(a.ns), f"labelSelector={MANAGED}", on_event, lock) for c in clusters]
    for w in watches:
        w.start()
    wait_ready(watches)
    with lock:
        for w in watches:
            initial[w.cluster] = len(w.objects)
        started.set()
    ready_ns = None
    if a.ready_kfc:
        kfc_path = f"/apis/core.kubefed.io/v1beta1/namespaces/{a.kubefed_ns}/kubefedclusters/{a.ready_kfc}"
    print("ready", flush=True)
    deadline = time.monotonic() + a.timeout
    done = {}
    hc = conn("fedhost") if a.ready_kfc else None
    while True:
        with lock:
            for w in watches:
                if w.error:
                    die(w.error)
                if w.cluster not in done and len(w.objects) >= a.count:
                    done[w.cluster] = time.time_ns()
            if len(done) == len(watches) and (ready_ns or not a.ready_kfc):
                break
            if time.monotonic() > deadline:
                have = ", ".join(f"{w.cluster} {len(w.objects)}" for w in watches)
                extra = "" if not a.ready_kfc or ready_ns else f"; KubeFedCluster {a.ready_kfc} not Ready"
                die(f"timed out after {a.timeout} s waiting for {a.count} ConfigMaps labelled "
                    f"kubefed.io/managed=true in {a.ns} on {', '.join(clusters)}: have {have}{extra}")
            lock.wait(0.1)
        if a.ready_kfc and not ready_ns:
            try:
                st, kfc = request("fedhost", "GET", kfc_path, c=hc, ok=(200, 404))
            except (OSError, http.client.HTTPException):
                hc = conn("fedhost")
                continue
            conds = (kfc or {}).get("status", {}).get("conditions", []) if st == 200 else []
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                ready_ns = time.time_ns()
    print(f"first_ns={state['first_ns'] or min(done.values())}")
    print(f"done_ns={max(done.values())}")
    for c, t in done.items():
        print(f"done_ns_{c}={t}")
    print(f"initial={sum(initial.values())}")
    if ready_ns:
        print(f"ready_ns={ready_ns}")


def pct(sorted_vals, q):
    import math
    return sorted_vals[max(0, math.ceil(q * len(sorted_vals)) - 1)]


def cmd_latency(a):
    members = a.members.split(",")
    lock = threading.Condition()
    seen = {m: {} for m in members}  # cluster -> name -> monotonic first seen

    def handler(cluster):
        def on_event(kind, obj, t_mono, t_ns):
            if kind != "DELETED":
                seen[cluster].setdefault(obj["metadata"]["name"], t_mono)
        return on_event

    watches = [Watch(m, cm_path(a.ns), f"labelSelector={MANAGED}", handler(m), lock) for m in members]
    for w in watches:
        w.start()
    wait_ready(watches)
    hc = conn(a.host)
    path = f"/apis/types.kubefed.io/v1beta1/namespaces/{a.ns}/federatedconfigmaps"
    body = {"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
            "metadata": {"generateName": "lat-"},
            "spec": {"placement": {"clusterSelector": {}}, "template": {"data": {"key": "value"}}}}
    samples = []
    for i in range(a.count):
        _, created = request(a.host, "POST", path, body=body, c=hc)
        t0 = time.monotonic()
        name = created["metadata"]["name"]
        deadline = t0 + a.timeout
        with lock:
            while not all(name in seen[m] for m in members):
                for w in watches:
                    if w.error:
                        die(w.error)
                if time.monotonic() > deadline:
                    missing = [m for m in members if name not in seen[m]]
                    die(f"object {i + 1} of {a.count}: timed out after {a.timeout} s waiting for ConfigMap "
                        f"{a.ns}/{name} on {', '.join(missing)}")
                lock.wait(0.05)
            t1 = max(seen[m][name] for m in members)
        samples.append(max(0.0, (t1 - t0) * 1000))
    s = sorted(samples)
    print(f"p50_ms={pct(s, 0.5):.1f}")
    print(f"p90_ms={pct(s, 0.9):.1f}")
    print(f"p99_ms={pct(s, 0.99):.1f}")
    print(f"max_ms={s[-1]:.1f}")
    print(f"min_ms={s[0]:.1f}")
    print(f"mean_ms={sum(s) / len(s):.1f}")


def cmd_drift(a):
    lock = threading.Condition()
    events = []  # (name, resourceVersion, data.key, monotonic)

    def on_event(kind, obj, t_mono, t_ns):
        if kind == "MODIFIED":
            events.append((obj["metadata"]["name"], int(obj["metadata"]["resourceVersion"]),
                           (obj.get("data") or {}).get("key"), t_mono))

    w = Watch(a.cluster, cm_path(a.ns), f"labelSelector={MANAGED}", on_event, lock)
    w.start()
    wait_ready([w])
    with lock:
        names = sorted(w.objects)[: a.samples]
    if len(names) < a.samples:
        die(f"only {len(names)} managed ConfigMaps in {a.ns} on {a.cluster}, need {a.samples}")
    c = conn(a.cluster)
    samples = []
    for i, name in enumerate(names):
        _, patched = request(a.cluster, "PATCH", f"{cm_path(a.ns)}/{name}",
                             body={"data": {"key": f"drift-{i}"}}, ctype="application/merge-patch+json", c=c)
        t0 = time.monotonic()
        rv = int(patched["metadata"]["resourceVersion"])
        deadline = t0 + a.timeout
        with lock:
            while True:
                hit = [e for e in events if e[0] == name and e[1] > rv and e[2] == "value"]
                if hit:
                    samples.append((hit[0][3] - t0) * 1000)
                    break
                if w.error:
                    die(w.error)
                if time.monotonic() > deadline:
                    die(f"sample {i + 1} of {a.samples}: timed out after {a.timeout} s waiting for ConfigMap "
                        f"{a.ns}/{name} on {a.cluster} to be restored to data.key=value")
                lock.wait(0.05)
    s = sorted(samples)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    print("samples_ms=" + ",".join(f"{x:.0f}" for x in samples))
    print(f"median_ms={med:.1f}")
    print(f"max_ms={s[-1]:.1f}")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_s, value = line[len("apiserver_request_total{"):].rsplit("} ", 1)
        labels = {}
        for part in labels_s.split('",'):
            k, _, v = part.partition('="')
            labels[k] = v.rstrip('"')
        if labels.get("verb") not in WRITE_VERBS:
            continue
        res = labels.get("resource", "")
        if labels.get("subresource"):
            res += "/" + labels["subresource"]
        key = f"{res}|{labels['verb']}|{labels.get('code', '')}"
        out[key] = out.get(key, 0) + int(float(value))
    return out


def snapshot(clusters):
    snap = {"t_ns": time.time_ns(), "clusters": {}}
    for cl in clusters:
        c = conn(cl)
        c.request("GET", "/metrics")
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        if r.status != 200:
            die(f"GET /metrics on {cl}: HTTP {r.status}")
        snap["clusters"][cl] = parse_metrics(text)
    return snap


def cmd_snapshot(a):
    with open(a.out, "w") as f:
        json.dump(snapshot(a.clusters.split(",")), f)


PERIODIC = ("leases", "kubefedclusters/status", "kubefedclusters")


def relevant_total(snap, ignore_host_cm):
    total = 0
    for cl, counters in snap["clusters"].items():
        for key, v in counters.items():
            res = key.split("|")[0]
            if res in PERIODIC or (ignore_host_cm and cl == "fedhost" and res == "configmaps"):
                continue
            total += v
    return total


def cmd_settle(a):
    clusters = a.clusters.split(",")
    t0 = time.monotonic()
    snap = snapshot(clusters)
    last, since = relevant_total(snap, a.ignore_host_configmaps), time.monotonic()
    while time.monotonic() - since < a.quiet:
        if time.monotonic() - t0 > a.timeout:
            die(f"writes did not settle within {a.timeout} s (no change for {a.quiet} s in the write counters, "
                f"leases and KubeFedCluster status left out); still changing: {last}")
        time.sleep(1)
        snap = snapshot(clusters)
        cur = relevant_total(snap, a.ignore_host_configmaps)
        if cur != last:
            last, since = cur, time.monotonic()
    with open(a.out, "w") as f:
        json.dump(snap, f)
    print(f"waited_ms={(time.monotonic() - t0) * 1000:.0f}")


def load(path):
    with open(path) as f:
        return json.load(f)


def delta(before, after, cluster):
    b, out = before["clusters"].get(cluster, {}), {}
    for key, v in after["clusters"].get(cluster, {}).items():
        d = v - b.get(key, 0)
        if d:
            out[key] = d
    return out


def by_resource(d):
    """{resource: {verb: n}}, and {resource: failed} (codes >= 400)."""
    out, failed = {}, {}
    for key, v in d.items():
        res, verb, code = key.split("|")
        out.setdefault(res, {})
        out[res][verb] = out[res].get(verb, 0) + v
        if code and code[0] in "45":
            failed[res] = failed.get(res, 0) + v
    return out, failed


def sides(clusters):
    return [("host", [c for c in clusters if c == "fedhost"]),
            ("members", [c for c in clusters if c != "fedhost"])]


def side_delta(before, after, names):
    total = {}
    for c in names:
        for k, v in delta(before, after, c).items():
            total[k] = total.get(k, 0) + v
    return total


def cmd_writes(a):
    before, after = load(a.before), load(a.after)
    ib, ia = load(a.idle_before), load(a.idle_after)
    window = (after["t_ns"] - before["t_ns"]) / 1e9
    idle_window = (ia["t_ns"] - ib["t_ns"]) / 1e9
    print(f"    (window {window:.1f} s; idle estimate = the idle window's rate over {idle_window:.1f} s x the window)")
    clusters = sorted(after["clusters"])
    summary = {}
    print(f"    {'':8} {'resource':34} {'writes':>7} {'idle est.':>9} {'net':>6} {'per object':>10}  verbs (net)")
    grand = 0.0
    for side, names in sides(clusters):
        raw, raw_failed = by_resource(side_delta(before, after, names))
        idle, _ = by_resource(side_delta(ib, ia, names))
        side_total = 0.0
        for res in sorted(set(raw) | set(idle), key=lambda r: -sum(raw.get(r, {}).values())):
            n_raw = sum(raw.get(res, {}).values())
            verbs = []
            n_net = 0
            for verb in WRITE_VERBS:
                rv = raw.get(res, {}).get(verb, 0)
                bg = idle.get(res, {}).get(verb, 0) * window / idle_window
                net = max(0, round(rv - bg))
                n_net += net
                if net:
                    verbs.append(f"{verb} {net}")
            n_bg = sum(idle.get(res, {}).values()) * window / idle_window
            if n_raw == 0:
                continue
            fail = f"; {raw_failed[res]} failed (4xx/5xx)" if raw_failed.get(res) else ""
            print(f"    {side:8} {res:34} {n_raw:7d} {n_bg:9.1f} {n_net:6d} {n_net / a.objects:10.3f}  {' '.join(verbs)}{fail}")
            side_total += n_net
        summary[f"{side}_per_object"] = side_total / a.objects
        grand += side_total
        print(f"    {side:8} {'(all, net)':34} {'':7} {'':9} {int(side_total):6d} {side_total / a.objects:10.3f}")
    summary["total_per_object"] = grand / a.objects
    print(f"    {'total':8} {'(all, net)':34} {'':7} {'':9} {int(grand):6d} {grand / a.objects:10.3f}")
    if a.summary:
        with open(a.summary, "w") as f:
            for k, v in summary.items():
                f.write(f"{k}={v:.3f}\n")


def cmd_idle(a):
    before, after = load(a.before), load(a.after)
    base = None
    seconds = (after["t_ns"] - before["t_ns"]) / 1e9
    if a.baseline_before:
        bb, ba = load(a.baseline_before), load(a.baseline_after)
        base = (bb, ba, (ba["t_ns"] - bb["t_ns"]) / 1e9)
    print(f"    (idle {seconds:.1f} s with the controller" + (f"; without it {base[2]:.1f} s before it started)" if base else ")"))
    summary = {}
    print(f"    {'cluster':8} {'resource':34} {'writes':>7} {'per min':>8} {'no controller':>14}  verbs")
    for cl in sorted(after["clusters"]):
        d, _ = by_resource(delta(before, after, cl))
        b = by_resource(delta(base[0], base[1], cl))[0] if base else {}
        lock = other = 0
        for res in sorted(set(d) | set(b)):
            n = sum(d.get(res, {}).values())
            per_min = n * 60 / seconds
            nb = sum(b.get(res, {}).values()) * 60 / base[2] if base else 0
            verbs = " ".join(f"{v} {c}" for v, c in sorted(d.get(res, {}).items()))
            print(f"    {cl:8} {res:34} {n:7d} {per_min:8.1f} {nb:14.1f}  {verbs}")
            ctl = per_min - nb
            if res in ("leases", "configmaps"):
                lock += ctl
            else:
                other += ctl
        if cl == "fedhost":
            summary["host_lock_per_min"] = lock
            summary["host_other_per_min"] = other
            summary["host_total_per_min"] = lock + other
        else:
            summary["members_total_per_min"] = summary.get("members_total_per_min", 0) + lock + other
    if a.summary:
        with open(a.summary, "w") as f:
            for k, v in summary.items():
                f.write(f"{k}={v:.1f}\n")


def main():
    global SSL
    if not FED_DIR:
        die("LOCAL_FEDERATION_DIR is not set")
    SSL = ctx()
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("count-watch")
    s.add_argument("--clusters", required=True)
    s.add_argument("--ns", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--ready-kfc")
    s.add_argument("--kubefed-ns")
    s.add_argument("--timeout", type=float, default=600)
    s = sub.add_parser("latency")
    s.add_argument("--host", default="fedhost")
    s.add_argument("--members", required=True)
    s.add_argument("--ns", required=True)
    s.add_argument("--count", type=int, default=100)
    s.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("drift")
    s.add_argument("--cluster", required=True)
    s.add_argument("--ns", required=True)
    s.add_argument("--samples", type=int, default=10)
    s.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("snapshot")
    s.add_argument("--clusters", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("settle")
    s.add_argument("--clusters", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--quiet", type=float, default=2)
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("--ignore-host-configmaps", action="store_true")
    s = sub.add_parser("writes")
    for f in ("before", "after", "idle-before", "idle-after"):
        s.add_argument(f"--{f}", required=True)
    s.add_argument("--objects", type=int, required=True)
    s.add_argument("--summary")
    s = sub.add_parser("idle")
    s.add_argument("--before", required=True)
    s.add_argument("--after", required=True)
    s.add_argument("--baseline-before")
    s.add_argument("--baseline-after")
    s.add_argument("--summary")
    a = p.parse_args()
    {"count-watch": cmd_count_watch, "latency": cmd_latency, "drift": cmd_drift, "snapshot": cmd_snapshot,
     "settle": cmd_settle, "writes": cmd_writes, "idle": cmd_idle}[a.cmd](a)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
