#!/usr/bin/env bash
# k8s-cluster.sh runs a one-node Kubernetes on this machine as local processes, for
# `make test-k8s` (deploy/dockertest, TestKubernetes) and for anyone who wants to try
# deploy/k8s without a cluster of their own:
#
#   scripts/k8s-cluster.sh up             start it (prints the KUBECONFIG to use)
#   scripts/k8s-cluster.sh load IMAGE...  copy images from the Docker engine to the node
#   scripts/k8s-cluster.sh down           stop every process it started, remove its files,
#                                         network devices and firewall rules
#
# Root only (a kubelet, containerd and CNI need it), on Linux with Debian's containerd,
# runc and CNI plugins (installed with apt when missing). The binaries come from
# scripts/ensure-k8s.sh, built once from the Go module proxy and cached.
#
# What runs, each with its log in $K8S_DIR/logs:
#   etcd (127.0.0.1:23790), kube-apiserver (https://127.0.0.1:6443: static tokens, RBAC and
#   the Node authorizer, service accounts signed by a key made here), kube-controller-manager,
#   kube-scheduler, a containerd of its own (its own socket and root, beside Docker's), the
#   kubelet, kube-proxy (iptables) and CoreDNS (the cluster's DNS, as a process on the node).
#   A PersistentVolume of type local, in $K8S_DIR/volumes, is the storage: enough for
#   accountservice's claim (the cluster has no provisioner and no default StorageClass, so a
#   claim without a class binds to it).
#
# Its addresses stay inside this machine: the node is the bridge tlk8s0 at 10.244.0.1, pods
# get 10.244.0.0/24 on it, Services 10.96.0.0/16. Nothing listens beyond 127.0.0.1 and
# 10.244.0.1.
#
# What this machine needs and a production cluster would not do (each named where it is set):
#   - the kernel runs cgroup v1: the kubelet runs with failCgroupV1: false, and without QoS
#     cgroups (cgroupsPerQOS: false, enforceNodeAllocatable: []);
#   - lowering oom_score_adj is forbidden here: containerd's CRI restrict_oom_score_adj;
#   - no registry answers: the pause image is a stand-in built here (a static pause()), and
#     images are copied from Docker with `docker save | ctr images import`;
#   - Docker's FORWARD policy is DROP, and bridged packets pass through iptables
#     (br_netfilter): two ACCEPT rules for tlk8s0 let pods reach each other.
set -euo pipefail

K8S_DIR=${K8S_DIR:-/tmp/tracelab-k8s}
NODE=tracelab-node
NODE_IP=10.244.0.1
POD_SUBNET=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
BRIDGE=tlk8s0
ETCD_PORT=23790
API=https://127.0.0.1:6443
PAUSE_IMAGE=localhost/tracelab/pause:stand-in
RULE_COMMENT=tracelab-k8s
here=$(cd "$(dirname "$0")" && pwd)

say() { printf 'k8s-cluster: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

kubectl() { "$BIN/kubectl" --kubeconfig "$K8S_DIR/admin.kubeconfig" "$@"; }
ctr_() { ctr --address "$K8S_DIR/containerd/containerd.sock" --namespace k8s.io "$@"; }

# start NAME COMMAND...: runs COMMAND in the background, in a session of its own (so it
# outlives this script and the make that ran it), its output in logs/NAME.log.
start() {
  local name=$1; shift
  setsid "$@" >"$K8S_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$K8S_DIR/pids/$name"
  say "started $name (pid $!, log $K8S_DIR/logs/$name.log)"
}

# wait_until SECONDS WHAT COMMAND...: until COMMAND succeeds, or fails naming WHAT and the
# log to read.
wait_until() {
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$((seconds * 2))"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what did not come up within ${seconds}s; see $K8S_DIR/logs"
}

# needs: the Debian packages the node runs on, installed when missing (root with apt).
needs() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback && -x /usr/lib/cni/portmap ]] ||
    missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v gcc >/dev/null || missing+=(gcc)
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "missing: ${missing[*]}; install them and run again"
    say "installing ${missing[*]} with apt"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
  fi
  if ! docker info >/dev/null 2>&1; then
    die "no Docker engine answers: images reach the node from it (scripts/ensure-docker.sh starts one)"
  fi
}

