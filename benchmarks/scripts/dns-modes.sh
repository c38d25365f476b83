#!/usr/bin/env bash
# The DNS modes side by side (docs/dns.md): for each of off, offload and nonblocking, a JVM under the
# agent runs io.fiber.agent.DnsModesMeasurement against a loopback DNS server it starts on $ADDRESS:53.
# Each JVM runs in a private mount namespace where /etc/resolv.conf names that server, so getaddrinfo
# (modes off and offload) asks it too; the machine's own /etc/resolv.conf is not touched. Needs root
# (unshare, mount, port 53). Called by ./run bench dns, after the build.
# usage: benchmarks/scripts/dns-modes.sh [SECONDS_PER_PHASE [MODE...]]   (from the repository root)
set -euo pipefail
seconds=${1:-3}
[ $# -gt 0 ] && shift
modes=${*:-off offload nonblocking}
ADDRESS=127.0.0.77
[ "$(id -u)" -eq 0 ] || { echo "dns-modes: needs root (a private mount namespace and port 53)" >&2; exit 2; }
command -v unshare >/dev/null || { echo "dns-modes: needs unshare (util-linux)" >&2; exit 2; }
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$ADDRESS" > "$conf"
cp="fiber-agent/target/test-classes:$(ls fiber-core/target/fiber-core-*-tests.jar)"
for mode in $modes; do
  unshare -m sh -c "mount --bind '$conf' /etc/resolv.conf && exec '$JAVA_HOME/bin/java' -Xmx1g \
    -javaagent:fiber-agent/target/fiber-agent.jar=dns=$mode,detector=off -Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0 \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp '$cp' io.fiber.agent.DnsModesMeasurement $mode $ADDRESS $seconds"
done
