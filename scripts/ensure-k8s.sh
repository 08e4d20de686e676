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

complete() {
  for c in "${components[@]}" etcd coredns; do [[ -x $cache/$c ]] || return 1; done
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
build() { # build <dir> <output> <package>
  (cd "$1" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$cache/$2.tmp" "$3") >&2
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
for c in "${components[@]}"; do
  [[ -x $cache/$c ]] || build "$k8s" "$c" "./cmd/$c"
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
