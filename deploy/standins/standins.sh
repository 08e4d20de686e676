#!/usr/bin/env bash
# standins.sh makes sure the infrastructure images that tracelab pins are in the local
# Docker engine, so that `docker compose up` and `docker stack deploy` find them: the image
# itself where it is there or can be pulled (a laptop with Docker: nothing is built), else a
# stand-in built here and tagged with the very same name. `make test-docker` runs it after
# scripts/ensure-docker.sh. Progress goes to stderr.
#
# Why stand-ins: on a machine that reaches Debian's mirror and the Go module proxy but no
# container registry (our CI machines), no image can be pulled, yet images can be built
# FROM scratch, and a Debian root file system can be made with debootstrap and given
# packages with chroot + apt. A stand-in is worth something only if it honours the
# contract of the image it stands in for, as that image's own Dockerfile and entrypoint
# define it: each one below says which behaviour of the original it reproduces, and how.
# Every stand-in carries the label tracelab.standin=<the image it stands in for>:
#
#   docker image inspect -f '{{index .Config.Labels "tracelab.standin"}}' rabbitmq:4.1.4-management
#
# golang:<v>-alpine       (tracelab's Dockerfile builds FROM it)
#   scratch + busybox (Alpine's /bin/sh and commands are busybox's) + this machine's Go at
#   /usr/local/go, which must be the release the tag names; root with HOME=/root, GOPATH=/go,
#   GOTOOLCHAIN=local, PATH and WORKDIR as in docker-library/golang; Debian's CA bundle at
#   /etc/ssl/certs/ca-certificates.crt (Alpine's is the same Mozilla list). Added: the
#   module's dependencies as a file:// GOPROXY (/goproxy), so the build needs no network.
# rabbitmq:<v>-management (docker-compose.yml, the Swarm stack, deploy/k8s)
#   Debian's rabbitmq-server (3.10) in a debootstrap root file system, with what the
#   official image (docker-library/rabbitmq) adds: guest may log in from other containers
#   (loopback_users.guest = false) and logs go to the console (its 10-defaults.conf); the
#   management plugin (15672) is enabled; the rabbitmq user and group are 999 (Debian's
#   package picks other ids) and own the data, configuration and log directories, which
#   any --user may write, so that Kubernetes may run it as 999:999 with no step down; its
#   entrypoint's step down from root to that user (gosu) after giving it the data
#   directory; HOME, hence the Erlang cookie, in /var/lib/rabbitmq, a volume; RabbitMQ's
#   own scripts on the PATH instead of Debian's wrappers, which would log to files.
#   RABBITMQ_DEFAULT_USER/PASS need nothing: RabbitMQ itself (3.9.4 and later) creates
#   that user when it creates its database, on the first start of an empty volume, as the
#   official image does; later changes are ignored.
# jaegertracing/jaeger:<v> (docker-compose.yml, the Swarm stack)
#   scratch + busybox (the official image is Alpine-based: sh and wget, which the compose
#   healthcheck calls, are busybox's) + CA certificates + the jaeger binary that
#   scripts/ensure-jaeger.sh builds from the Go module of the same release, at
#   /cmd/jaeger/jaeger-linux, with sampling-strategies.json; from jaeger's
#   cmd/jaeger/Dockerfile: JAEGER_LISTEN_HOST=0.0.0.0 (without it the all-in-one
#   configuration listens on localhost and refuses every span from another container),
#   its ports, VOLUME /tmp, user 10001; health on 13133 (GET /status). No UI assets.
# nginx:<v>-alpine         (the Zipkin and GELF relays of docker-compose.yml)
#   Debian's nginx (1.22) with its stream module and busybox's wget, in a debootstrap root
#   file system; the official image's (nginxinc/docker-nginx) entrypoint, CMD
#   `nginx -g 'daemon off;'`, STOPSIGNAL SIGQUIT, logs to stdout/stderr. The official nginx
#   has the stream module compiled in; Debian's loads it, so the stand-in's entrypoint
#   loads it ahead of the mounted configuration.
# openzipkin/zipkin:<v>    (the Swarm stack)
#   No Zipkin can be built here. Where it cannot be pulled, a FAKE is built instead,
#   localhost/tracelab/fake-zipkin:<v> (never Zipkin's name), nginx answering the span
#   endpoints with 202 and /health with 200, for the Swarm test alone.
#
# The root file systems and the stand-ins' other inputs are cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/tracelab/standins; an image is rebuilt only when what it is
# made of changes (its label tracelab.standin.hash). Building needs root (debootstrap, chroot).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracelab/standins
SUITE=bookworm

