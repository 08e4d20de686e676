#!/usr/bin/env bash
# load.sh puts a little load on the edge with nothing but bash and curl: a fixed number of
# account reads, a few at a time, then how they went. Enough to fill Jaeger with traces or
# to check that the landscape holds up; for percentiles, an open model and the trace ids of
# the slowest requests, use cmd/loadgen (make loadgen).
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/load.sh [-n requests] [-c concurrency] [-u base URL] [-k]

Sends -n GET requests to <base URL>/api/accounts/<id>, with the ids spread over the seeded
accounts 10000..10099, -c at a time, then prints how many answered with which status, how
long it took and the requests per second. Exits 1 when any request got no answer.

  -n N     number of requests (default 200)
  -c N     requests in flight at once (default 8)
  -u URL   base URL of the edge (default https://localhost:8765)
  -k       accept a self-signed certificate, as the local edge has (make load passes it)
  -h       this help

  scripts/load.sh -k -n 500 -c 16        or: make load N=500 C=16
EOF
}

die() {
	echo "load.sh: $*" >&2
	exit 2
}

n=200
c=8
base=https://localhost:8765
tls=()
while getopts ':n:c:u:kh' opt; do
	case $opt in
	n) n=$OPTARG ;;
	c) c=$OPTARG ;;
	u) base=${OPTARG%/} ;;
	k) tls=(--insecure) ;;
	h)
		usage
		exit 0
		;;
	:) die "-$OPTARG needs a value (load.sh -h)" ;;
	*) die "unknown option -$OPTARG (load.sh -h)" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || die "unexpected arguments: $* (load.sh -h)"
[[ $n =~ ^[1-9][0-9]*$ ]] || die "-n $n: want a positive number of requests"
[[ $c =~ ^[1-9][0-9]*$ ]] || die "-c $c: want a positive number"
[[ $base =~ ^https?://[^/]+ ]] || die "-u $base: want a URL such as https://localhost:8765"
command -v curl >/dev/null || die "needs curl"
((c <= n)) || c=$n

# now_us is the time in microseconds. EPOCHREALTIME (bash 5) has a locale's decimal
# separator; an older bash gets whole seconds.
now_us() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		echo "${EPOCHREALTIME/[.,]/}"
	else
		echo "$(($(date +%s) * 1000000))"
	fi
}

work=$(mktemp -d)
pids=()
cleanup() {
	if ((${#pids[@]} > 0)); then
		kill "${pids[@]}" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# Background jobs of a script ignore Ctrl-C: stop them here, or they would run on.
trap 'echo "load.sh: interrupted" >&2; exit 130' INT TERM

# Worker k sends requests k, k+c, k+2c, ... from one curl process, which keeps its
# connection open from one URL to the next, as a browser does. The URLs go into a curl
# config file rather than onto the command line, which would overflow for a large -n.
for ((k = 0; k < c; k++)); do
	for ((i = k; i < n; i += c)); do
		printf 'url = "%s/api/accounts/%d"\noutput = "/dev/null"\n' "$base" $((10000 + i % 100))
	done >"$work/urls.$k"
done

start=$(now_us)
for ((k = 0; k < c; k++)); do
	# One status line per request; 000 when there was no answer. curl goes on to the next
	# URL after a failed one, and its exit status only tells of the last: the lines tell.
	curl --silent --connect-timeout 5 --max-time 10 ${tls[@]+"${tls[@]}"} \
		--write-out '%{http_code}\n' --config "$work/urls.$k" >"$work/codes.$k" &
	pids+=($!)
done
wait "${pids[@]}" || true # a failed request is counted below, not fatal here
pids=()
end=$(now_us)

elapsed_us=$((end - start > 0 ? end - start : 1))
done_count=$(cat "$work"/codes.* | wc -l)
unanswered=$(cat "$work"/codes.* | grep -c '^000$' || true)
rate_x10=$((n * 10000000 / elapsed_us))

echo "$n requests to $base/api/accounts/{10000..10099}, $c at a time"
printf '  answered    %d of %d\n' $((done_count - unanswered)) "$n"
echo "  status"
sort "$work"/codes.* | uniq -c | while read -r count code; do
	if [[ $code == 000 ]]; then
		printf '    %s × %d  (no answer: see below)\n' "$code" "$count"
	else
		printf '    %s × %d\n' "$code" "$count"
	fi
done
printf '  elapsed     %d.%03d s\n' $((elapsed_us / 1000000)) $((elapsed_us / 1000 % 1000))
printf '  rate        %d.%d requests/s\n' $((rate_x10 / 10)) $((rate_x10 % 10))

if ((unanswered > 0 || done_count < n)); then
	# One more request, with curl's own message, says why better than a count can.
	echo
	echo "$((n - done_count + unanswered)) requests got no answer. One more, to see why:"
	curl --silent --show-error --connect-timeout 5 --max-time 10 ${tls[@]+"${tls[@]}"} \
		--output /dev/null "$base/api/accounts/10000" 2>&1 | sed 's/^/  /' || true
	if [[ $base == https://* && ${#tls[@]} -eq 0 ]]; then
		echo "  (the local edge's certificate is self-signed: add -k)"
	fi
	echo "  Is the landscape running? make run"
	exit 1
fi
