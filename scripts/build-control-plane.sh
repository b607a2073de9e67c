#!/usr/bin/env bash
# Builds the Kubernetes control plane the test rig runs (kube-apiserver, kube-controller-manager
# for garbage collection, etcd) from the Go module proxy, once, into a cache keyed by version.
# The rig uses this when KUBEBUILDER_ASSETS (envtest's convention for prebuilt binaries) is unset.
# Prints the folder holding the binaries. --cached-only: print it if built, fail otherwise.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-v1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"
CACHE="${ARBEES_CACHE:-$HOME/.cache/arbees}"
OUT="$CACHE/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
binaries=(kube-apiserver kube-controller-manager etcd)
missing=()
for b in "${binaries[@]}"; do [[ -x "$OUT/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then echo "$OUT"; exit 0; fi
if [[ "${1:-}" == "--cached-only" ]]; then echo "not built: ${missing[*]} (in $OUT)" >&2; exit 1; fi
command -v go >/dev/null || { echo "missing go: install Go >= 1.23 (https://go.dev/dl) to build ${missing[*]}" >&2; exit 1; }
mkdir -p "$OUT"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod

build_kubernetes() { # $@: commands under k8s.io/kubernetes/cmd/
  local minor staging_minor gomod
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  staging_minor="v0.${K8S_VERSION#v1.}"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  go mod init arbees.local/controlplane >/dev/null 2>&1
  # kubernetes' go.mod maps every k8s.io/* staging module to ./staging/...; map each to its published v0.x release.
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo "replace ("
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging_minor" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >> go.mod
  { echo '//go:build tools'; echo 'package tools'; for c in "$@"; do echo "import _ \"k8s.io/kubernetes/cmd/$c\""; done; } > tools.go
  go mod tidy >&2
  # The reported version must be real, or Helm's kubeVersion checks fail.
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  for c in "$@"; do
    echo "building $c $K8S_VERSION..." >&2
    go build -trimpath -ldflags "$ldflags" -o "$OUT/$c.tmp" "k8s.io/kubernetes/cmd/$c" && mv "$OUT/$c.tmp" "$OUT/$c"
  done
}

build_etcd() {
  echo "building etcd $ETCD_VERSION..." >&2
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init arbees.local/etcd >/dev/null 2>&1
  printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go mod tidy >&2
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$OUT/etcd.tmp" "$OUT/etcd"
}

k8s_missing=()
for b in "${missing[@]}"; do [[ "$b" == etcd ]] || k8s_missing+=("$b"); done
[[ ${#k8s_missing[@]} -eq 0 ]] || build_kubernetes "${k8s_missing[@]}"
if [[ ! -x "$OUT/etcd" ]]; then build_etcd; fi
echo "$OUT"
