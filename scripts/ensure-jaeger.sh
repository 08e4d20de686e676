#!/usr/bin/env bash
# ensure-jaeger.sh prints the path of a Jaeger v2 binary, building it once if needed.
#
# Order: $JAEGER_BIN if set, `jaeger` on PATH, the cached build, else build the pinned
# version from the Go module proxy (about 10 minutes on 2 cores the first time) and cache
# it under ${XDG_CACHE_HOME:-$HOME/.cache}/tracelab. Progress goes to stderr; only the path
# goes to stdout, so callers can do JAEGER=$(scripts/ensure-jaeger.sh).
set -euo pipefail

JAEGER_VERSION=${JAEGER_VERSION:-v1.76.0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracelab/jaeger-$JAEGER_VERSION
bin=$cache/jaeger

if [[ -n ${JAEGER_BIN:-} ]]; then
  [[ -x $JAEGER_BIN ]] || { echo "JAEGER_BIN=$JAEGER_BIN is not an executable" >&2; exit 1; }
  echo "$JAEGER_BIN"; exit 0
fi
if command -v jaeger >/dev/null 2>&1; then command -v jaeger; exit 0; fi
if [[ -x $bin ]]; then echo "$bin"; exit 0; fi

echo "ensure-jaeger: building Jaeger $JAEGER_VERSION from the Go module proxy;" \
     "the first time this takes about 10 minutes, later runs use $bin" >&2
mkdir -p "$cache"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n $dir && -d $dir ]] || { echo "ensure-jaeger: could not download jaeger $JAEGER_VERSION" >&2; exit 1; }
src=$(mktemp -d "${TMPDIR:-/tmp}/jaeger-src.XXXXXX")
trap 'chmod -R u+w "$src" 2>/dev/null; rm -rf "$src"' EXIT
cp -r "$dir/." "$src/"
chmod -R u+w "$src"
(cd "$src" && GOFLAGS= CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" ./cmd/jaeger) >&2
mv "$bin.tmp" "$bin"
echo "ensure-jaeger: built $bin" >&2
echo "$bin"