# certificates: a CA of the cluster's own; the apiserver's serving certificate; the client
# certificate the apiserver shows the kubelet (logs, exec, port-forward); the key pair that
# signs service-account tokens.
certificates() {
  local pki=$K8S_DIR/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tracelab-k8s-ca \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  signed() { # signed NAME SUBJECT [SAN]
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    local ext=$pki/$1.ext
    : >"$ext"
    [[ -n ${3:-} ]] && echo "subjectAltName=$3" >"$ext"
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 2 -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
  }
  signed apiserver /CN=kube-apiserver \
    "IP:127.0.0.1,IP:$NODE_IP,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  signed apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# identities: one static token per client, each a user that Kubernetes' bootstrap RBAC
# roles already know (the admin is in system:masters; CoreDNS gets a role below), and a
# kubeconfig for each.
identities() {
  local tokens=$K8S_DIR/pki/tokens.csv name user groups token
  : >"$tokens"
  while read -r name user groups; do
    token=$(openssl rand -hex 16)
    echo "$token,$user,$user,\"$groups\"" >>"$tokens"
    cat >"$K8S_DIR/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: tracelab
    cluster: {server: "$API", certificate-authority: "$K8S_DIR/pki/ca.crt"}
users:
  - name: $name
    user: {token: "$token"}
contexts:
  - name: tracelab
    context: {cluster: tracelab, user: $name}
current-context: tracelab
EOF
  done <<EOF
admin admin system:masters
controller-manager system:kube-controller-manager
scheduler system:kube-scheduler
kubelet system:node:$NODE system:nodes
kube-proxy system:kube-proxy
coredns tracelab:coredns
EOF
}

# network: the bridge pods are plugged into, made here (not by the CNI plugin) so the node
# and CoreDNS have their address before the first pod; the two FORWARD rules (see the top).
network() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  iptables -I FORWARD 1 -i "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT
  iptables -I FORWARD 1 -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT
  mkdir -p "$K8S_DIR/cni/net.d" "$K8S_DIR/cni/ipam"
  cat >"$K8S_DIR/cni/net.d/10-tracelab.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tracelab-k8s",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$K8S_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

control_plane() {
  local pki=$K8S_DIR/pki
  start etcd "$BIN/etcd" --name "$NODE" --data-dir "$K8S_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster "$NODE=http://127.0.0.1:23800" --listen-metrics-urls http://127.0.0.1:23810
  wait_until 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port 6443 --advertise-address "$NODE_IP" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --token-auth-file "$pki/tokens.csv" --authorization-mode Node,RBAC \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --cert-dir "$K8S_DIR/apiserver"
  wait_until 60 kube-apiserver kubectl get --raw /readyz

  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" --bind-address 127.0.0.1 \
    --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-cidr "$CLUSTER_CIDR" --service-cluster-ip-range "$SERVICE_CIDR"
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$K8S_DIR/scheduler.kubeconfig" --bind-address 127.0.0.1 --leader-elect=false
}

# runtime: a containerd of the node's own, and the pause image every pod's sandbox runs.
runtime() {
  mkdir -p "$K8S_DIR/containerd"
  cat >"$K8S_DIR/containerd/config.toml" <<EOF
version = 2
root = "$K8S_DIR/containerd/root"
state = "$K8S_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$K8S_DIR/containerd/containerd.sock"
[ttrpc]
  address = "$K8S_DIR/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  # A stand-in: registry.k8s.io/pause cannot be pulled here (see pause_image).
  sandbox_image = "$PAUSE_IMAGE"
  # This machine forbids lowering oom_score_adj; without this runc fails with "can't get
  # final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_DIR/cni/net.d"
EOF
  start containerd containerd --config "$K8S_DIR/containerd/config.toml"
  wait_until 30 containerd ctr_ version
  pause_image
}

# pause_image: what registry.k8s.io/pause does (hold the pod's namespaces, sleep until
# told to stop, reap nothing), as a static program on scratch.
pause_image() {
  local dir=$K8S_DIR/pause
  mkdir -p "$dir"
  cat >"$dir/pause.c" <<'EOF'
#include <signal.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  for (;;) pause();
}
EOF
  gcc -static -Os -o "$dir/pause" "$dir/pause.c"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$dir/Dockerfile"
  docker build -q -t "$PAUSE_IMAGE" --label tracelab.standin=registry.k8s.io/pause "$dir" >/dev/null
  load "$PAUSE_IMAGE"
}

