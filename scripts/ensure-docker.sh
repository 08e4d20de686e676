#!/usr/bin/env bash
# ensure-docker.sh makes sure a Docker engine answers and the Compose v2 and buildx CLI
# plugins exist, the way scripts/ensure-jaeger.sh makes sure Jaeger does: what is there is
# used; what is missing is installed or built once and cached. `make test-docker` runs it
# first. Progress goes to stderr.
#
#   - The engine: `docker info` answers, else, as root on a machine with apt and no engine,
#     Debian's docker.io package (Docker Engine 20.10, containerd, runc) is installed, and a
#     dockerd that is installed but not running is started (with systemctl where systemd
#     runs, else in the background, its log in $DOCKERD_LOG). Anywhere else it stops with
#     what to do, never half-installs.
#   - The plugins: `docker compose` and `docker buildx` as they are (Docker Desktop has
#     both), else the pinned versions below, built from the Go module proxy with
#     `go install` (a few minutes each the first time), cached under
#     ${XDG_CACHE_HOME:-$HOME/.cache}/tracelab and copied into ~/.docker/cli-plugins, where
#     the docker CLI looks for plugins.
set -euo pipefail

COMPOSE_VERSION=${COMPOSE_VERSION:-v2.32.4}
BUILDX_VERSION=${BUILDX_VERSION:-v0.19.3}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/tracelab-dockerd.log}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracelab
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

# wait_for_engine SECONDS: until `docker info` answers.
wait_for_engine() {
  for _ in $(seq "$1"); do
    engine_answers && return 0
    sleep 1
  done
  return 1
}

ensure_engine() {
  if engine_answers; then
    return
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
      die "no Docker engine answers and dockerd is not installed; install Docker (https://docs.docker.com/engine/install/) or, as root on Debian/Ubuntu, run this again"
    fi
    say "installing Debian's docker.io (Docker Engine, containerd, runc) with apt"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >&2
    engine_answers && return # the package may have started it
  fi
  if [[ $(id -u) != 0 ]]; then
    die "dockerd is installed but no engine answers (docker info failed): start it (sudo systemctl start docker), or add yourself to the docker group"
  fi
  if [[ -d /run/systemd/system ]]; then
    say "starting dockerd: systemctl start docker"
    systemctl start docker >&2
  else
    # No init system to hand it to: a daemon of its own session, so it outlives this
    # script and the make that ran it.
    say "starting dockerd in the background; its log: $DOCKERD_LOG"
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  wait_for_engine 60 || die "dockerd did not answer within 60s; see $DOCKERD_LOG (or journalctl -u docker)"
}

# ensure_plugin NAME PACKAGE VERSION VERSION_VAR: the CLI plugin docker-NAME, built from the
# Go package PACKAGE@VERSION unless `docker NAME version` already works. VERSION_VAR is the
# variable the plugin's release builds set with -X, so that `docker NAME version` names the
# release instead of "dev".
ensure_plugin() {
  local name=$1 pkg=$2 version=$3 version_var=$4
  if docker "$name" version >/dev/null 2>&1; then
    return
  fi
  local dir=$cache/docker-$name-$version
  if [[ ! -x $dir/docker-$name ]]; then
    command -v go >/dev/null 2>&1 || die "docker $name is missing, and go, which would build it, is not on the PATH"
    say "building docker-$name $version from the Go module proxy (once; later runs use $dir)"
    mkdir -p "$dir"
    local gobin
    gobin=$(mktemp -d "${TMPDIR:-/tmp}/docker-$name.XXXXXX")
    # GOFLAGS= : a developer's -mod=vendor or the like must not reach another module's build.
    GOBIN=$gobin GOFLAGS='' CGO_ENABLED=0 go install -ldflags "-X $version_var=$version" "$pkg@$version" >&2
    mv "$gobin"/* "$dir/docker-$name"
    rmdir "$gobin"
  fi
  mkdir -p "$plugins"
  cp "$dir/docker-$name" "$plugins/docker-$name"
  docker "$name" version >/dev/null 2>&1 || die "docker $name still fails after installing $plugins/docker-$name"
  say "installed $plugins/docker-$name ($version)"
}

ensure_engine
ensure_plugin compose github.com/docker/compose/v2/cmd "$COMPOSE_VERSION" github.com/docker/compose/v2/internal.Version
ensure_plugin buildx github.com/docker/buildx/cmd/buildx "$BUILDX_VERSION" github.com/docker/buildx/version.Version
say "engine $(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short), buildx $(docker buildx version | awk '{print $2}')"
