#!/usr/bin/env bash
# Builds the container images the local federation's nodes run, as OCI archives, from Debian's
# busybox-static package: no registry, no docker. The nodes import them with
# `ctr -n k8s.io images import` at `up`; pods use them with imagePullPolicy IfNotPresent or Never.
#
#   pause    the pod sandbox (containerd's sandbox_image): `busybox sleep inf`
#   busybox  a shell with every busybox applet, `httpd` among them (a tiny HTTP server); CMD sh
#
#   tests/testenv/images.sh     build if needed; the last line of stdout is the directory holding
#                               pause.tar, busybox.tar and `refs` (one "NAME REFERENCE" a line)
#
# The archives are reproducible (fixed mtimes and owners), cached in
# $KUBEFEDCTL_TESTENV_CACHE/images-<key> (default ~/.cache/kubefedctl-testenv), keyed on this
# script and the busybox-static version.
set -euo pipefail

say() { printf 'testenv/images: %s\n' "$*" >&2; }

busybox=/bin/busybox
version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || {
  say "error: the Debian package busybox-static is not installed"
  say "hint: apt-get install busybox-static (scripts/test and scripts/demo install it)"
  exit 1
}
# NB: the dynamic `busybox` package also ships /bin/busybox; only the static one runs in an
# image without a libc.
[[ "$(dpkg -S "$busybox" 2>/dev/null)" == "busybox-static: $busybox" ]] || {
  say "error: $busybox does not come from busybox-static"; exit 1; }
arch=$(dpkg --print-architecture)
key=$( { cat "${BASH_SOURCE[0]}"; echo "$version $arch"; } | sha256sum | cut -c1-16)
cache_root=${KUBEFEDCTL_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubefedctl-testenv}
out="$cache_root/images-$key"
tag=$(echo "$version" | sed 's/^[0-9]*://; s/^\([0-9]*\.[0-9]*\).*/\1/')   # 1:1.35.0-4+deb12u1 -> 1.35
refs=(
  "pause localhost/local-federation/pause:$tag"
  "busybox localhost/local-federation/busybox:$tag"
)

if [[ -f "$out/refs" && -f "$out/pause.tar" && -f "$out/busybox.tar" ]]; then
  say "cached: pause and busybox images (busybox-static $version) in $out"
  echo "$out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# oci_archive NAME REF ROOTFS CONFIG_JSON_FRAGMENT: an OCI image layout with one uncompressed
# layer, tarred to $work/NAME.tar.
oci_archive() {
  local name=$1 ref=$2 rootfs=$3 config=$4
  local layout="$work/$name-layout"
  mkdir -p "$layout/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -cf "$work/$name-layer.tar" .
  local layer; layer=$(sha "$work/$name-layer.tar")
  local layer_size; layer_size=$(size "$work/$name-layer.tar")
  mv "$work/$name-layer.tar" "$layout/blobs/sha256/$layer"
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"tests/testenv/images.sh from Debian busybox-static %s"}]}' \
    "$arch" "$config" "$layer" "$version" > "$work/config.json"
  local cfg; cfg=$(sha "$work/config.json"); local cfg_size; cfg_size=$(size "$work/config.json")
  mv "$work/config.json" "$layout/blobs/sha256/$cfg"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg" "$cfg_size" "$layer" "$layer_size" > "$work/manifest.json"
  local man; man=$(sha "$work/manifest.json"); local man_size; man_size=$(size "$work/manifest.json")
  mv "$work/manifest.json" "$layout/blobs/sha256/$man"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man" "$man_size" "$arch" "$ref" "${ref##*:}" > "$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$work/$name.tar" .
}

ref_of() { local r; for r in "${refs[@]}"; do [[ ${r%% *} == "$1" ]] && echo "${r#* }"; done; }
path_env='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'

# pause: holds the pod's namespaces. containerd kills the sandbox with SIGKILL, so `sleep` as
# PID 1 ignoring SIGTERM does not matter.
mkdir -p "$work/pause/bin"
cp "$busybox" "$work/pause/bin/busybox"
oci_archive pause "$(ref_of pause)" "$work/pause" "{$path_env,\"Entrypoint\":[\"/bin/busybox\",\"sleep\",\"inf\"]}"

# busybox: like the busybox image of a registry, every applet linked in /bin.
r="$work/busybox"
mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/tmp" "$r/var/www"
chmod 1777 "$r/tmp"; chmod 700 "$r/root"
cp "$busybox" "$r/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox || -e "$r/bin/$applet" ]] || ln -s busybox "$r/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
oci_archive busybox "$(ref_of busybox)" "$r" "{$path_env,\"Cmd\":[\"sh\"]}"

mkdir -p "$out"
mv "$work/pause.tar" "$work/busybox.tar" "$out/"
printf '%s\n' "${refs[@]}" > "$out/refs.tmp" && mv "$out/refs.tmp" "$out/refs"
say "built pause and busybox images from busybox-static $version in $out"
echo "$out"
