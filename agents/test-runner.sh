#!/usr/bin/env bash
# test-runner: run the repository's tests (dotnet, npm or make, whichever the repo has). With
# ONLY_ON_CHANGE=1 it skips when HEAD has not moved since the last green run (state in DF_DATA_DIR).
set -eu
cd "${1:-.}"
state="${DF_DATA_DIR:-${TMPDIR:-/tmp}}/test-runner.last-green"
head=$(git rev-parse HEAD 2>/dev/null || echo none)

if [ "${ONLY_ON_CHANGE:-0}" = 1 ] && [ -f "$state" ] && [ "$(cat "$state")" = "$head" ] && [ -z "$(git status --porcelain 2>/dev/null)" ]; then
  echo "test-runner: $head already green, nothing to do"
  exit 0
fi

sln=$(find . -maxdepth 1 -name '*.sln' -o -maxdepth 1 -name '*.slnx' | head -n 1)
if [ -n "$sln" ] && command -v dotnet >/dev/null 2>&1; then
  echo "test-runner: dotnet test $sln"
  dotnet test "$sln" --nologo
elif [ -f package.json ] && command -v npm >/dev/null 2>&1 && grep -q '"test"' package.json; then
  npm test
elif [ -f Makefile ] && grep -q '^test:' Makefile; then
  make test
else
  echo "test-runner: no tests found in $(pwd)"
  exit 0
fi

mkdir -p "$(dirname "$state")" && echo "$head" >"$state"
echo "test-runner: green at $head"
