#!/usr/bin/env bash
# The fd table operations of one echo round trip (10,000 idle fds, 100 active), timed for fiber-io's
# FdTable and for the two tables it replaced, alternated in one JVM pinned to core 0
# (FdTableOps.java beside this file). The old tables come from OLD_COMMIT, the last commit of main
# that had them; FdTable from the work tree.
# usage: benchmarks/scripts/fd-table-ops.sh [ITERATIONS]   (from the repository root, JAVA_HOME set to a JDK 25)
set -euo pipefail
OLD_COMMIT=${OLD_COMMIT:-6b5b0e3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src/io/fiber/io"
for f in FdStates FdWaiters; do
  git show "$OLD_COMMIT:fiber-io/src/main/java/io/fiber/io/$f.java" > "$dir/src/io/fiber/io/$f.java"
done
cp fiber-io/src/main/java/io/fiber/io/FdTable.java benchmarks/scripts/FdTableOps.java "$dir/src/io/fiber/io/"
"$JAVA_HOME/bin/javac" -d "$dir/classes" "$dir"/src/io/fiber/io/*.java
pin() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
pin "$JAVA_HOME/bin/java" -XX:+UseSerialGC -cp "$dir/classes" io.fiber.io.FdTableOps "$@"
