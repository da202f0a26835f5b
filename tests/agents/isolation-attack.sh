#!/usr/bin/env bash
# An agent with isolation: worktree that tries to land its work in the user's checkout (issue 13). One line per
# attempt: "ATTACK <name>: <exit status>". Then leaves an uncommitted file for the daemon to commit, exits 0.
# Usage: isolation-attack.sh   (run in its worktree; the user's checkout is the repository's main worktree)
echo "agent work" > feature.txt
echo "an edit" >> README.md
git add -A && git -c user.name=agent -c user.email=agent@localhost -c commit.gpgsign=false commit -q -m "the agent's own commit"
echo "ATTACK commit: $?"
git checkout -q main 2>/dev/null; echo "ATTACK checkout-main: $?"
git switch -q main 2>/dev/null; echo "ATTACK switch-main: $?"
git push -q origin HEAD:refs/heads/main 2>/dev/null; echo "ATTACK push-main: $?"
git push -q origin HEAD 2>/dev/null; echo "ATTACK push-branch: $?"
git push -q 2>/dev/null; echo "ATTACK push: $?"
echo escaped > ../escaped.txt 2>/dev/null; echo "ATTACK write-dotdot: $?"
echo escaped > ../../escaped.txt 2>/dev/null; echo "ATTACK write-dotdot-2: $?"
echo "left for the daemon" > late.txt
echo "done in $(pwd)"
exit 0
