#!/usr/bin/env bash
# secret-scanner: look through the repository (tracked and untracked, not ignored) for private keys and cloud
# credentials. Prints file:line and the kind of secret, never the secret itself. Exit 1 when something is found.
set -eu
cd "${1:-.}"

found=0
scan() { # kind, extended regex
  local hits
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    hits=$(git grep --untracked -I -n -E -e "$2" -- . ':!agents/secret-scanner.sh' | cut -d: -f1,2 || true)
  else
    hits=$(grep -r -I -n -E -e "$2" --exclude-dir=.git --exclude=secret-scanner.sh . | cut -d: -f1,2 || true)
  fi
  if [ -n "$hits" ]; then
    found=1
    printf '%s\n' "$hits" | sed "s/\$/: $1/"
  fi
}

scan "private key" '-----BEGIN ([A-Z]+ )?PRIVATE KEY( BLOCK)?-----'
scan "AWS access key id" '(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)'
scan "GitHub token" '(^|[^A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}'
scan "Slack token" 'xox[abprs]-[A-Za-z0-9-]{10,}'

if [ "$found" -eq 0 ]; then
  echo "secret-scanner: no secrets found in $(pwd)"
else
  echo "secret-scanner: secrets found (see above); remove them and rotate the credentials" >&2
  exit 1
fi
