#!/usr/bin/env bash
# Two commits side by side: builds BEFORE and AFTER into worktrees of their own, then runs the same
# benchmark command in each, PAIRS times, alternating which side goes first, and keeps each run's
# output in benchmarks/results/results-KIND-DATE-LABEL-SIDE-PAIR.txt.
#   usage: benchmarks/scripts/commit-ab.sh BEFORE AFTER LABEL PAIRS echo|jmh [benchmark options...]
#   echo: ./run bench echo OPTIONS;  jmh: java -jar benchmarks/target/benchmarks.jar OPTIONS
# Run it on a quiet machine: the sides are compared through their ratios against the peers of the
# same run, and a busy machine moves those by tens of percent.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 5 ] || { sed -n 2,5p "$0" >&2; exit 2; }
before=$1 after=$2 label=$3 pairs=$4 kind=$5
shift 5
case "$kind" in echo|jmh) ;; *) echo "commit-ab: kind must be echo or jmh, got '$kind'" >&2; exit 2 ;; esac
if [ "$kind" = jmh ] && ! "${JAVA_HOME:-/nonexistent}/bin/java" -version 2>&1 | grep -q 'version "25'; then
  echo "commit-ab: jmh runs need JAVA_HOME set to a JDK 25 (e.g. JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  exit 2
fi
root=$(pwd)
work=$(mktemp -d)
trap 'for side in before after; do git -C "$root" worktree remove --force "$work/$side" 2>/dev/null || true; done; rm -rf "$work"' EXIT
for side in before after; do
  rev=$([ $side = before ] && echo "$before" || echo "$after")
  git worktree add --detach "$work/$side" "$rev" >/dev/null
  (cd "$work/$side" && ./run mvn -B -ntp -q -DskipTests package -pl benchmarks,fiber-agent -am)
done
out=$root/benchmarks/results
day=$(date -u +%Y-%m-%d)
for pair in $(seq 1 "$pairs"); do
  order=$([ $((pair % 2)) = 1 ] && echo "before after" || echo "after before")
  for side in $order; do
    echo "== $kind $side $pair $(date -u +%H:%M:%S)"
    file=$out/results-$kind-$day-$label-$side-$pair.txt
    if [ "$kind" = echo ]; then
      (cd "$work/$side" && ./run bench echo "$@") > "$file" 2>&1
    else
      (cd "$work/$side" && "$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar "$@") > "$file" 2>&1
    fi
    sed -i "s#$work/$side/##g" "$file" # no machine's paths in the kept output
  done
done
