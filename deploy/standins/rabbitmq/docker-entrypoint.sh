#!/bin/bash
# The stand-in's entrypoint, doing what the official image's docker-entrypoint.sh does for
# a `rabbitmq-server` command (docker-library/rabbitmq, 4.1/ubuntu):
#   - started as root, it gives the data directory (a volume, perhaps made by an older
#     container) to the rabbitmq user and runs the command as that user, as gosu does there;
#   - it tells rabbitmq-server it runs under a supervisor (RUNNING_UNDER_SYSTEMD), so the
#     Erlang VM is exec'ed and becomes PID 1, and a `docker stop` reaches it directly.
# RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS are not handled here, nor there: RabbitMQ
# itself reads them (since 3.9.4; Debian's 3.10 does too), and only when it creates its
# database, on the first start of an empty volume.
set -euo pipefail

if [[ ${1:-} == rabbitmq* && $(id -u) == 0 ]]; then
  if [[ $1 == rabbitmq-server ]]; then
    find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq: '{}' +
  fi
  exec gosu rabbitmq "$0" "$@"
fi

export RUNNING_UNDER_SYSTEMD=true
exec "$@"
