#!/usr/bin/env bash
# bench-reference.sh loads ../shared/reference-chain (or the chain given as $REFERENCE) with
# the same bin/loadgen, the same flags and the same ids that `make bench` uses on tracelab,
# bare and traced, so the two can be set side by side from one run on one machine.
#
#   scripts/bench-reference.sh [-d 10s] [-c 32] [-warmup 3s] [-modes bare,traced]
#
# It prints one JSON line per mode: {"reference": "bare", "load": <loadgen -json>,
# "peak_rss_kib": {...}}. Nothing of the reference chain is copied into this repository: it
# is built into $WORK (default /tmp/reference-chain-bench) and run from there.
set -euo pipefail

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }

dur=10s conc=32 warmup=3s modes=bare,traced
while [[ $# -gt 0 ]]; do
  case $1 in
    -d) dur=$2; shift 2 ;;
    -c) conc=$2; shift 2 ;;
    -warmup) warmup=$2; shift 2 ;;
    -modes) modes=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
ref=${REFERENCE:-$root/../shared/reference-chain}
[[ -f $ref/go.mod ]] || { echo "no reference chain at $ref (set REFERENCE)" >&2; exit 1; }
work=${WORK:-/tmp/reference-chain-bench}
mkdir -p "$work/bin" "$work/run"
(cd "$ref" && for s in edge account quote image; do go build -o "$work/bin/$s" "./cmd/$s"; done)
(cd "$root" && go build -o bin/ ./cmd/loadgen)

pids=()
jaeger_pid=
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  if [[ -n $jaeger_pid ]]; then kill -TERM "$jaeger_pid" 2>/dev/null || true; wait "$jaeger_pid" 2>/dev/null || true; jaeger_pid=; fi
}
trap stop_all EXIT

wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 did not open" >&2; return 1
}

peak_rss() { # name=pid ... -> {"name": kib, ...}
  local out="" sep=""
  for kv in "$@"; do
    local kib
    kib=$(awk '/^VmHWM:/ {print $2}' "/proc/${kv#*=}/status" 2>/dev/null || echo 0)
    out+="$sep\"${kv%%=*}\": ${kib:-0}"; sep=", "
  done
  echo "{$out}"
}

for mode in ${modes//,/ }; do
  trace=0
  if [[ $mode == traced ]]; then
    trace=1
    if ! (exec 3<>/dev/tcp/127.0.0.1/14268) 2>/dev/null; then
      jaeger=$("$root/scripts/ensure-jaeger.sh")
      (cd "$work/run" && exec "$jaeger" --set=service.telemetry.logs.level=warn) >"$work/jaeger.log" 2>&1 &
      jaeger_pid=$!
      wait_port 14268; wait_port 16686
    fi
  fi
  rm -f "$work/run/accounts.db"
  names=()
  for s in image quote account edge; do
    (cd "$work" && TRACE=$trace JAEGER_QUEUE=10000 DB_PATH=run/accounts.db exec "./bin/$s") \
      >"$work/$s.$mode.out" 2>&1 &
    pids+=($!); names+=("$s=$!")
  done
  wait_port 7777; wait_port 8080; wait_port 6767; wait_port 8765
  load=$("$root/bin/loadgen" -json -quiet -url 'https://localhost:8765/api/accounts/{id}' \
         -ids 10000-10099 -c "$conc" -d "$dur" -warmup "$warmup")
  rss=$(peak_rss "${names[@]}")
  echo "{\"reference\": \"$mode\", \"load\": $(tr -d '\n' <<<"$load"), \"peak_rss_kib\": $rss}"
  stop_all
done
