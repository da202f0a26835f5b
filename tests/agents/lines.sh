#!/usr/bin/env bash
n=${1:-10}; delay=${2:-0}
for ((i = 1; i <= n; i++)); do
  echo "line $i"
  if [ "$delay" != 0 ]; then sleep "$delay"; fi
done
