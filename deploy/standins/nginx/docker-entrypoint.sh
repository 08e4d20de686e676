#!/bin/sh
# The stand-in's entrypoint, doing what the official image's /docker-entrypoint.sh does
# (nginxinc/docker-nginx): for an `nginx` command, run the executables in
# /docker-entrypoint.d (the stand-in ships none: tracelab mounts finished configurations and
# uses no templates), then exec the command.
#
# One addition, because the two builds differ: the official nginx has the stream module
# (TCP and UDP proxying, which the GELF relay uses) compiled in, Debian's loads it as a
# dynamic module, from a load_module line its own nginx.conf has and a mounted nginx.conf
# does not. So the module is loaded here, ahead of the configuration (-g directives are
# read before the file), and a configuration written for the official image works as is.
set -e

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  for f in /docker-entrypoint.d/*.sh; do
    if [ -x "$f" ]; then "$f"; fi
  done
  load='load_module /usr/lib/nginx/modules/ngx_stream_module.so;'
  if [ "$2" = -g ]; then
    cmd=$1 directives=$3
    shift 3
    set -- "$cmd" -g "$load $directives" "$@"
  else
    cmd=$1
    shift
    set -- "$cmd" -g "$load" "$@"
  fi
fi
exec "$@"
