#!/usr/bin/env bash
# Server (a) (fibers + agent) of a work tree, pinned to core 0, under RUNS loads one after another from
# the C load driver (echo_load.c, built here with cc -O2) on core 1, each 4 s of warm-up and 6 s
# measured; per run: round trips/s and the server's user and system CPU per round trip (utime and
# stime of /proc/PID/stat over the measured 6 s), and how busy the whole machine was meanwhile.
# Alternating two work trees (say, main and a branch, each built with ./run mvn -q -DskipTests package
# -pl benchmarks,fiber-agent -am) compares their CPU per round trip on a machine too busy for rates.
# usage: benchmarks/scripts/echo-cpu-per-round-trip.sh WORK_TREE RUNS CONNECTIONS   (JAVA_HOME set to a JDK 25)
set -euo pipefail
tree=$1; runs=$2; conns=$3
scripts=$(cd "$(dirname "$0")" && pwd)
bin=$(mktemp -d); hold=$(mktemp -u); log=$(mktemp)
trap 'exec 3>&- 2>/dev/null; kill $spid 2>/dev/null || true; rm -rf "$bin" "$hold" "$log"' EXIT
cc -O2 -o "$bin/echo_load" "$scripts/../src/main/resources/io/fiber/benchmarks/echo/echo_load.c"
cd "$tree"
mkfifo "$hold"
taskset -c 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -javaagent:fiber-agent/target/fiber-agent.jar=detector=report \
  -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.echo.EchoBenchmarkServer fiber 0 < "$hold" > "$log" 2>&1 &
spid=$!
exec 3> "$hold"
until grep -q '^ready' "$log"; do kill -0 $spid || { cat "$log"; exit 1; }; sleep 0.1; done
port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$log"); pid=$(sed -n 's/^ready .* pid=\([0-9]*\).*/\1/p' "$log")
busy() { awk '/^cpu /{print $2+$3+$4+$9}' /proc/stat; }
for r in $(seq 1 "$runs"); do
  out="$bin/driver-$r"
  taskset -c 1 "$bin/echo_load" --port "$port" --connections "$conns" --warmup 4 --duration 6 > "$out" 2>&1 &
  dpid=$!
  until grep -q measure-start "$out"; do sleep 0.05; done
  read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut0 st0 _ < "/proc/$pid/stat"; b0=$(busy)
  until grep -q measure-end "$out"; do sleep 0.05; done
  read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut1 st1 _ < "/proc/$pid/stat"; b1=$(busy)
  wait $dpid
  rt=$(sed -n 's/^result round_trips=\([0-9]*\).*/\1/p' "$out")
  tick=$(getconf CLK_TCK)
  awk -v r=$r -v rt="$rt" -v u=$((ut1 - ut0)) -v s=$((st1 - st0)) -v b=$((b1 - b0)) -v t="$tick" 'BEGIN {
    printf "a run %d: %.0f rt/s  user %.2f us/rt  sys %.2f us/rt  total %.2f  machine-busy %.0f%%\n",
      r, rt / 6, u / t * 1e6 / rt, s / t * 1e6 / rt, (u + s) / t * 1e6 / rt, b / t / 6 * 100 }'
done