node() {
  mkdir -p "$K8S_DIR/kubelet"
  cat >"$K8S_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: unix://$K8S_DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
# This machine's kernel runs cgroup v1, which kubelet 1.37 refuses unless told.
failCgroupV1: false
# No QoS cgroups, hence no node-allocatable enforcement (they fail on this machine).
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
podCIDR: $POD_SUBNET
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: /etc/resolv.conf
# Only the apiserver talks to the kubelet, with the client certificate made above.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $K8S_DIR/pki/ca.crt}
authorization: {mode: AlwaysAllow}
# The images were copied here and cannot be pulled again: never collect them, and do not
# evict pods for a disk that is merely fuller than a production node would allow.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
EOF
  start kubelet "$BIN/kubelet" --config "$K8S_DIR/kubelet/config.yaml" \
    --kubeconfig "$K8S_DIR/kubelet.kubeconfig" --hostname-override "$NODE" --node-ip "$NODE_IP" \
    --root-dir "$K8S_DIR/kubelet/root" --cert-dir "$K8S_DIR/kubelet/pki"

  cat >"$K8S_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $K8S_DIR/kube-proxy.kubeconfig}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $CLUSTER_CIDR
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Leave the machine's conntrack table size alone.
conntrack: {maxPerCore: 0}
# NodePorts (the edge's LoadBalancer Service has one) on the node's address only, not on
# every address of this machine.
nodePortAddresses: ["$NODE_IP/32"]
EOF
  start kube-proxy "$BIN/kube-proxy" --config "$K8S_DIR/kube-proxy.yaml"

  cat >"$K8S_DIR/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
  bind $NODE_IP
  errors
  ready 127.0.0.1:8181
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $K8S_DIR/coredns.kubeconfig tracelab
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 30
}
.:53 {
  bind $NODE_IP
  errors
  forward . /etc/resolv.conf
  cache 30
}
EOF
  kubectl apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tracelab:coredns"}
rules:
  - apiGroups: [""]
    resources: [services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tracelab:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tracelab:coredns"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: "tracelab:coredns"}
EOF
  start coredns "$BIN/coredns" -conf "$K8S_DIR/Corefile"

  wait_until 120 "the node $NODE (Ready)" kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
  # ready answers 200 once the kubernetes plugin has read the cluster.
  wait_until 30 CoreDNS curl -fsS http://127.0.0.1:8181/ready
}

# storage: one PersistentVolume of type local on the node, without a class: what a claim
# without a class binds to on a cluster without a default StorageClass.
storage() {
  mkdir -p "$K8S_DIR/volumes/pv0"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: tracelab-local-pv0}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  local: {path: $K8S_DIR/volumes/pv0}
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/hostname, operator: In, values: [$NODE]}
EOF
}

