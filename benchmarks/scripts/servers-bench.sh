#!/usr/bin/env bash
# The servers benchmark (issue 18): unmodified servers with and without the agent. Called by
# ./run bench servers after it built benchmarks, fiber-agent and examples. The servers are test
# classes of examples (AtScaleServer, DelayServer); their class path is examples' test class path
# without the runtime's own modules (under the agent, the runtime comes from the agent jar).
set -euo pipefail
cd "$(dirname "$0")/../.."
cp_file=examples/target/server-classpath.txt
{
  printf '%s' "$PWD/examples/target/test-classes"
  tr ':' '\n' < examples/target/test-classpath.txt \
    | grep -Ev '/io/fiber/|/fiber-(core|io|agent|compat|junit)/|/load-harness/|/examples/target/classes' \
    | sed 's/^/:/' | tr -d '\n'
} > "$cp_file"
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all)" -ge 2 ]; then
  pin=(taskset -c 1)   # the load and the delay server on core 1; the benchmark puts each server on core 0
else
  set -- "$@" --no-pin
fi
exec "${pin[@]}" "$JAVA_HOME/bin/java" -Xmx2g -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.servers.ServersBenchmark \
  --server-classpath "$cp_file" --agent fiber-agent/target/fiber-agent.jar "$@"
