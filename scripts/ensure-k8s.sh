#!/usr/bin/env bash
# ensure-k8s.sh prints the folder of a one-node Kubernetes' binaries, building them once if
# needed: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy,
# kubectl and CoreDNS, from the Go module proxy (no registry or download site is reachable
# here). scripts/k8s-cluster.sh runs them (make test-k8s).
#
# The module zips of k8s.io/kubernetes have no staging/ folder, so its go.mod's
# `k8s.io/<x> => ./staging/src/k8s.io/<x>` replaces are pointed at the published modules
# (v0.<minor>.<patch>); etcd's server module replaces its siblings with ../, pointed at the
# same release the same way. Both build in a writable copy with GOWORK=off and -mod=mod.
# About 16 minutes on 2 cores the first time; cached under ${XDG_CACHE_HOME:-$HOME/.cache}/tracelab.
# Progress goes to stderr; only the folder goes to stdout: K8S=$(scripts/ensure-k8s.sh).
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracelab/k8s-$K8S_VERSION
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# built C: the binary is there and, for Kubernetes' own, says it is $K8S_VERSION (builds of
# an earlier version of this script said v0.0.0-master, having no version ldflags).
built() {
  [[ -x $cache/$1 ]] || return 1
  case $1 in
    kubectl) "$cache/kubectl" version --client 2>/dev/null | grep -q "Client Version: $K8S_VERSION\$" ;;
    kube-*|kubelet) "$cache/$1" --version 2>/dev/null | grep -q "^Kubernetes $K8S_VERSION\$" ;;
  esac
}
complete() {
  for c in "${components[@]}" etcd coredns; do built "$c" || return 1; done
}
if complete; then echo "$cache"; exit 0; fi

# moddir downloads a module and prints the folder the module cache holds it in (read-only).
moddir() {
  GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
# writable copies a module's folder to a temporary one the build may change.
writable() {
  local src dst
  src=$(moddir "$1")
  [[ -n $src && -d $src ]] || { echo "ensure-k8s: could not download $1" >&2; exit 1; }
  dst=$(mktemp -d "${TMPDIR:-/tmp}/ensure-k8s.XXXXXX")
  cp -r "$src/." "$dst/"
  chmod -R u+w "$dst"
  echo "$dst"
}
work=()
cleanup() {
  local d
  for d in "${work[@]}"; do chmod -R u+w "$d" 2>/dev/null; rm -rf "$d"; done
}
trap cleanup EXIT
mkdir -p "$cache"
build() { # build <dir> <output> <package> [go build flags]
  (cd "$1" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath "${@:4}" -o "$cache/$2.tmp" "$3") >&2
  mv "$cache/$2.tmp" "$cache/$2"
  echo "ensure-k8s: built $cache/$2" >&2
}

echo "ensure-k8s: building Kubernetes $K8S_VERSION, etcd $ETCD_VERSION and CoreDNS $COREDNS_VERSION" \
     "from the Go module proxy; the first time takes about 5 minutes, later runs use $cache" >&2

k8s=$(writable "k8s.io/kubernetes@$K8S_VERSION"); work+=("$k8s")
staging=v0.${K8S_VERSION#v1.}
sed -i -E "s#^([[:space:]]*)(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\$#\1\2 => \2 $staging#" "$k8s/go.mod"
if grep -q '=> ./staging' "$k8s/go.mod"; then
  echo "ensure-k8s: some staging replaces of k8s.io/kubernetes were not rewritten:" >&2
  grep '=> ./staging' "$k8s/go.mod" >&2
  exit 1
fi
rm -f "$k8s/go.work" "$k8s/go.work.sum"
# The version the binaries report (kubectl version, the node's kubelet version), as
# Kubernetes' own build sets it (hack/lib/version.sh): without it they say v0.0.0-master.
major=${K8S_VERSION#v}; major=${major%%.*}
minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
for c in "${components[@]}"; do
  built "$c" || build "$k8s" "$c" "./cmd/$c" -ldflags="$ldflags"
done

if [[ ! -x $cache/etcd ]]; then
  etcd=$(writable "go.etcd.io/etcd/server/v3@$ETCD_VERSION"); work+=("$etcd")
  sed -i -E "s#^([[:space:]]*)(go\.etcd\.io/etcd/[a-z0-9/]+) => \.\./[a-z0-9/]+\$#\1\2 => \2 $ETCD_VERSION#" "$etcd/go.mod"
  build "$etcd" etcd .
fi

if [[ ! -x $cache/coredns ]]; then
  coredns=$(writable "github.com/coredns/coredns@$COREDNS_VERSION"); work+=("$coredns")
  build "$coredns" coredns .
fi

echo "$cache"
