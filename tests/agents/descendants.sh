#!/usr/bin/env bash
# Descendants that leave the agent's process group and keep its run marker: one by a double fork (its parent
# exits at once; it is reparented), one in a session of its own (setsid). Then the agent stays until stopped.
(sleep 100003 </dev/null >/dev/null 2>&1 &)
setsid sleep 100004 </dev/null >/dev/null 2>&1 &
echo "ready $$"
exec sleep 100000
