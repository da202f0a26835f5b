#!/usr/bin/env bash
# disk-guard: every INTERVAL seconds, print disk and memory use of the data directory; runs forever.
# Warns on stderr when the filesystem is fuller than WARN_PERCENT or memory available is under MIN_MEM_MIB.
set -eu
dir="${DF_DATA_DIR:-.}"
interval="${INTERVAL:-30}"
warn_percent="${WARN_PERCENT:-90}"
min_mem_mib="${MIN_MEM_MIB:-256}"

while true; do
  used_percent=$(df -P "$dir" | awk 'NR == 2 { sub("%", "", $5); print $5 }')
  free_space=$(df -Ph "$dir" | awk 'NR == 2 { print $4 }')
  dir_size=$(du -sh "$dir" 2>/dev/null | cut -f1 || true)
  mem_total=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  mem_avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
  echo "disk-guard: $dir holds ${dir_size:-?}; filesystem ${used_percent}% used, $free_space free; memory ${mem_avail} MiB of ${mem_total} MiB available"
  if [ "$used_percent" -ge "$warn_percent" ]; then
    echo "disk-guard: WARNING: filesystem of $dir is ${used_percent}% full (limit ${warn_percent}%)" >&2
  fi
  if [ "$mem_avail" -lt "$min_mem_mib" ]; then
    echo "disk-guard: WARNING: only ${mem_avail} MiB of memory available (limit ${min_mem_mib} MiB)" >&2
  fi
  sleep "$interval"
done
