#!/usr/bin/env bash
# N lines of 80 characters (79 + newline), as fast as possible.
n=${1:-1000000}
yes "$(printf '%079d' 0 | tr 0 x)" 2>/dev/null | head -n "$n"
