#!/usr/bin/env bash
# Builds what a Kubernetes node of the test rig runs besides containerd (Debian's): kubelet,
# kube-scheduler and kube-proxy at the control plane's version, CoreDNS (cluster DNS) and
# kube-router (its firewall controller enforces NetworkPolicies), from the Go module proxy,
# once, into a folder of ~/.cache/arbees keyed by the versions.
# Prints the folder. --cached-only: print it if built, fail otherwise.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-v1.33.13}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
# shellcheck source=lib/go-build.sh
source "$(dirname "$0")/lib/go-build.sh"
OUT="$ARBEES_CACHE/node/k8s-$K8S_VERSION-coredns-$COREDNS_VERSION-kube-router-$KUBE_ROUTER_VERSION"
use_cache_or_prepare "$OUT" "${1:-}" kubelet kube-scheduler kube-proxy coredns kube-router

k8s_missing=()
for b in "${MISSING[@]}"; do
  if [[ "$b" == kubelet || "$b" == kube-scheduler || "$b" == kube-proxy ]]; then k8s_missing+=("$b"); fi
done
[[ ${#k8s_missing[@]} -eq 0 ]] || build_kubernetes "$OUT" "$K8S_VERSION" "${k8s_missing[@]}"
[[ -x "$OUT/coredns" ]] || go_build_module "$OUT" coredns github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns
[[ -x "$OUT/kube-router" ]] || go_build_module "$OUT" kube-router github.com/cloudnativelabs/kube-router/v2 "$KUBE_ROUTER_VERSION" \
  github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
echo "$OUT"
