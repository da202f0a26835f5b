#!/usr/bin/env bash
# RATE short lines per second until signalled, without forking (read -t on an idle pipe is the timer).
# Writes its pid to PIDFILE first when one is given.
rate=${1:-10}; pidfile=${2:-}
[ -n "$pidfile" ] && echo $$ > "$pidfile"
exec {idle}<> <(:)
interval=$(awk "BEGIN { printf \"%.6f\", 1 / $rate }")
i=0
while true; do
  i=$((i + 1))
  echo "tick $i"
  read -r -t "$interval" -u "$idle" _ || true
done
