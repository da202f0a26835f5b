#!/usr/bin/env bash
# upstream-sync: fetch the remote and report how far the base branch is from it. With FAST_FORWARD=1 it
# fast-forwards the checked-out base branch, only when the working tree is clean and no merge is needed.
# Never merges, rebases or pushes. Offline, it reports the last known state.
set -eu
cd "${1:-.}"
remote="${REMOTE:-origin}"
branch="${BASE_BRANCH:-main}"

if ! git remote get-url "$remote" >/dev/null 2>&1; then
  echo "upstream-sync: no remote '$remote'; nothing to sync"
  exit 0
fi
if ! timeout "${FETCH_TIMEOUT:-60}" git fetch --prune --quiet "$remote"; then
  echo "upstream-sync: fetch from $remote failed (offline?); using the last fetched state"
fi
if ! git rev-parse --verify --quiet "$remote/$branch" >/dev/null; then
  echo "upstream-sync: $remote/$branch not known yet"
  exit 0
fi

ahead=$(git rev-list --count "$remote/$branch..$branch")
behind=$(git rev-list --count "$branch..$remote/$branch")
echo "upstream-sync: $branch is $ahead ahead and $behind behind $remote/$branch"
if [ "$behind" -gt 0 ] && [ "${FAST_FORWARD:-0}" = 1 ]; then
  if [ "$(git symbolic-ref --quiet --short HEAD || true)" = "$branch" ] && [ -z "$(git status --porcelain)" ] && [ "$ahead" -eq 0 ]; then
    git merge --ff-only --quiet "$remote/$branch"
    echo "upstream-sync: fast-forwarded $branch to $(git rev-parse --short HEAD)"
  else
    echo "upstream-sync: not fast-forwarding (not on $branch, local changes, or diverged)"
  fi
fi
