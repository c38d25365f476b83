#!/usr/bin/env bash
# Where an echo server's memory goes with 10,000 idle connections and 100 active ones (the echo
# benchmark's idle-10000 scenario, shorter): starts one server pinned to core 0, drives it from core 1,
# and while every connection is still open prints its RSS, its native memory summary (NMT: Java heap,
# metaspace, code, ...) and the top of its class histogram (jdk.internal.vm.StackChunk is the parked
# fibers' and virtual threads' stacks). Called by ./run bench idle-memory.
# usage: benchmarks/idle-memory.sh a|b|c   (from the repository root, JAVA_HOME set to a JDK 25)
#   a: fibers + agent (detector=report), b: fibers without the agent, c: JDK virtual threads
set -euo pipefail
server=${1:?usage: ./run bench idle-memory a|b|c}
case "$server" in
  a) opts=(-javaagent:fiber-agent/target/fiber-agent.jar=detector=report); mode=fiber ;;
  b) opts=(--add-opens java.base/java.lang=ALL-UNNAMED); mode=fiber ;;
  c) opts=(); mode=vthread ;;
  *) echo "idle-memory: unknown server '$server'; choose a (fibers + agent), b (fibers, no agent) or c (JDK virtual threads)" >&2; exit 2 ;;
esac
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
jar=benchmarks/target/benchmarks.jar
server_pid=; driver_pid=
log=$(mktemp); driver_log=$(mktemp); hold=$(mktemp -u); mkfifo "$hold"
trap 'exec 3>&- 2>/dev/null; kill "$server_pid" "$driver_pid" 2>/dev/null; rm -f "$log" "$driver_log" "$hold"' EXIT
# The server serves, and the driver keeps its connections open, until their stdin closes: this script
# holds the fifo open for writing until it exits.
pin 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -XX:NativeMemoryTracking=summary "${opts[@]}" \
  -cp "$jar" io.fiber.benchmarks.echo.EchoServer "$mode" 0 < "$hold" > "$log" 2>&1 &
server_pid=$!
exec 3> "$hold"
until grep -q '^ready' "$log"; do kill -0 "$server_pid" || { cat "$log"; exit 1; }; sleep 0.1; done
port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$log")
java_pid=$(sed -n 's/^ready .* pid=\([0-9]*\).*/\1/p' "$log")
pin 1 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -cp "$jar" io.fiber.benchmarks.echo.EchoLoadDriver --port "$port" \
  --connections 100 --idle 10000 --warmup 5 --duration 10 --hold-until-stdin-eof < "$hold" > "$driver_log" 2>&1 3>&- &
driver_pid=$!
until grep -q '^result' "$driver_log"; do kill -0 "$driver_pid" || { cat "$driver_log"; exit 1; }; sleep 0.5; done
echo "server ($server, $mode): $(grep VmRSS /proc/"$java_pid"/status)"
grep '^result' "$driver_log"
"$JAVA_HOME/bin/jcmd" "$java_pid" VM.native_memory summary | grep -E '^Total|^-  *(Java Heap|Class|Thread|Code|GC|Symbol|Metaspace) '
"$JAVA_HOME/bin/jcmd" "$java_pid" GC.class_histogram | sed -n '2,14p'   # forces a full GC: after the RSS
