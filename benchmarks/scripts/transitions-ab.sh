#!/usr/bin/env bash
# The echo server (a), fibers + agent, with and without -XX:-DoJVMTIVirtualThreadTransitions
# (experimental), alternated: any Java agent turns on JVMTI mount/unmount transitions for every
# virtual-thread switch (./run bench switch-cost measures one switch), and this shows what they cost
# a server. Server on core 0, driver on core 1 (echo-pair.sh); prints round trips/s per run.
# Called by ./run bench transitions-ab.
# usage: benchmarks/scripts/transitions-ab.sh CONNECTIONS [ROUNDS]   (from the repository root, JAVA_HOME set to a JDK 25)
set -euo pipefail
connections=${1:?usage: ./run bench transitions-ab CONNECTIONS [ROUNDS]}
rounds=${2:-3}
for ((i = 1; i <= rounds; i++)); do
  for transitions in on off; do
    (
      . benchmarks/scripts/echo-pair.sh
      if [ "$transitions" = off ]; then
        echo_server a transitions-ab -XX:+UnlockExperimentalVMOptions -XX:-DoJVMTIVirtualThreadTransitions
      else
        echo_server a transitions-ab
      fi
      echo_driver --connections "$connections" --warmup 4 --duration 8
      wait_for_result
      printf 'round %d  transitions %-3s  %s\n' "$i" "$transitions" "$(grep -o 'rt_per_s=[0-9.]*' "$driver_log")"
    )
  done
done
