#!/usr/bin/env bash
# The JDBC benchmark: the same workload (rounds of N tasks, each running 3 queries through a
# HikariCP pool of 20 connections) against a real PostgreSQL, run by (a) fibers under the agent, (b) JDK
# virtual threads, (c) a pool of 200 platform threads, each in its own JVM (see JdbcWorkload), one after
# the other (each repeat starting with the next one), REPEAT times; then the figures and ratios as markdown tables (JdbcReport). The server is a
# throwaway cluster started here with tools/throwaway-postgres.sh, the same helper as the tests, and
# stopped (and deleted) on exit, whatever happens. Called by ./run bench jdbc.
#
# usage: benchmarks/scripts/jdbc-bench.sh [--repeat R] [--pin] [--interleaved] [JdbcWorkload options: --tasks N --warmup-rounds N --rounds N]
#   --pin          the client JVM on core 0, PostgreSQL on core 1 (taskset), instead of both sharing both cores
#   --interleaved  the three modes in one JVM under the agent, taking turns round by round (one JVM per repeat):
#                  load from other processes then falls on all three alike
# From the repository root, JAVA_HOME set to a JDK 25 (./run does both).
set -euo pipefail
repeat=3; pin=""; modes=(fiber vthread platform); workload_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --interleaved) modes=(interleaved); shift ;;
    --tasks|--warmup-rounds|--rounds|--pool|--threads) workload_args+=("$1" "$2"); shift 2 ;;
    *) echo "usage: ./run bench jdbc [--repeat R] [--pin] [--interleaved] [--tasks N] [--warmup-rounds N] [--rounds N]" >&2; exit 2 ;;
  esac
done

state=benchmarks/target/postgres
client_pin=()
if [ -n "$pin" ]; then
  command -v taskset >/dev/null || { echo "jdbc-bench: --pin needs taskset" >&2; exit 2; }
  export FIBER_PG_CPUS=1
  client_pin=(taskset -c 0)
fi
trap 'tools/throwaway-postgres.sh stop "$state"' EXIT
ready=$(tools/throwaway-postgres.sh start "$state" $$)
echo "$ready"
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$ready")
url="jdbc:postgresql://127.0.0.1:$port/postgres?user=fiber"

results=$(mktemp)
java_opts=(-Xms1g -Xmx1g -Dorg.slf4j.simpleLogger.log.com.zaxxer.hikari=warn)
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) processors; load average: $(cut -d' ' -f1-3 /proc/loadavg); pinned: ${pin:-no}; modes: ${modes[*]}"
for r in $(seq 1 "$repeat"); do
  # Each repeat starts with the next mode (fiber vthread platform, then vthread platform fiber, ...), so none always runs first.
  order=("${modes[@]:$(( (r - 1) % ${#modes[@]} ))}" "${modes[@]:0:$(( (r - 1) % ${#modes[@]} ))}")
  for mode in "${order[@]}"; do
    jvm=("${java_opts[@]}")
    [ "$mode" != vthread ] && [ "$mode" != platform ] && jvm+=(-javaagent:fiber-agent/target/fiber-agent.jar=detector=report)
    echo "--- repeat $r, $mode: java ${jvm[*]} ..."
    "${client_pin[@]}" "$JAVA_HOME/bin/java" "${jvm[@]}" -cp benchmarks/target/benchmarks.jar \
      io.fiber.benchmarks.jdbc.JdbcWorkload "$mode" "$url" "${workload_args[@]}" 2>&1 \
      | while IFS= read -r line; do
          echo "  $line"
          case "$line" in result*) echo "repeat=$r $line" >> "$results" ;; esac
        done
  done
done
echo
"$JAVA_HOME/bin/java" -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.jdbc.JdbcReport "$results"
rm -f "$results"
