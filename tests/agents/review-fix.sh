#!/usr/bin/env bash
# A compound-review agent: works in its working directory (the review's worktree).
#   slowfix as fix, after a second
#   fix     write the task (from $DF_TASK) into REVIEW.md, try to push (must be refused), exit 0
#   nothing change nothing, exit 0
#   break   write BROKEN (a gate in the tests refuses it), exit 0
#   fail    write REVIEW.md, exit 3
#   slow    print a line and sleep until signalled
#   wait F  as fix, once the file F (relative: in the worktree) exists, which it removes (a test holds the run while it kills a node)
mode=${1:-fix}
echo "cwd: $(pwd)"
case "$mode" in
  slowfix) sleep 1; printf '%s\n' "${DF_TASK:-no task}" > REVIEW.md ;;
  fix|fail) printf '%s\n' "${DF_TASK:-no task}" > REVIEW.md ;;
  break) echo broken > BROKEN ;;
  slow) echo "working slowly"; exec sleep 600 ;;
  wait) while [ ! -e "$2" ]; do sleep 0.2; done; rm -f "$2"; printf '%s\n' "${DF_TASK:-no task}" > REVIEW.md ;;
esac
if git push --quiet origin HEAD >/dev/null 2>&1; then echo "push by name: ALLOWED"; else echo "push by name: refused"; fi
url=$(git remote get-url origin 2>/dev/null)
if [ -n "$url" ] && git push --quiet "$url" HEAD >/dev/null 2>&1; then echo "push by url: ALLOWED"; else echo "push by url: refused"; fi
echo "summary: $mode done"
[ "$mode" = fail ] && exit 3
exit 0
