#!/usr/bin/env bash
# The system calls an echo server makes per round trip at 1-connection ping-pong: starts one server
# pinned to core 0, drives it from core 1, and while the load runs counts the server's system calls
# with `perf trace -s` for 3 s, then divides each count (and its failures, such as reads that found
# nothing) by the round trips echoed in that time. perf trace slows the server a little (strace
# slowed it so much that every read found its data waiting). Called by ./run bench syscalls.
# usage: benchmarks/syscalls-per-round-trip.sh a|b|c   (from the repository root, JAVA_HOME set to a JDK 25)
#   a: fibers + agent (detector=report), b: fibers without the agent, c: JDK virtual threads
set -euo pipefail
server=${1:?usage: ./run bench syscalls a|b|c}
case "$server" in
  a) opts=(-javaagent:fiber-agent/target/fiber-agent.jar=detector=report); mode=fiber ;;
  b) opts=(--add-opens java.base/java.lang=ALL-UNNAMED); mode=fiber ;;
  c) opts=(); mode=vthread ;;
  *) echo "syscalls: unknown server '$server'; choose a (fibers + agent), b (fibers, no agent) or c (JDK virtual threads)" >&2; exit 2 ;;
esac
command -v perf >/dev/null || { echo "syscalls: needs perf (Debian package linux-perf)" >&2; exit 2; }
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
jar=benchmarks/target/benchmarks.jar
server_pid=; driver_pid=
log=$(mktemp); driver_log=$(mktemp); counts=$(mktemp); hold=$(mktemp -u); mkfifo "$hold"
trap 'exec 3>&- 2>/dev/null; kill "$server_pid" "$driver_pid" 2>/dev/null; rm -f "$log" "$driver_log" "$counts" "$hold"' EXIT
pin 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC "${opts[@]}" -cp "$jar" io.fiber.benchmarks.echo.EchoServer "$mode" 0 \
  < "$hold" > "$log" 2>&1 &
server_pid=$!
exec 3> "$hold"
until grep -q '^ready' "$log"; do kill -0 "$server_pid" || { cat "$log"; exit 1; }; sleep 0.1; done
port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$log")
java_pid=$(sed -n 's/^ready .* pid=\([0-9]*\).*/\1/p' "$log")
# perf traces from 6 s to 9 s of the driver's 8 s warm-up: the driver counts another window, so the
# round trips traced are the server's own writes (one per echoed message, in every server).
pin 1 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -cp "$jar" io.fiber.benchmarks.echo.EchoLoadDriver --port "$port" \
  --connections 1 --idle 0 --warmup 8 --duration 8 --hold-until-stdin-eof < "$hold" > "$driver_log" 2>&1 3>&- &
driver_pid=$!
sleep 6
timeout -s INT 3 perf trace -s -p "$java_pid" -o "$counts" 2>/dev/null || true
until grep -q '^result' "$driver_log"; do kill -0 "$driver_pid" || { cat "$driver_log"; exit 1; }; sleep 0.5; done
# perf prints one table per thread: "syscall calls errors total min avg max stddev"; sum them per call.
awk '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && NF >= 8 {calls[$1] += $2; errors[$1] += $3}
  END {
    rt = calls["write"]
    if (rt == 0) { print "no round trips traced"; exit 1 }
    printf "%d round trips traced (one write each); system calls per round trip (failed ones, such as EAGAIN, in brackets):\n", rt
    for (c in calls) printf "  %-16s %6.3f  (%.3f)\n", c, calls[c] / rt, errors[c] / rt
  }' "$counts" | { read -r head; echo "server ($server, $mode): $head"; sort -k2 -rn; }
