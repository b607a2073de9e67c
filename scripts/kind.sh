#!/usr/bin/env bash
# The local kind cluster of `make kind-up | kind-load | deploy | kind-down`:
#   up      create the cluster from k8s/kind-config.yaml (one control plane, two workers)
#   load    build the image with docker and load it into the nodes (arbees:dev)
#   deploy  install or upgrade the chart with charts/arbees/values-kind.yaml (a sample paper shard),
#           after `load` if the nodes do not have the image yet
#   down    delete the cluster
# Environment: KIND_CLUSTER (default arbees), KIND_NODE_IMAGE (e.g. kindest/node:v1.33.1; the
# chart needs Kubernetes >= 1.31), IMAGE (default arbees:dev), NAMESPACE (default arbees-system).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER:-arbees}
image=${IMAGE:-arbees:dev}
namespace=${NAMESPACE:-arbees-system}
context="kind-$cluster"
export PATH="$root/.tools/bin:$PATH"

die() { echo "kind.sh: $*" >&2; exit 1; }

need_docker() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed: kind runs its nodes as docker containers (https://docs.docker.com/engine/install/)"
  docker info >/dev/null 2>&1 || die "docker is installed but its daemon is not reachable (is it running, and may this user use it?): $(docker info 2>&1 | grep -m1 -iE 'error|cannot' || true)"
}
need_kind() {
  command -v kind >/dev/null 2>&1 || die "kind is not installed: 'go install sigs.k8s.io/kind@v0.29.0' (then put \$(go env GOPATH)/bin on PATH), or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
}
need_tools() {
  command -v helm >/dev/null 2>&1 || die "helm is missing: run 'make setup' (installs helm and kubectl into .tools/bin)"
  command -v kubectl >/dev/null 2>&1 || die "kubectl is missing: run 'make setup' (installs helm and kubectl into .tools/bin)"
}
cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$cluster"; }
need_cluster() { cluster_exists || die "no kind cluster '$cluster': run 'make kind-up' first"; }

case "${1:-}" in
  up)
    need_docker; need_kind
    if cluster_exists; then
      echo "kind cluster '$cluster' exists already (context $context)"
    else
      kind create cluster --name "$cluster" --config "$root/k8s/kind-config.yaml" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s
    fi
    kind get nodes --name "$cluster"
    ;;
  load)
    need_docker; need_kind; need_cluster
    docker build -t "$image" "$root"
    kind load docker-image "$image" --name "$cluster"
    ;;
  deploy)
    need_docker; need_kind; need_tools; need_cluster
    kubectl --context "$context" get nodes >/dev/null
    # `make kind-up && make deploy` works on its own: build and load the image when no node has it.
    if ! docker exec "$cluster-worker" crictl inspecti -q "$image" >/dev/null 2>&1; then
      echo "kind.sh: $image is not on the nodes yet: building and loading it"
      "$0" load
    fi
    # Helm installs crds/ on the first install only; apply them every time so upgrades get changes.
    kubectl --context "$context" apply --server-side -f "$root/charts/arbees/crds/"
    kubectl --context "$context" wait --for=condition=Established --timeout=60s crd/tradingshards.arbees.io
    # The operator's namespace holds only restricted pods; the shards' get privileged (the chart).
    kubectl --context "$context" create namespace "$namespace" --dry-run=client -o yaml | kubectl --context "$context" apply -f -
    kubectl --context "$context" label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted --overwrite
    repository=${image%:*}
    tag=${image##*:}
    if ! helm upgrade --install arbees "$root/charts/arbees" --kube-context "$context" --namespace "$namespace" \
      -f "$root/charts/arbees/values-kind.yaml" --set image.repository="$repository" --set image.tag="$tag" \
      --wait --timeout 5m; then
      echo "kind.sh: the release did not become ready; is the image loaded ('make kind-load')? kubectl --context $context -n $namespace get pods" >&2
      exit 1
    fi
    kubectl --context "$context" get tradingshards -A
    ;;
  down)
    need_kind
    if cluster_exists; then kind delete cluster --name "$cluster"; else echo "no kind cluster '$cluster'"; fi
    ;;
  *)
    die "usage: scripts/kind.sh up|load|deploy|down"
    ;;
esac
