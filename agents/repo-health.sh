#!/usr/bin/env bash
# repo-health: a short health report of the git repository: integrity (git fsck), branch, upstream
# distance, uncommitted changes, stashes, size. Exit 1 when fsck finds corruption.
set -eu
cd "${1:-.}"
git rev-parse --is-inside-work-tree >/dev/null

branch=$(git symbolic-ref --quiet --short HEAD || echo "(detached)")
echo "repo-health: $(pwd) on $branch at $(git log -1 --format='%h %cs %s' 2>/dev/null || echo 'no commits')"
if upstream=$(git rev-parse --abbrev-ref --symbolic-full-name '@{u}' 2>/dev/null); then
  echo "repo-health: $(git rev-list --count '@{u}..HEAD') ahead, $(git rev-list --count 'HEAD..@{u}') behind $upstream"
fi
echo "repo-health: $(git status --porcelain | wc -l) changed or untracked paths, $(git stash list | wc -l) stashes"
git count-objects -vH | awk -F': ' '/size-pack|count/ { printf "repo-health: %s = %s\n", $1, $2 }'
if problems=$(git fsck --no-progress --no-dangling 2>&1); then
  echo "repo-health: git fsck ok"
else
  echo "repo-health: git fsck found problems:" >&2
  printf '%s\n' "$problems" >&2
  exit 1
fi
