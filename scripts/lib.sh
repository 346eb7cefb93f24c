# Shared by scripts/demo, scripts/test and .ci/run: install what is missing, never silently.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

step() { printf '\n==> %s\n' "$*" >&2; }

# Debian packages the local federation and the tests need (openssl for the PKI, curl for
# readiness probes, tmux for terminal tests, and what the nodes run on).
ensure_packages() {
  local missing=()
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)  # scripts/bench counts JSON items
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  # tmux drives the terminal tests (prompts answered as a person would).
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  # The nodes: container runtime, CNI plugins (bridge, host-local), network setup, and the
  # busybox the test images are built from (the static one: the images have no libc).
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" == "install ok installed" ]] || missing+=(busybox-static)
  if (( ${#missing[@]} )); then
    step "installing ${missing[*]}"
    local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"
  fi
  command -v cargo >/dev/null 2>&1 || { echo "error: cargo is not installed; install Rust (https://rustup.rs) and rerun" >&2; exit 1; }
  command -v go >/dev/null 2>&1 || { echo "error: Go is not installed; the test clusters are built from upstream Go modules: install Go >= 1.26 and rerun" >&2; exit 1; }
}
