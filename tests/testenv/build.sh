#!/usr/bin/env bash
# Builds upstream kube-apiserver, kube-controller-manager and etcd from the Go wrapper module in
# this directory into a cache outside the repo, and prints the directory holding them. Unless
# --no-nodes, also the nodes' kubelet, kube-scheduler and kubectl (node/build.sh, same directory).
#
#   tests/testenv/build.sh [--no-nodes]           build if needed; last line of stdout is the bin directory
#   tests/testenv/build.sh [--no-nodes] --print   print the bin directory only (no build, fails if absent)
#
# The cache key is the hash of go.mod + go.sum + `go version`: when the stamp file in the cache
# matches, nothing is built. KUBEFEDCTL_TESTENV_CACHE overrides the cache root
# (default ~/.cache/kubefedctl-testenv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf 'testenv: %s\n' "$*" >&2; }

nodes=1 print=0
for arg in "$@"; do
  case $arg in
    --no-nodes) nodes=0 ;;
    --print) print=1 ;;
    *) say "error: unknown argument \`$arg\` (expected --no-nodes, --print)"; exit 2 ;;
  esac
done

if ! command -v go >/dev/null 2>&1; then
  say "error: Go is not installed or not on PATH."
  say "hint: the test clusters are built from upstream Go modules; install Go >= 1.26 (https://go.dev/dl) and rerun."
  exit 1
fi

k8s_version=$(sed -n 's#^[[:space:]]*k8s\.io/kubernetes \(v[0-9.]*\).*#\1#p' "$here/go.mod" | head -n1)
etcd_version=$(sed -n 's#^[[:space:]]*go\.etcd\.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$here/go.mod" | head -n1)
minor=$(echo "$k8s_version" | cut -d. -f2)
go_version=$(GOTOOLCHAIN=local go env GOVERSION)
key=$( { cat "$here/go.mod" "$here/go.sum"; echo "$go_version"; } | sha256sum | cut -c1-16)
cache_root=${KUBEFEDCTL_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubefedctl-testenv}
out="$cache_root/$k8s_version"
stamp="$out/.stamp"

if (( print )); then
  [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]] || { say "error: test binaries for $k8s_version are not built; run tests/testenv/build.sh"; exit 1; }
  (( nodes == 0 )) || "$here/node/build.sh" --print > /dev/null
  echo "$out"
  exit 0
fi

# The nodes' binaries, after the API servers' (whose build warms the Go build cache for them).
finish() {
  (( nodes == 0 )) || "$here/node/build.sh" > /dev/null
  echo "$out"
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  for b in kube-apiserver kube-controller-manager etcd; do
    [[ -x "$out/$b" ]] || { rm -f "$stamp"; break; }
  done
fi
if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  say "cached: kube-apiserver, kube-controller-manager $k8s_version and etcd $etcd_version in $out (key $key, $go_version)"
  finish
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
cd "$here"
say "building kube-apiserver and kube-controller-manager $k8s_version, etcd $etcd_version with $go_version into $out"
say "(cold: downloads ~0.7 GB of modules and compiles for many minutes; warm: seconds)"
mkdir -p "$out"
rm -f "$stamp"
start=$(date +%s)
go mod download
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
say "go build kube-apiserver kube-controller-manager"
go build -trimpath -ldflags "$ld" -o "$out/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
say "go build etcd"
go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
"$out/kube-apiserver" --version >&2
"$out/etcd" --version | head -n1 >&2
echo "$key" > "$stamp"
say "built in $(( $(date +%s) - start )) s"
finish
