#!/bin/sh
# setup.sh makes Kibana ready to read tracelab's logs, so the first visit to Discover shows
# them without clicking through "create data view":
#   - a data view over the logs data stream (logs-tracelab-*), timed by @timestamp;
#   - trace.id shown as a link that opens the trace in the Jaeger UI, so a log line leads
#     to its trace in one click;
#   - that data view as Kibana's default.
# It is idempotent: run again, it updates the data view in place (same id), so changing
# JAEGER_UI_URL and re-running is how the link is moved.
#
# It runs once, in the curlimages/curl image (busybox sh, curl, no bash, no jq): the
# kibana-setup service of docker-compose.yml, and the kibana-setup Job of the Kubernetes
# overlay. Kibana's data views API: https://www.elastic.co/docs/api/doc/kibana/group/endpoint-data-views
#
# Settings, from the environment:
#   KIBANA_URL       where Kibana answers            (default http://kibana:5601)
#   JAEGER_UI_URL    the Jaeger UI as a browser sees it (default http://localhost:16686)
#   WAIT_SECONDS     how long to wait for Kibana     (default 300)

# busybox sh, the curl image's shell, has pipefail; POSIX sh does not promise it.
# shellcheck disable=SC3040
set -euo pipefail

KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
JAEGER_UI_URL=${JAEGER_UI_URL:-http://localhost:16686}
WAIT_SECONDS=${WAIT_SECONDS:-300}

# The data view's id is fixed, so a second run finds the first run's view instead of
# adding another. The pattern matches the data stream that the Logstash pipeline writes
# (deploy/compose/logstash/pipeline/tracelab.conf: logs-tracelab-default).
DATA_VIEW_ID=tracelab-logs
DATA_VIEW_PATTERN='logs-tracelab-*'

log() { printf 'kibana-setup: %s\n' "$*" >&2; }

# api METHOD PATH [JSON]: calls Kibana, prints the answer's body, and fails, printing the
# body to stderr, on anything but 2xx. The kbn-xsrf header is required on every write.
api() {
  method=$1 path=$2
  if [ $# -ge 3 ]; then
    out=$(curl -sS -X "$method" -H 'kbn-xsrf: tracelab' -H 'Content-Type: application/json' \
      --data "$3" -w '\n%{http_code}' "$KIBANA_URL$path")
  else
    out=$(curl -sS -X "$method" -H 'kbn-xsrf: tracelab' -w '\n%{http_code}' "$KIBANA_URL$path")
  fi
  status=$(printf '%s\n' "$out" | tail -n 1)
  body=$(printf '%s\n' "$out" | sed '$d')
  case $status in
    2??) printf '%s\n' "$body" ;;
    *) log "$method $path: HTTP $status: $body"; return 1 ;;
  esac
}

# exists PATH: 0 when GET PATH answers 200, 1 when 404, and fails on anything else.
exists() {
  status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'kbn-xsrf: tracelab' "$KIBANA_URL$1")
  case $status in
    200) return 0 ;;
    404) return 1 ;;
    *) log "GET $1: HTTP $status"; exit 1 ;;
  esac
}

# The URL goes into a JSON string and into a Kibana URL template: refuse what would break
# either, instead of writing a data view whose links lead nowhere.
case $JAEGER_UI_URL in
  http://*|https://*) ;;
  *) log "JAEGER_UI_URL=$JAEGER_UI_URL: want an http(s) URL such as http://localhost:16686"; exit 1 ;;
esac
case $JAEGER_UI_URL in
  *'"'*|*\\*|*'{'*|*'}'*|*' '*) log "JAEGER_UI_URL=$JAEGER_UI_URL: no quotes, backslashes, braces or spaces"; exit 1 ;;
esac
JAEGER_UI_URL=${JAEGER_UI_URL%/}

# available: Kibana answers and says its overall status is "available" (it answers 503, or
# "degraded", while it is still connecting to Elasticsearch or migrating its saved objects).
# grep reads all its input (no -q), so the writer never dies of a closed pipe under pipefail.
available() {
  status_json=$(curl -fsS "$KIBANA_URL/api/status" 2>/dev/null) || return 1
  printf '%s\n' "$status_json" | grep -E '"overall": *\{[^}]*"level": *"available"' >/dev/null
}

log "waiting up to ${WAIT_SECONDS}s for Kibana at $KIBANA_URL"
waited=0
until available; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    log "Kibana at $KIBANA_URL is not available after ${WAIT_SECONDS}s"
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done

# {{value}} is Kibana's placeholder for the field's value, URL-escaped: a trace id is hex.
trace_link=$JAEGER_UI_URL'/trace/{{value}}'
view=$(cat <<EOF
{
  "title": "$DATA_VIEW_PATTERN",
  "name": "tracelab logs",
  "timeFieldName": "@timestamp",
  "fieldFormats": {
    "trace.id": {
      "id": "url",
      "params": {"type": "a", "urlTemplate": "$trace_link", "labelTemplate": "{{value}}"}
    }
  }
}
EOF
)

if exists "/api/data_views/data_view/$DATA_VIEW_ID"; then
  log "updating data view $DATA_VIEW_ID ($DATA_VIEW_PATTERN)"
  api POST "/api/data_views/data_view/$DATA_VIEW_ID" "{\"data_view\": $view, \"refresh_fields\": true}" >/dev/null
else
  log "creating data view $DATA_VIEW_ID ($DATA_VIEW_PATTERN)"
  # The id goes in as the first member of the same object.
  api POST /api/data_views/data_view "{\"data_view\": {\"id\": \"$DATA_VIEW_ID\", ${view#\{}}" >/dev/null
fi
api POST /api/data_views/default "{\"data_view_id\": \"$DATA_VIEW_ID\", \"force\": true}" >/dev/null

# Read it back: the proof that the link is in place is what Kibana stored, not what was sent.
stored=$(api GET "/api/data_views/data_view/$DATA_VIEW_ID")
case $stored in
  *"$trace_link"*) ;;
  *) log "data view $DATA_VIEW_ID was saved without the trace.id link $trace_link"; exit 1 ;;
esac
log "done: Discover shows $DATA_VIEW_PATTERN; trace.id opens $trace_link"
