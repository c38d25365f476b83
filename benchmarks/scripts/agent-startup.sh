#!/usr/bin/env bash
# What the agent adds to a JVM's start: runs StartupMain (spawn one fiber, join, exit) without the
# agent (fibers with --add-opens) and under each agent jar given, interleaved, RUNS times each, and
# prints per configuration the median and range of wall time and of peak RSS, and the classes loaded
# (one more run each, with -Xlog:class+load). Called by ./run bench startup.
# usage: benchmarks/scripts/agent-startup.sh [--runs N] [LABEL=JAR ...]   (from the repository root, JAVA_HOME set
#   to a JDK 25; default: agent=fiber-agent/target/fiber-agent.jar; pass e.g. old=/tmp/old-agent.jar to
#   compare an agent built from another commit in the same run)
set -euo pipefail
runs=10
if [ "${1:-}" = --runs ]; then runs=${2:?--runs needs a number}; shift 2; fi
configs=("none=")
if [ $# -eq 0 ]; then set -- agent=fiber-agent/target/fiber-agent.jar; fi
for c in "$@"; do
  case "$c" in
    *=*) [ -f "${c#*=}" ] || { echo "agent-startup: no agent jar at '${c#*=}' (from '$c')" >&2; exit 2; } ;;
    *) echo "agent-startup: '$c' is not LABEL=JAR" >&2; exit 2 ;;
  esac
  configs+=("$c")
done
jar=benchmarks/target/benchmarks.jar
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
opts_of() {   # the JVM options of configuration $1
  local agent=${1#*=}
  if [ -z "$agent" ]; then echo "--add-opens java.base/java.lang=ALL-UNNAMED"; else echo "-javaagent:$agent"; fi
}
for ((i = 0; i < runs; i++)); do
  for c in "${configs[@]}"; do
    label=${c%%=*}
    start=$(date +%s%N)
    # shellcheck disable=SC2046
    /usr/bin/time -f %M -o "$out/rss" "$JAVA_HOME/bin/java" $(opts_of "$c") -cp "$jar" io.fiber.benchmarks.StartupMain
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 )) $(cat "$out/rss")" >> "$out/$label"
  done
done
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-8s %22s %30s %8s\n' config "wall ms: median (range)" "peak RSS MB: median (range)" classes
for c in "${configs[@]}"; do
  label=${c%%=*}
  # shellcheck disable=SC2046
  classes=$("$JAVA_HOME/bin/java" $(opts_of "$c") -Xlog:class+load:file="$out/classes" -cp "$jar" io.fiber.benchmarks.StartupMain \
    && grep -c 'source:' "$out/classes")
  wall=$(cut -d' ' -f1 "$out/$label" | median); wmin=$(cut -d' ' -f1 "$out/$label" | sort -n | head -1); wmax=$(cut -d' ' -f1 "$out/$label" | sort -n | tail -1)
  rss=$(cut -d' ' -f2 "$out/$label" | median); rmin=$(cut -d' ' -f2 "$out/$label" | sort -n | head -1); rmax=$(cut -d' ' -f2 "$out/$label" | sort -n | tail -1)
  printf '%-8s %22s %30s %8s\n' "$label" "$wall ($wmin-$wmax)" "$((rss / 1024)) ($((rmin / 1024))-$((rmax / 1024)))" "$classes"
done
echo "runs=$runs each, interleaved; java=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(date -u +%FT%TZ)"
