#!/usr/bin/env bash
# Escapees that the run marker cannot find (issue 14, finding 6): each clears its environment (env -i, so
# no DF_RUN_MARKER) and leaves the agent's session (setsid); one of them double-forks as well. Their pids
# go to PIDFILE, one a line; then the agent itself stays until stopped.
pidfile=${1:?pidfile}
env -i setsid sh -c 'echo $$ >> "$0"; exec sleep 100001' "$pidfile" </dev/null >/dev/null 2>&1 &
env -i setsid sh -c '(sleep 100002 </dev/null >/dev/null 2>&1 & echo $! >> "$0")' "$pidfile" </dev/null >/dev/null 2>&1
while [ "$(wc -l < "$pidfile" 2>/dev/null || echo 0)" -lt 2 ]; do sleep 0.05; done
echo "ready $$"
exec sleep 100000
