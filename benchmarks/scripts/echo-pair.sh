# Sourced by the single-server echo scripts (idle-memory.sh, syscalls-per-round-trip.sh): one echo
# server pinned to core 0 and the load driver pinned to core 1, both serving until this script exits.
#   echo_server a|b|c NAME [server JVM options...]  starts the server; sets server_pid, port, java_pid, mode
#     a: fibers + agent (detector=report), b: fibers without the agent, c: JDK virtual threads
#   echo_driver [driver options...]   starts the driver against it; sets driver_pid, driver_log
#   wait_for_result                   waits until the driver printed its result line
# Both processes hold a fifo on stdin, which the script keeps open for writing until it exits.
# echo_scratch names a scratch file for the caller, removed on exit like the logs.
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
echo_jar=benchmarks/target/benchmarks.jar
server_pid=; driver_pid=
server_log=$(mktemp); driver_log=$(mktemp); echo_scratch=$(mktemp); echo_hold=$(mktemp -u); mkfifo "$echo_hold"
trap 'exec 3>&- 2>/dev/null; kill $server_pid $driver_pid 2>/dev/null || true; rm -f "$server_log" "$driver_log" "$echo_scratch" "$echo_hold"' EXIT

echo_server() {
  local server=$1 name=$2 opts
  case "$server" in
    a) opts=(-javaagent:fiber-agent/target/fiber-agent.jar=detector=report); mode=fiber ;;
    b) opts=(--add-opens java.base/java.lang=ALL-UNNAMED); mode=fiber ;;
    c) opts=(); mode=vthread ;;
    *) echo "$name: unknown server '$server'; choose a (fibers + agent), b (fibers, no agent) or c (JDK virtual threads)" >&2; exit 2 ;;
  esac
  pin 0 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC "${@:3}" "${opts[@]}" -cp "$echo_jar" \
    io.fiber.benchmarks.echo.EchoBenchmarkServer "$mode" 0 < "$echo_hold" > "$server_log" 2>&1 &
  server_pid=$!
  exec 3> "$echo_hold"
  until grep -q '^ready' "$server_log"; do kill -0 "$server_pid" || { cat "$server_log"; exit 1; }; sleep 0.1; done
  port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$server_log")
  java_pid=$(sed -n 's/^ready .* pid=\([0-9]*\).*/\1/p' "$server_log")
}

echo_driver() {
  pin 1 "$JAVA_HOME/bin/java" -Xmx1g -XX:+UseSerialGC -cp "$echo_jar" io.fiber.benchmarks.echo.EchoLoadDriver --port "$port" \
    "$@" --hold-until-stdin-eof < "$echo_hold" > "$driver_log" 2>&1 3>&- &
  driver_pid=$!
}

wait_for_result() {
  until grep -q '^result' "$driver_log"; do kill -0 "$driver_pid" || { cat "$driver_log"; exit 1; }; sleep 0.5; done
}