say() { printf 'standins: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------- the pinned images

# compose_image REPO: the image of that repository that docker-compose.yml pins.
compose_image() {
  local image
  image=$(sed -n "s|^ *image: \"\\($1:[^\"]*\\)\".*|\\1|p" "$repo/docker-compose.yml" | head -n 1)
  [[ -n $image ]] || die "docker-compose.yml pins no $1 image"
  printf '%s\n' "$image"
}

GO_VERSION=$(sed -n 's/^ARG GO_VERSION=//p' "$repo/Dockerfile")
# shellcheck disable=SC2016 # the Dockerfile's own ${GO_VERSION}, literally
grep -q '^FROM golang:${GO_VERSION}-alpine ' "$repo/Dockerfile" ||
  die "the Dockerfile no longer builds FROM golang:\${GO_VERSION}-alpine: update this script"
GOLANG_IMAGE=golang:$GO_VERSION-alpine
RABBITMQ_IMAGE=$(compose_image rabbitmq)
JAEGER_IMAGE=$(compose_image jaegertracing/jaeger)
NGINX_IMAGE=$(compose_image nginx)
ZIPKIN_IMAGE=$(compose_image openzipkin/zipkin)
FAKE_ZIPKIN_IMAGE=localhost/tracelab/fake-zipkin:${ZIPKIN_IMAGE##*:}

# Jaeger v2 releases are tagged twice: the image by the v2 version, the Go module (which
# scripts/ensure-jaeger.sh builds) by the v1 line.
case $JAEGER_IMAGE in
  jaegertracing/jaeger:2.13.0) JAEGER_MODULE_VERSION=v1.76.0 ;;
  *) die "$JAEGER_IMAGE: which github.com/jaegertracing/jaeger module version is that release? add it here" ;;
esac

