#!/usr/bin/env bash
# Builds upstream kubelet, kube-scheduler and kubectl from the Go wrapper module in this directory
# into the same cache directory as the API servers (../build.sh), and prints that directory. The
# local federation's nodes run them; tests use kubectl as a user would (logs, exec).
#
#   tests/testenv/node/build.sh            build if needed; last line of stdout is the bin directory
#   tests/testenv/node/build.sh --print    print the bin directory only (no build, fails if absent)
#
# The cache key is the hash of go.mod + go.sum + `go version`, kept in `.stamp-node` beside the
# API servers' `.stamp`. KUBEFEDCTL_TESTENV_CACHE overrides the cache root
# (default ~/.cache/kubefedctl-testenv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf 'testenv/node: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "error: Go is not installed or not on PATH."
  say "hint: the nodes are built from upstream Go modules; install Go >= 1.26 (https://go.dev/dl) and rerun."
  exit 1
fi

k8s_version=$(sed -n 's#^[[:space:]]*k8s\.io/kubernetes \(v[0-9.]*\).*#\1#p; s#^require k8s\.io/kubernetes \(v[0-9.]*\).*#\1#p' "$here/go.mod" | head -n1)
[[ -n "$k8s_version" ]] || { say "error: no k8s.io/kubernetes requirement in $here/go.mod"; exit 1; }
minor=$(echo "$k8s_version" | cut -d. -f2)
go_version=$(GOTOOLCHAIN=local go env GOVERSION)
key=$( { cat "$here/go.mod" "$here/go.sum"; echo "$go_version"; } | sha256sum | cut -c1-16)
cache_root=${KUBEFEDCTL_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubefedctl-testenv}
out="$cache_root/$k8s_version"
stamp="$out/.stamp-node"
bins=(kubelet kube-scheduler kubectl)

stamp_ok() { [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; }

if [[ "${1:-}" == "--print" ]]; then
  stamp_ok || { say "error: kubelet, kube-scheduler and kubectl $k8s_version are not built; run tests/testenv/node/build.sh"; exit 1; }
  echo "$out"
  exit 0
fi

if stamp_ok; then
  for b in "${bins[@]}"; do
    [[ -x "$out/$b" ]] || { rm -f "$stamp"; break; }
  done
fi
if stamp_ok; then
  say "cached: kubelet, kube-scheduler and kubectl $k8s_version in $out (key $key, $go_version)"
  echo "$out"
  exit 0
fi

# CGO off as for the API servers: the same build configuration lets the Go build cache share
# every package the two modules have in common (most of them).
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
cd "$here"
say "building kubelet, kube-scheduler and kubectl $k8s_version with $go_version into $out"
say "(after the API servers' build: a few minutes on 2 cores; warm: instant)"
mkdir -p "$out"
rm -f "$stamp"
start=$(date +%s)
go mod download
# Stamped like the API servers: unstamped, a node reports kubeletVersion v0.0.0-master.
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
say "go build ${bins[*]}"
go build -trimpath -ldflags "$ld" -o "$out/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
"$out/kubelet" --version >&2
"$out/kubectl" version --client 2>/dev/null | head -n1 >&2
echo "$key" > "$stamp"
say "built in $(( $(date +%s) - start )) s"
echo "$out"
