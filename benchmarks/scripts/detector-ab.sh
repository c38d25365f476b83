#!/usr/bin/env bash
# The detector's echo overhead inside one server JVM (see DetectorAbServer): the server alternates the
# detector between report and off every second while one load driver runs. Called by ./run bench detector-ab.
# usage: benchmarks/scripts/detector-ab.sh CONNECTIONS   (from the repository root, JAVA_HOME set to a JDK 25)
set -euo pipefail
connections=${1:?usage: ./run bench detector-ab CONNECTIONS}
warmup=10; duration=$(( connections > 1 ? 65 : 45 ))
windows=$(( warmup + duration - 3 )); skip=12
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
out=$(mktemp)
pin 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -javaagent:fiber-agent/target/fiber-agent.jar=detector=report \
  -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.echo.DetectorAbServer 1000 "$windows" "$skip" > "$out" 2>&1 &
server=$!
until grep -q '^ready' "$out"; do kill -0 "$server" || { cat "$out"; exit 1; }; sleep 0.1; done
port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$out")
pin 1 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.echo.EchoLoadDriver \
  --port "$port" --connections "$connections" --idle 0 --warmup "$warmup" --duration "$duration" > /dev/null 2>&1 \
  || true   # the server ends its windows (and exits) a few seconds before the driver's period ends
wait "$server"
grep -v '^ready' "$out"
rm -f "$out"
