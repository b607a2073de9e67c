#!/usr/bin/env bash
# Builds the Kubernetes control plane the test rig runs (kube-apiserver, kube-controller-manager
# for garbage collection, etcd) from the Go module proxy, once, into a cache keyed by version.
# The rig uses this when KUBEBUILDER_ASSETS (envtest's convention for prebuilt binaries) is unset.
# Prints the folder holding the binaries. --cached-only: print it if built, fail otherwise.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-v1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"
# shellcheck source=lib/go-build.sh
source "$(dirname "$0")/lib/go-build.sh"
OUT="$ARBEES_CACHE/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
use_cache_or_prepare "$OUT" "${1:-}" kube-apiserver kube-controller-manager etcd

k8s_missing=()
for b in "${MISSING[@]}"; do if [[ "$b" != etcd ]]; then k8s_missing+=("$b"); fi; done
[[ ${#k8s_missing[@]} -eq 0 ]] || build_kubernetes "$OUT" "$K8S_VERSION" "${k8s_missing[@]}"
[[ -x "$OUT/etcd" ]] || go_build_module "$OUT" etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
echo "$OUT"