# load IMAGE...: from the Docker engine into the node's containerd, where the kubelet finds
# them (the manifests pull IfNotPresent).
load() {
  local image
  for image in "$@"; do
    docker image inspect "$image" >/dev/null 2>&1 || die "the Docker engine has no image $image"
    docker save "$image" | ctr_ images import - >/dev/null
    say "loaded $image"
  done
}

up() {
  [[ $(id -u) == 0 ]] || die "run as root: the kubelet, containerd and CNI need it"
  needs
  BIN=$("$here/ensure-k8s.sh")
  if [[ -e $K8S_DIR ]] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    say "an earlier cluster was left ($K8S_DIR, $BRIDGE): taking it down first"
    down
  fi
  trap 'status=$?; ((status == 0)) || say "up failed; its logs are in $K8S_DIR/logs, and $0 down removes what it started"' EXIT
  mkdir -p "$K8S_DIR/logs" "$K8S_DIR/pids"
  certificates
  identities
  network
  control_plane
  runtime
  node
  storage
  say "up: export KUBECONFIG=$K8S_DIR/admin.kubeconfig"
  echo "$K8S_DIR/admin.kubeconfig"
}

# stop NAME: TERM, then KILL after 10 s.
stop() {
  local pidfile=$K8S_DIR/pids/$1 pid
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  [[ $(id -u) == 0 ]] || die "run as root"
  BIN=${BIN:-$("$here/ensure-k8s.sh")}
  [[ -d $K8S_DIR ]] || { ip link del "$BRIDGE" 2>/dev/null || true; firewall_clean; return 0; }
  # Pods first, while the kubelet still runs: it stops their containers and releases their
  # network (CNI DEL) itself.
  if [[ -f $K8S_DIR/pids/kubelet ]] && kubectl get --raw /readyz >/dev/null 2>&1; then
    kubectl delete pods --all --all-namespaces --wait=true --timeout=60s >/dev/null 2>&1 || true
  fi
  local c
  for c in coredns kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
    stop "$c"
  done
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # Whatever the kubelet left running: every task, then the shims and containerd.
  if [[ -S $K8S_DIR/containerd/containerd.sock ]]; then
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
    sleep 1
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$c" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  pkill -9 -f "containerd-shim.*-address $K8S_DIR/" 2>/dev/null || true
  # The pods' network namespaces containerd made (cni-<uuid>), then the bridge.
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  firewall_clean
  # Anything still mounted under the folder (volumes, root file systems, shm), deepest first.
  awk -v d="$K8S_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  # The cgroups containerd made for the pods (under k8s.io, its CRI namespace), now empty.
  local cg
  for cg in /sys/fs/cgroup/k8s.io /sys/fs/cgroup/*/k8s.io; do
    if [[ -d $cg ]]; then find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  rm -rf "$K8S_DIR"
  say "down: every process stopped, $K8S_DIR removed"
}

# firewall_clean: the FORWARD rules of network(), and every chain the cluster made that
# kube-proxy --cleanup leaves: the kubelet's KUBE-KUBELET-CANARY, and what the CNI plugins
# (bridge's ipMasq, portmap) leave when a pod's teardown was cut short. This machine runs
# no other Kubernetes (up would fail on its ports), so KUBE-* and CNI-* are all ours.
firewall_clean() {
  while iptables -D FORWARD -i "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT 2>/dev/null; do :; done
  while iptables -D FORWARD -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT 2>/dev/null; do :; done
  local cmd table chains chain rule
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle; do
      chains=$("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}') || continue
      [[ -n $chains ]] || continue
      # The jumps into them first, from any chain, then the chains themselves.
      "$cmd" -t "$table" -S | awk '$1 == "-A" && / -j (KUBE|CNI)-/ {sub("^-A", "-D"); print}' |
        while read -r rule; do eval "$cmd -t $table $rule" 2>/dev/null || true; done
      for chain in $chains; do "$cmd" -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in $chains; do "$cmd" -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  load) shift; load "$@" ;;
  *) die "usage: $0 up | down | load IMAGE..." ;;
esac
