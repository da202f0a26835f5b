#!/usr/bin/env bash
# Inside a run's sandbox (issue 14): reports what it can reach, one "PROBE name: yes|no" line each, then
# stays until SIGTERM (which it reports: the stop's grace reaches the agent through bubblewrap).
# Usage: sandbox-probe.sh DATA_DIR OTHER_DIR PORT
data=${1:?data dir} other=${2:?another run or worktree} port=${3:-1}
probe() { if eval "$2" >/dev/null 2>&1; then echo "PROBE $1: yes"; else echo "PROBE $1: no"; fi; }
probe read-data-token "[ -s '$data/token' ] && cat '$data/token'"
probe list-data-dir "[ -n \"\$(ls -A '$data')\" ]"
probe read-other "[ -n \"\$(ls -A '$other')\" ]"
probe write-workdir "echo x > ./probe-written"
probe write-tmpdir "echo x > '$TMPDIR/probe'"
probe write-usr "touch /usr/probe-written"
probe see-operator-home "[ -n \"\$(ls -A '${DF_PROBE_HOME:-/nonexistent}')\" ]"
probe network "exec 3<>/dev/tcp/127.0.0.1/$port"
probe see-daemon-pid "[ -d /proc/$PPID ] && kill -0 ${DF_PROBE_DAEMON_PID:-1}"
trap 'echo "PROBE got TERM"; exit 0' TERM
echo "ready $$"
while :; do sleep 0.2; done
