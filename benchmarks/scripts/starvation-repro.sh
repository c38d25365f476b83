#!/usr/bin/env bash
# The echo server on one starved core: CPU spinners share core 0 with the server (fibers, one carrier,
# under the agent) while 1,000 connections load it from core 1. Reproduced a reactor deadlock (fixed):
# a run that ends with 0 round trips hung. Called by ./run bench starvation.
# usage: benchmarks/scripts/starvation-repro.sh [report|off] [RUNS] [SPINNERS]   (from the repository root)
set -uo pipefail
mode=${1:-off}; runs=${2:-6}; spinners=${3:-3}
command -v taskset >/dev/null || { echo "starvation repro: needs taskset" >&2; exit 2; }
hung=0
for i in $(seq 1 "$runs"); do
  taskset -c 0 sh -c "for k in \$(seq 1 $spinners); do sh -c 'while :; do :; done' & done; wait" &
  spin=$!
  out=$(mktemp)
  taskset -c 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -javaagent:fiber-agent/target/fiber-agent.jar=detector="$mode" \
    -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.echo.EchoBenchmarkServer fiber 0 > "$out" 2>&1 < <(sleep 60) &
  server=$!
  until grep -q '^ready' "$out"; do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$out")
  result=$(taskset -c 1 timeout 60 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -cp benchmarks/target/benchmarks.jar \
    io.fiber.benchmarks.echo.EchoLoadDriver --port "${port:-0}" --connections 1000 --idle 0 --warmup 2 --duration 4 2>&1 \
    | grep -E '^result|rror|xception' | head -1)
  echo "run $i, detector=$mode, $spinners spinners: ${result:-no result (server did not start: $(head -c 300 "$out"))}"
  case "$result" in *"round_trips=0 "*|"") hung=$((hung + 1)) ;; esac
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
  pkill -P "$spin" 2>/dev/null; kill "$spin" 2>/dev/null; wait "$spin" 2>/dev/null
  rm -f "$out"
done
echo "$hung of $runs runs hung or failed"
[ "$hung" -eq 0 ]
