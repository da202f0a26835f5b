#!/usr/bin/env bash
# A grandchild that leaves the agent's process group and session, as a daemonizing tool would.
pidfile=${1:?pidfile}
setsid bash -c 'echo $$ > "$0"; exec sleep 100000' "$pidfile" </dev/null >/dev/null 2>&1 &
echo "ready $$"
exec sleep 100000
