#!/usr/bin/env bash
# Where an echo server's memory goes with 10,000 idle connections and 100 active ones (the echo
# benchmark's idle-10000 scenario, shorter): starts one server pinned to core 0, drives it from core 1,
# and while every connection is still open prints its RSS, its native memory summary (NMT: Java heap,
# metaspace, code, ...) and the top of its class histogram (jdk.internal.vm.StackChunk is the parked
# fibers' and virtual threads' stacks). Called by ./run bench idle-memory.
# usage: benchmarks/scripts/idle-memory.sh a|b|c   (from the repository root, JAVA_HOME set to a JDK 25)
#   a: fibers + agent (detector=report), b: fibers without the agent, c: JDK virtual threads
set -euo pipefail
server=${1:?usage: ./run bench idle-memory a|b|c}
. benchmarks/scripts/echo-pair.sh
echo_server "$server" idle-memory -XX:NativeMemoryTracking=summary
echo_driver --connections 100 --idle 10000 --warmup 5 --duration 10
wait_for_result
echo "server ($server, $mode): $(grep VmRSS /proc/"$java_pid"/status)"
grep '^result' "$driver_log"
"$JAVA_HOME/bin/jcmd" "$java_pid" VM.native_memory summary | grep -E '^Total|^-  *(Java Heap|Class|Thread|Code|GC|Symbol|Metaspace) '
"$JAVA_HOME/bin/jcmd" "$java_pid" GC.class_histogram | sed -n '2,14p'   # forces a full GC: after the RSS
