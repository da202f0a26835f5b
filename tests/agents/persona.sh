#!/usr/bin/env bash
# A plain-command persona for project tests: the whole prompt arrives in $DF_TASK (and on stdin), it runs in the
# project's worktree, its stdout is its output. $STATE_DIR (outside the worktree) keeps what it was asked.
#   plan   answer the n-th plan run with $STATE_DIR/plan-<n>.json, else $STATE_DIR/plan.json, else a two-task plan;
#          first touch plan-started and sleep as many seconds as $STATE_DIR/plan-sleep says (if there)
#   work   append "$DF_TASK_ID" to $STATE_DIR/runs; write $DF_TASK_ID.txt; write FIXED when the handoff says
#          "expected FIXED" (a gate's feedback); first sleep as many seconds as $STATE_DIR/sleep-$DF_TASK_ID or
#          $STATE_DIR/sleep says (if there), then, while $STATE_DIR/hold is there, wait for it to go (held-$DF_TASK_ID says so)
#          and try to push (refused)
#   audit  answer the n-th audit with $STATE_DIR/audit-<n>.json, else every task of the prompt complete; first touch
#          audit-started and sleep as many seconds as $STATE_DIR/audit-sleep says (if there)
#   fail   print a line and exit 3
mode=${1:-work}
state=${STATE_DIR:-/tmp}
echo "cwd: $(pwd) project: ${DF_PROJECT:-none} task: ${DF_TASK_ID:-none}"
next() { local n; n=$(cat "$state/$1-n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$state/$1-n"; echo "$n"; }
case "$mode" in
  plan)
    n=$(next plan)
    if [ -f "$state/plan-sleep" ]; then touch "$state/plan-started"; s=$(cat "$state/plan-sleep"); sleep "$s" & wait $!; fi
    if [ -f "$state/plan-$n.json" ]; then cat "$state/plan-$n.json"
    elif [ -f "$state/plan.json" ]; then cat "$state/plan.json"
    else
      echo 'Here is the plan:'
      echo '```json'
      echo '{"tasks": [{"title": "Add rate limiting", "description": "limit /login", "priority": 1, "dependencies": [], "persona": "engineer"},'
      echo '           {"title": "Test the limit", "description": "tests for the limit", "priority": 2, "dependencies": ["Add rate limiting"], "persona": "tester"}]}'
      echo '```'
    fi ;;
  audit)
    n=$(next audit)
    if [ -f "$state/audit-sleep" ]; then touch "$state/audit-started"; s=$(cat "$state/audit-sleep"); sleep "$s" & wait $!; fi
    if [ -f "$state/audit-$n.json" ]; then cat "$state/audit-$n.json"
    else
      ids=$(printf '%s\n' "$DF_TASK" | sed -n 's/^- \(t[0-9]*\): .*/\1/p')
      items=""
      for id in $ids; do items="$items${items:+, }{\"id\": \"$id\", \"complete\": true, \"evidence\": \"$id.txt is there\", \"confidence\": 0.9}"; done
      echo "{\"tasks\": [$items]}"
    fi ;;
  work)
    echo "$DF_TASK_ID" >> "$state/runs"
    for f in "$state/sleep-$DF_TASK_ID" "$state/sleep"; do
      if [ -f "$f" ]; then s=$(cat "$f"); echo "working for $s s"; sleep "$s" & wait $!; break; fi
    done
    if [ -f "$state/hold" ]; then touch "$state/held-$DF_TASK_ID"; while [ -f "$state/hold" ]; do sleep 0.1; done; fi
    printf '%s\n' "$DF_TASK" | sed -n 's/^# Your task: //p' > "$DF_TASK_ID.txt"
    case "$DF_TASK" in *"expected FIXED"*) echo fixed > FIXED; echo "fixed what the gate said" ;; esac
    if git push --quiet origin HEAD >/dev/null 2>&1; then echo "push: ALLOWED"; else echo "push: refused"; fi
    echo "summary: $DF_TASK_ID done" ;;
  fail) echo "failing on purpose"; exit 3 ;;
esac
exit 0
