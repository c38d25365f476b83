#!/usr/bin/env bash
# What a server's read and write of one 64-byte echo cost, by the layer that makes them (the JDK's
# Socket streams, critical downcalls to recv/send or read/send, Netty's JNI recv/send), in one JVM
# pinned to core 0 (SocketCallCosts.java beside this file; Netty from the benchmarks jar).
# usage: benchmarks/scripts/socket-call-costs.sh [ROUNDS] [N]   (from the repository root, after
# ./run bench echo or ./run mvn -q -pl benchmarks -am package -DskipTests; JAVA_HOME set to a JDK 25)
set -euo pipefail
jar=benchmarks/target/benchmarks.jar
pin() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
pin "$JAVA_HOME/bin/java" -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
  --add-opens java.base/java.net=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
  -cp "$jar" benchmarks/scripts/SocketCallCosts.java "$@"
