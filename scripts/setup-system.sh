#!/usr/bin/env bash
# Makes sure the system programs the test rig runs are present: redis-server, prometheus
# (with promtool), PostgreSQL's server, openssl, python3, and Go (to build kube-apiserver/etcd);
# for the rig's Kubernetes node, containerd, runc, the CNI plugins, ipset, conntrack and nft; to build
# images without Docker, buildah and debootstrap (with Debian's archive keys).
# As root with apt-get it installs what is missing; otherwise it names the command to run.
set -euo pipefail
missing=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
have redis-server || missing+=(redis-server)
have prometheus || missing+=(prometheus)
have promtool || missing+=(prometheus)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || have initdb || [[ -n "${PG_BIN:-}" ]] || missing+=(postgresql)
have python3 || missing+=(python3)
have iptables || missing+=(iptables)
have ip || missing+=(iproute2)
have containerd || missing+=(containerd)
have runc || missing+=(runc)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
have ipset || missing+=(ipset)
have conntrack || missing+=(conntrack)
have nft || missing+=(nftables)
have buildah || missing+=(buildah)
have debootstrap || missing+=(debootstrap)
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
if [[ ${#missing[@]} -gt 0 ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing with apt-get: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if [[ -z "${KUBEBUILDER_ASSETS:-}" ]] && ! command -v go >/dev/null; then
  echo "missing go: install Go >= 1.23 (https://go.dev/dl) to build kube-apiserver and etcd, or set KUBEBUILDER_ASSETS to setup-envtest binaries" >&2
  exit 1
fi
