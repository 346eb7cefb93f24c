#!/usr/bin/env bash
# Builds the ORIGINAL Go KubeFed v0.10.0 `kubefedctl` and controller-manager (as
# `kubefed-controller-manager`) from the Go wrapper module in this directory into a cache outside
# the repo, and prints the directory holding them. They serve as a wire-compatibility referee.
#
#   tests/testenv/kubefed/build.sh            build if needed; last line of stdout is the bin directory
#   tests/testenv/kubefed/build.sh --print    print the bin directory only (no build, fails if absent)
#
# The cache key is the hash of go.mod + go.sum + `go version`: when the stamp file in the cache
# matches, nothing is built. KUBEFEDCTL_TESTENV_CACHE overrides the cache root
# (default ~/.cache/kubefedctl-testenv); binaries go to <root>/kubefed-v0.10.0/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf 'testenv/kubefed: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "error: Go is not installed or not on PATH."
  say "hint: the referee is built from the upstream Go module; install Go >= 1.26 (https://go.dev/dl) and rerun."
  exit 1
fi

kubefed_version=$(sed -n 's#^[[:space:]]*sigs\.k8s\.io/kubefed \(v[0-9.]*\).*#\1#p' "$here/go.mod" | head -n1)
[[ -n "$kubefed_version" ]] || { say "error: no sigs.k8s.io/kubefed requirement in $here/go.mod"; exit 1; }
# Commit of the upstream tag (kubernetes-retired/kubefed); only used for `version` output.
declare -A tag_commit=([v0.10.0]=76ad91b1fbdedee0c6733ccaa00d7165965b69fe)
git_commit=${tag_commit[$kubefed_version]:-unknown}
go_version=$(GOTOOLCHAIN=local go env GOVERSION)
key=$( { cat "$here/go.mod" "$here/go.sum"; echo "$go_version"; } | sha256sum | cut -c1-16)
cache_root=${KUBEFEDCTL_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubefedctl-testenv}
out="$cache_root/kubefed-$kubefed_version"
stamp="$out/.stamp"
bins=(kubefedctl kubefed-controller-manager)

stamp_ok() { [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; }

if [[ "${1:-}" == "--print" ]]; then
  stamp_ok || { say "error: KubeFed $kubefed_version referee binaries are not built; run tests/testenv/kubefed/build.sh"; exit 1; }
  echo "$out"
  exit 0
fi

if stamp_ok; then
  for b in "${bins[@]}"; do
    [[ -x "$out/$b" ]] || { rm -f "$stamp"; break; }
  done
fi
if stamp_ok; then
  say "cached: kubefedctl and kubefed-controller-manager $kubefed_version in $out (key $key, $go_version)"
  echo "$out"
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
cd "$here"
say "building kubefedctl and kubefed-controller-manager $kubefed_version with $go_version into $out"
say "(cold: downloads ~60 MB of modules, ~360 MB unpacked, and compiles for ~2-3 min on 2 cores; warm: instant)"
mkdir -p "$out"
rm -f "$stamp"
start=$(date +%s)
go mod download
p=sigs.k8s.io/kubefed/pkg/version
ld="-s -w -X $p.version=$kubefed_version -X $p.gitCommit=$git_commit -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
say "go build kubefedctl"
go build -trimpath -ldflags "$ld" -o "$out/kubefedctl" sigs.k8s.io/kubefed/cmd/kubefedctl
say "go build kubefed-controller-manager"
go build -trimpath -ldflags "$ld" -o "$out/kubefed-controller-manager" sigs.k8s.io/kubefed/cmd/controller-manager
"$out/kubefedctl" version >&2
echo "$key" > "$stamp"
say "built in $(( $(date +%s) - start )) s"
echo "$out"
