#!/usr/bin/env bash
echo "exiting with ${1:-1} after ${2:-0}s"
sleep "${2:-0}"
exit "${1:-1}"
