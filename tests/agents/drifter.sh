#!/usr/bin/env bash
# A drifting agent: prints its task, then N compiler-style error lines (and an optional last line), then waits.
n=${1:-2}; last=${2:-}
echo "task: ${DF_TASK:-none}"
for ((i = 1; i <= n; i++)); do echo "error[E0308]: mismatched types (attempt $i)"; done
if [ -n "$last" ]; then echo "$last"; fi
exec sleep 600
