#!/usr/bin/env bash
# The system calls an echo server makes per round trip at 1-connection ping-pong: starts one server
# pinned to core 0, drives it from core 1, and while the load runs counts the server's system calls
# with `perf trace -s` for 3 s, then divides each count (and its failures, such as reads that found
# nothing) by the round trips echoed in that time. perf trace slows the server a little (strace
# slowed it so much that every read found its data waiting). Called by ./run bench syscalls.
# usage: benchmarks/scripts/syscalls-per-round-trip.sh a|b|c   (from the repository root, JAVA_HOME set to a JDK 25)
#   a: fibers + agent (detector=report), b: fibers without the agent, c: JDK virtual threads
set -euo pipefail
server=${1:?usage: ./run bench syscalls a|b|c}
command -v perf >/dev/null || { echo "syscalls: needs perf (Debian package linux-perf)" >&2; exit 2; }
. benchmarks/scripts/echo-pair.sh
echo_server "$server" syscalls
# perf traces from 6 s to 9 s of the driver's 8 s warm-up: the driver counts another window, so the
# round trips traced are the server's own writes (one write, or one sendto for a fiber under the
# agent, per echoed message, in every server).
echo_driver --connections 1 --idle 0 --warmup 8 --duration 8
sleep 6
timeout -s INT 3 perf trace -s -p "$java_pid" -o "$echo_scratch" 2>/dev/null || true
wait_for_result
# perf prints one table per thread: "syscall calls errors total min avg max stddev"; sum them per call.
awk '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && NF >= 8 {calls[$1] += $2; errors[$1] += $3}
  END {
    rt = calls["write"] + calls["sendto"]
    if (rt == 0) { print "no round trips traced"; exit 1 }
    printf "%d round trips traced (one write or sendto each); system calls per round trip (failed ones, such as EAGAIN, in brackets):\n", rt
    for (c in calls) printf "  %-16s %6.3f  (%.3f)\n", c, calls[c] / rt, errors[c] / rt
  }' "$echo_scratch" | { read -r head; echo "server ($server, $mode): $head"; sort -k2 -rn; }