# The Swarm stack must pin the same images, or the stand-ins would not be the ones it runs.
while read -r image; do
  case $image in
    localhost/tracelab/*|"$RABBITMQ_IMAGE"|"$JAEGER_IMAGE"|"$ZIPKIN_IMAGE") ;;
    *) die "deploy/swarm/tracelab-stack.yml pins $image, which docker-compose.yml does not: make them agree" ;;
  esac
done < <(sed -n 's|^ *image: "\([^"]*\)".*|\1|p' "$repo/deploy/swarm/tracelab-stack.yml")

# ---------------------------------------------------------------- helpers

# Every temporary directory lives under one, removed when the script ends (the module
# cache that the golang stand-in fills is read-only: chmod first).
work=$(mktemp -d "${TMPDIR:-/tmp}/standins.XXXXXX")
cleanup() {
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# scratch_dir: a new empty directory under $work.
scratch_dir() { mktemp -d "$work/dir.XXXXXX"; }

need_root() {
  [[ $(id -u) == 0 ]] || die "building the stand-in for $1 needs root (debootstrap and chroot); run this as root, or pull $1"
}

# standin_label IMAGE: the image's tracelab.standin.hash, empty for an image that is not a
# stand-in; fails when there is no such image.
standin_label() {
  local v
  v=$(docker image inspect --format '{{index .Config.Labels "tracelab.standin.hash"}}' "$1" 2>/dev/null) || return 1
  [[ $v == "<no value>" ]] && v=""
  printf '%s\n' "$v"
}

# standin_hash KIND: what the stand-in of that kind is made of, as one hash: this script,
# its directory here, and what inputs_KIND prints (versions, go.sum, ...), if defined.
standin_hash() {
  local kind=$1
  {
    cat "${BASH_SOURCE[0]}"
    (cd "$here/$kind" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    printf '%s\n' "$SUITE"
    if declare -F "inputs_$kind" >/dev/null; then "inputs_$kind"; fi
  } | sha256sum | cut -c1-16
}

# ensure IMAGE KIND: IMAGE is there (the real one, or an up-to-date stand-in), else it is
# pulled, else its stand-in is built by build_KIND.
ensure() {
  local image=$1 kind=$2 hash have
  if have=$(standin_label "$image") && [[ -z $have ]]; then
    say "$image: the image itself"
    return
  fi
  if docker pull -q "$image" >/dev/null 2>&1; then
    say "$image: pulled"
    return
  fi
  hash=$(standin_hash "$kind")
  if [[ ${have:-} == "$hash" ]]; then
    say "$image: cannot be pulled; stand-in up to date"
    return
  fi
  say "$image: cannot be pulled; building its stand-in (deploy/standins/$kind)"
  "build_$kind" "$image" "$hash"
  say "$image: stand-in built"
}

# build_image KIND IMAGE HASH CONTEXT [--build-arg K=V ...]: docker build of
# deploy/standins/KIND's Dockerfile, with CONTEXT (which holds rootfs.tar) and the files
# of deploy/standins/KIND as the build context.
build_image() {
  local kind=$1 image=$2 hash=$3 ctx=$4
  shift 4
  cp -r "$here/$kind/." "$ctx/"
  docker build -t "$image" --build-arg "STANDIN_FOR=$image" --build-arg "STANDIN_HASH=$hash" "$@" "$ctx" >&2
}

# rootfs KIND HASH CONTEXT: CONTEXT/rootfs.tar, the root file system that rootfs_KIND makes,
# taken from the cache when this version of it was made before, else made and cached.
# Owners are kept as numbers: the users of the root file system are not this machine's.
rootfs() {
  local kind=$1 hash=$2 ctx=$3 tarball=$cache/$1-rootfs-$2.tar dir
  if [[ ! -f $tarball ]]; then
    dir=$(scratch_dir)
    "rootfs_$kind" "$dir"
    rm -f "$cache/$kind-rootfs-"*.tar # an older version's
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
  fi
  ln "$tarball" "$ctx/rootfs.tar" 2>/dev/null || cp "$tarball" "$ctx/rootfs.tar"
}

# debian_mirror: the Debian mirror this machine's apt uses, else deb.debian.org.
debian_mirror() {
  local m
  m=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
       sed -n 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' | head -n 1)
  [[ -n $m ]] || m=$( { cat /etc/apt/sources.list 2>/dev/null || true; } |
       sed -n 's|^deb  *\(http[^ ]*/debian\)/* .*|\1|p' | head -n 1)
  printf '%s\n' "${DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

# base_rootfs: the path of a tarball of Debian $SUITE, minbase variant, made once with
# debootstrap (about 30 s) and cached.
base_rootfs() {
  local tarball=$cache/debian-$SUITE-minbase.tar dir mirror
  if [[ ! -f $tarball ]]; then
    if ! command -v debootstrap >/dev/null 2>&1; then
      command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and there is no apt-get to install it"
      say "installing debootstrap with apt"
      apt-get update >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
    fi
    mirror=$(debian_mirror)
    dir=$(scratch_dir)
    say "debootstrap --variant=minbase $SUITE from $mirror (once; cached in $tarball)"
    debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >&2
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
  fi
  printf '%s\n' "$tarball"
}

# debian_rootfs DIR PACKAGE...: DIR becomes the base root file system with PACKAGEs
# installed by apt in a chroot, no service started, no apt lists left behind.
debian_rootfs() {
  local dir=$1 base
  shift
  base=$(base_rootfs)
  tar -C "$dir" -xf "$base"
  cp /etc/resolv.conf "$dir/etc/resolv.conf" # apt in the chroot resolves the mirror
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" # packages start no service
  chmod +x "$dir/usr/sbin/policy-rc.d"
  chroot "$dir" apt-get update -q >&2
  chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir/usr/sbin/policy-rc.d"
  : >"$dir/etc/resolv.conf" # Docker writes each container's own
}

# busybox_rootfs DIR: DIR becomes a tiny Alpine-like root: busybox (static, from Debian's
# busybox-static) as /bin/sh and every command it has, root and nobody, /tmp, and Debian's
# CA bundle. Both come from a chroot made once and cached.
busybox_rootfs() {
  local dir=$1 tools=$cache/busybox-$SUITE
  if [[ ! -x $tools/busybox ]]; then
    local chroot_dir
    chroot_dir=$(scratch_dir)
    debian_rootfs "$chroot_dir" busybox-static ca-certificates
    mkdir -p "$tools.tmp"
    cp "$chroot_dir/bin/busybox" "$chroot_dir/etc/ssl/certs/ca-certificates.crt" "$tools.tmp/"
    rm -rf "$tools"
    mv "$tools.tmp" "$tools"
  fi
  mkdir -p "$dir/bin" "$dir/etc/ssl/certs" "$dir/tmp" "$dir/root"
  cp "$tools/busybox" "$dir/bin/busybox"
  local applet
  for applet in $("$tools/busybox" --list); do
    [[ -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
  done
  cp "$tools/ca-certificates.crt" "$dir/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
  chmod 1777 "$dir/tmp"
  chmod 700 "$dir/root"
}

# ---------------------------------------------------------------- the stand-ins

# What each stand-in is made of besides its directory, for standin_hash.
inputs_golang() { go env GOVERSION; cat "$repo/go.mod" "$repo/go.sum"; }
inputs_jaeger() {
  local bin
  echo "$JAEGER_MODULE_VERSION"
  bin=$(JAEGER_VERSION=$JAEGER_MODULE_VERSION "$repo/scripts/ensure-jaeger.sh")
  stat -c '%n %s %Y' "$bin"
}
inputs_fake-zipkin() { docker image inspect --format '{{.Id}}' "$NGINX_IMAGE"; }

# build_standin KIND IMAGE HASH [--build-arg K=V ...]: the stand-in image, from its root
# file system (rootfs_KIND, when there is one) and deploy/standins/KIND.
build_standin() {
  local kind=$1 image=$2 hash=$3 ctx
  shift 3
  ctx=$(scratch_dir)
  if declare -F "rootfs_$kind" >/dev/null; then
    rootfs "$kind" "$hash" "$ctx"
  fi
  build_image "$kind" "$image" "$hash" "$ctx" "$@"
}

build_golang() { build_standin golang "$1" "$2" --build-arg "GOLANG_VERSION=$GO_VERSION"; }
build_rabbitmq() { need_root "$1"; build_standin rabbitmq "$1" "$2"; }
build_nginx() { need_root "$1"; build_standin nginx "$1" "$2"; }
build_jaeger() { need_root "$1"; build_standin jaeger "$1" "$2"; }
build_fake-zipkin() { build_standin fake-zipkin "$1" "$2" --build-arg "NGINX_IMAGE=$NGINX_IMAGE"; }

rootfs_golang() {
  local dir=$1 version goroot mc proxy
  version=$(go env GOVERSION)
  [[ $version == "go$GO_VERSION" ]] ||
    die "the golang stand-in copies this machine's Go, which is $version; $GOLANG_IMAGE needs go$GO_VERSION"
  need_root "$GOLANG_IMAGE" # busybox comes from a Debian chroot
  busybox_rootfs "$dir"
  goroot=$(go env GOROOT)
  mkdir -p "$dir/usr/local/go"
  cp -a "$goroot/." "$dir/usr/local/go/"
  mkdir -p "$dir/go/src" "$dir/go/bin"
  chmod -R 1777 "$dir/go"

  # The module proxy on disk: what `go mod download`, `go mod verify` and a build of the
  # services fetch into an empty module cache is what the image's build will ask for. It
  # is filled from this machine's module cache where it can be, else from its GOPROXY.
  mc=$(scratch_dir)
  proxy="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
  say "collecting the modules of go.mod into the golang stand-in's GOPROXY"
  (
    cd "$repo"
    export GOMODCACHE=$mc GOFLAGS='' GOTOOLCHAIN=local GOPROXY=$proxy
    go mod download
    go mod verify >/dev/null
    go list -deps ./accountservice ./quoteservice ./imageservice ./vipservice ./edge ./cmd/healthcheck >/dev/null
  ) >&2
  mkdir -p "$dir/goproxy"
  cp -a "$mc/cache/download/." "$dir/goproxy/"
  rm -rf "$dir/goproxy/sumdb"
}

rootfs_rabbitmq() {
  local dir=$1 uid gid
  debian_rootfs "$dir" rabbitmq-server gosu
  # The official image's rabbitmq user and group are 999, and whatever runs it as 999:999
  # with no step down counts on that (deploy/k8s: runAsUser 999, fsGroup 999). Debian's
  # package took the next free system ids (101 and 103 in bookworm): renumber both, and
  # the files the package gave them (the data, configuration and log directories).
  uid=$(chroot "$dir" id -u rabbitmq)
  gid=$(chroot "$dir" id -g rabbitmq)
  chroot "$dir" groupmod --gid 999 rabbitmq
  chroot "$dir" usermod --uid 999 --gid 999 rabbitmq
  chroot "$dir" find / -xdev -uid "$uid" -exec chown -h rabbitmq '{}' +
  chroot "$dir" find / -xdev -gid "$gid" -exec chgrp -h rabbitmq '{}' +
  # The official management image's plugins: management (the UI on 15672) and prometheus.
  printf '[rabbitmq_management,rabbitmq_prometheus].\n' >"$dir/etc/rabbitmq/enabled_plugins"
  mkdir -p "$dir/etc/rabbitmq/conf.d"
  cp "$here/rabbitmq/10-defaults.conf" "$dir/etc/rabbitmq/conf.d/"
  # Debian's rabbitmq-env.conf is comments only; the official image has none.
  rm -f "$dir/etc/rabbitmq/rabbitmq-env.conf"
  # The package's install made a cookie: every container makes its own, on its volume.
  rm -f "$dir/var/lib/rabbitmq/.erlang.cookie"
  # As there: the rabbitmq user owns the data, configuration and log directories, any
  # --user may write them (the node writes its upgrade log to /var/log/rabbitmq even when
  # it logs to the console), and root finds the node's cookie.
  chroot "$dir" chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /etc/rabbitmq /var/log/rabbitmq
  chmod 1777 "$dir/var/lib/rabbitmq" "$dir/etc/rabbitmq" "$dir/etc/rabbitmq/conf.d" "$dir/var/log/rabbitmq"
  ln -sf /var/lib/rabbitmq/.erlang.cookie "$dir/root/.erlang.cookie"
}

rootfs_nginx() {
  local dir=$1
  debian_rootfs "$dir" nginx libnginx-mod-stream busybox-static
  rm -f "$dir/etc/nginx/sites-enabled/default"
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
  ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
  ln -s /bin/busybox "$dir/usr/local/bin/wget"
  mkdir -p "$dir/docker-entrypoint.d"
}

rootfs_jaeger() {
  local dir=$1 bin moddir
  bin=$(JAEGER_VERSION=$JAEGER_MODULE_VERSION "$repo/scripts/ensure-jaeger.sh")
  moddir=$(cd "$repo" && GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION" |
           sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -f $moddir/cmd/jaeger/sampling-strategies.json ]] || die "no sampling-strategies.json in the jaeger module ($moddir)"
  busybox_rootfs "$dir"
  mkdir -p "$dir/cmd/jaeger"
  cp "$bin" "$dir/cmd/jaeger/jaeger-linux"
  cp "$moddir/cmd/jaeger/sampling-strategies.json" "$dir/cmd/jaeger/"
  chmod 755 "$dir/cmd/jaeger/jaeger-linux"
  chmod 644 "$dir/cmd/jaeger/sampling-strategies.json"
}

# ---------------------------------------------------------------- main

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed): scripts/ensure-docker.sh starts one"
mkdir -p "$cache"
# One run at a time: two would build the same root file systems into the same cache.
exec 9>"$cache/.lock"
flock 9

ensure "$GOLANG_IMAGE" golang
ensure "$RABBITMQ_IMAGE" rabbitmq
ensure "$NGINX_IMAGE" nginx
ensure "$JAEGER_IMAGE" jaeger

# Zipkin: the image itself when it can be had; the fake only when it cannot.
if standin_label "$ZIPKIN_IMAGE" >/dev/null || docker pull -q "$ZIPKIN_IMAGE" >/dev/null 2>&1; then
  say "$ZIPKIN_IMAGE: the image itself"
else
  say "$ZIPKIN_IMAGE: cannot be pulled, and no Zipkin can be built here; the Swarm test uses $FAKE_ZIPKIN_IMAGE"
  ensure "$FAKE_ZIPKIN_IMAGE" fake-zipkin
fi
