#!/usr/bin/env bash
# What a Java agent costs each virtual-thread switch: YieldCostMain (one thread yielding alone on
# its carrier) for JDK virtual threads and for fibers, each without an agent, with one, and with one
# plus -XX:-DoJVMTIVirtualThreadTransitions (experimental), which stops the JVMTI mount/unmount
# transitions that any agent's JVMTI environment turns on. Pinned to core 0; configurations
# interleaved, RUNS rounds; prints each run's median ns per yield. Called by ./run bench switch-cost.
# usage: benchmarks/scripts/switch-cost.sh [RUNS]   (from the repository root, JAVA_HOME set to a JDK 25)
set -euo pipefail
runs=${1:-3}
jar=benchmarks/target/benchmarks.jar
off=(-XX:+UnlockExperimentalVMOptions -XX:-DoJVMTIVirtualThreadTransitions)
pin() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
configs=(
  "vthread, no agent|vthread|"
  "vthread, no-op agent|vthread|-javaagent:$jar"
  "vthread, no-op agent, transitions off|vthread|-javaagent:$jar ${off[*]}"
  "fiber, no agent|fiber|--add-opens java.base/java.lang=ALL-UNNAMED"
  "fiber, fiber agent|fiber|-javaagent:fiber-agent/target/fiber-agent.jar=detector=off"
  "fiber, fiber agent, transitions off|fiber|-javaagent:fiber-agent/target/fiber-agent.jar=detector=off ${off[*]}"
)
for ((i = 1; i <= runs; i++)); do
  for c in "${configs[@]}"; do
    IFS='|' read -r label mode opts <<< "$c"
    # shellcheck disable=SC2086 # opts is a list of JVM options
    result=$(pin "$JAVA_HOME/bin/java" $opts -cp "$jar" io.fiber.benchmarks.YieldCostMain "$mode" | sed -n 's/^result [a-z]*: //p')
    printf 'run %d  %-40s %s\n' "$i" "$label" "$result"
  done
done
