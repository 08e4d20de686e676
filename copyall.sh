#!/usr/bin/env bash
# copyall.sh builds every tracelab service as a static Linux binary, and, where Docker runs,
# their images, and on request deploys them. It does the job of the goblog series' copyall.sh
# (build each service for Linux, copy it into an image, start the stack), except that the
# images compile their binaries themselves (Dockerfile), so an image never holds whatever
# binary happened to lie on the disk.
#
# Run ./copyall.sh -h for the options.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: ./copyall.sh [-d | --deploy] [-s | --swarm] [-t TAG] [-h]

Builds every service as a static linux/amd64 binary into dist/. Then, when a Docker engine
answers, builds the images localhost/tracelab/<service>:TAG. Without Docker it says so and stops
after the binaries, successfully.

  -d, --deploy   then start the stack with `docker compose up -d` (COMPOSE_PROFILES=zipkin,elk
                 or =all adds Zipkin and the ELK stack, as with --profile)
  -s, --swarm    then deploy deploy/swarm/tracelab-stack.yml with `docker stack deploy`
                 (needs a swarm: docker swarm init)
  -t TAG         the images' tag (default: $TAG, else the git commit, else dev)
  -h, --help     this help

Examples:
  ./copyall.sh                     binaries in dist/, and images if Docker runs
  ./copyall.sh --deploy            ... and docker compose up -d
  COMPOSE_PROFILES=all ./copyall.sh -d
EOF
}

# The services, in the order the landscape starts them, from the one list of them. A
# directory with a main.go among these names is built; the names are the Dockerfile's
# targets and the images' names.
mapfile -t SERVICES < <(awk '/^[a-z]/ { print $1 }' "$(dirname "${BASH_SOURCE[0]}")/internal/landscape/services.txt")

die() { printf 'copyall: %s\n' "$*" >&2; exit 1; }
say() { printf 'copyall: %s\n' "$*"; }
[[ ${#SERVICES[@]} -gt 0 ]] || die "no services in internal/landscape/services.txt"

deploy=""
tag=${TAG:-}
while [[ $# -gt 0 ]]; do
  case $1 in
    -d|--deploy) deploy=compose ;;
    -s|--swarm) deploy=swarm ;;
    -t|--tag) [[ $# -ge 2 ]] || die "$1 needs a value"; tag=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

# Everything is relative to the repository, wherever the script is called from.
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v go >/dev/null 2>&1 || die "go is not on the PATH (tracelab needs Go $(sed -n 's/^go //p' go.mod))"

if [[ -z $tag ]]; then
  tag=$(git rev-parse --short HEAD 2>/dev/null || true)
  tag=${tag:-dev}
fi
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "-t $tag: not a valid image tag"

services=()
for s in "${SERVICES[@]}"; do
  if [[ -f $s/main.go ]]; then
    services+=("$s")
  else
    say "skipping $s: no $s/main.go"
  fi
done
[[ ${#services[@]} -gt 0 ]] || die "no service to build: none of ${SERVICES[*]} has a main.go"

# Static (CGO_ENABLED=0: no libc needed where they run), for linux/amd64 whatever this
# machine is, without this machine's paths (-trimpath) or symbol tables (-s -w). One `go
# build` per binary, since -o names a file; the shared packages compile once, from the cache.
mkdir -p dist
for s in "${services[@]}"; do
  say "building dist/$s"
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags="-s -w" -o "dist/$s" "./$s"
done
say "built ${#services[@]} static linux/amd64 binaries in dist/"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  msg="no Docker engine answers (docker info failed): skipping the images"
  if [[ -n $deploy ]]; then
    die "$msg, and so the --deploy or --swarm asked for"
  fi
  say "$msg; the binaries are in dist/"
  exit 0
fi

for s in "${services[@]}"; do
  say "building image localhost/tracelab/$s:$tag"
  docker build --target "$s" -t "localhost/tracelab/$s:$tag" .
done

case $deploy in
  compose)
    docker compose version >/dev/null 2>&1 || die "the docker compose plugin is missing (docker compose version failed)"
    say "starting the stack: TAG=$tag docker compose up -d"
    TAG=$tag docker compose up -d
    say "edge: https://localhost:8765 (curl -k), Jaeger UI: http://localhost:16686"
    ;;
  swarm)
    say "deploying the stack tracelab: TAG=$tag docker stack deploy"
    TAG=$tag docker stack deploy --compose-file deploy/swarm/tracelab-stack.yml tracelab
    say "edge: https://localhost:8765 (curl -k), Jaeger UI: http://localhost:16686"
    ;;
esac
