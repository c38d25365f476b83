#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the JDBC integration tests (fiber-compat) and the JDBC
# benchmark (./run bench jdbc): a private cluster created with initdb from Debian's server binaries,
# on a free port of 127.0.0.1 below the ephemeral range, trust authentication, no Unix socket, fsync
# off. It is never the machine's own cluster, and `stop` deletes it.
#
#   throwaway-postgres.sh start STATE_DIR [OWNER_PID]   create and start a cluster; prints one line:
#                                                       "postgres ready port=P user=fiber database=postgres version=V"
#   throwaway-postgres.sh crash STATE_DIR               stop it at once (pg_ctl stop -m immediate), keep its data
#   throwaway-postgres.sh resume STATE_DIR              start the crashed cluster again, same port
#   throwaway-postgres.sh stop STATE_DIR                stop it (if running) and delete it; safe to repeat
#
# STATE_DIR (for example target/postgres) holds what the later commands need: the data directory's path,
# the port and the binaries' directory. With OWNER_PID, a detached watcher stops and deletes the cluster
# once that process is gone, so a test JVM or benchmark killed with SIGKILL leaves no server behind.
#
# Binaries: $FIBER_PG_BIN if set, else the newest /usr/lib/postgresql/*/bin (Debian's layout), else
# `pg_config --bindir`. Exit status 3 means they are not installed (callers decide whether to skip).
# initdb refuses to run as root: as root the cluster belongs to the `postgres` user (the Debian package
# creates it) and lives under /tmp, which that user can reach whatever the checkout's permissions.
# $FIBER_PG_CPUS (a taskset CPU list, e.g. 1) pins the server and its backends, for benchmarks.
set -euo pipefail

SUPERUSER=fiber
NOT_INSTALLED=3
PORT_ATTEMPTS=10

die() { echo "throwaway-postgres: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 start STATE_DIR [OWNER_PID] | crash STATE_DIR | resume STATE_DIR | stop STATE_DIR" >&2
  exit 2
}

find_bin() {
  local dir
  if [ -n "${FIBER_PG_BIN:-}" ]; then
    [ -x "$FIBER_PG_BIN/initdb" ] && [ -x "$FIBER_PG_BIN/pg_ctl" ] && { echo "$FIBER_PG_BIN"; return; }
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
  done
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  fi
  return 0
}

# Runs a command as the cluster's owner: the postgres user when we are root, else ourselves. From /, so
# the server never starts in a directory its user cannot read.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# The taskset prefix that pins the server, or nothing.
pinning() {
  if [ -n "${FIBER_PG_CPUS:-}" ] && command -v taskset >/dev/null 2>&1; then
    echo taskset -c "$FIBER_PG_CPUS"
  fi
}

# A random port for the server, below the kernel's ephemeral range when there is room. A client socket
# in TIME_WAIT holds its ephemeral port against any listener, SO_REUSEADDR or not, and the suites before
# the JDBC tests leave thousands of loopback connections in TIME_WAIT: inside that range a random port is
# often taken. Outside it only listeners compete, so the retries in cmd_start are for the rare collision.
pick_port() {
  local low=32768 high
  [ -r /proc/sys/net/ipv4/ip_local_port_range ] && read -r low high < /proc/sys/net/ipv4/ip_local_port_range
  if [ "$low" -gt 12000 ]; then
    echo $(( 10000 + (RANDOM * 32768 + RANDOM) % (low - 10000) ))
  else
    echo $(( 1024 + (RANDOM * 32768 + RANDOM) % (65535 - 1024) ))
  fi
}

load_state() {
  local state=$1
  [ -f "$state/datadir" ] || return 1
  DATA=$(cat "$state/datadir"); PORT=$(cat "$state/port"); BIN=$(cat "$state/bin")
}

# Starts the server of $DATA on $PORT and waits until it accepts connections; 1 when it did not start.
start_server() {
  as_owner truncate -s 0 "$DATA/server.log"
  as_owner $(pinning) "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -o "-p $PORT" -w -t 60 start >/dev/null 2>&1 && return 0
  return 1
}

cmd_start() {
  local state=$1 owner=${2:-}
  BIN=$(find_bin)
  if [ -z "$BIN" ]; then
    cat >&2 <<MSG
throwaway-postgres: PostgreSQL's server binaries (initdb, pg_ctl) are not installed.
  Looked at: \$FIBER_PG_BIN (${FIBER_PG_BIN:-unset}), /usr/lib/postgresql/*/bin, pg_config --bindir.
  Fix: apt-get install postgresql (Debian/Ubuntu; .ci/run does this), or point FIBER_PG_BIN at the directory holding initdb and pg_ctl.
MSG
    exit $NOT_INSTALLED
  fi
  [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1 \
    || die "running as root, but there is no 'postgres' user to own the cluster (initdb refuses root). Fix: apt-get install postgresql, which creates it, or run as another user."
  cmd_stop "$state" 2>/dev/null || true   # a cluster left by an earlier run of this state directory
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  if [ "$(id -u)" = 0 ]; then
    DATA=$(mktemp -d /tmp/fiber-postgres.XXXXXX)
    chown postgres: "$DATA"
  else
    DATA=$(mktemp -d "$state/data.XXXXXX")
  fi
  chmod 700 "$DATA"
  echo "$DATA" > "$state/datadir"; echo "$BIN" > "$state/bin"
  if ! as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C --no-sync >"$state/initdb.log" 2>&1; then
    cat "$state/initdb.log" >&2
    cmd_stop "$state"
    die "initdb failed (output above)"
  fi
  as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
# throwaway-postgres.sh: loopback only, no Unix socket, durability off (the cluster is deleted after use)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  local attempt tried=""
  for attempt in $(seq 1 $PORT_ATTEMPTS); do
    PORT=$(pick_port)
    tried="$tried $PORT"
    echo "$PORT" > "$state/port"
    start_server && break
    if ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$DATA/server.log" || [ "$attempt" = $PORT_ATTEMPTS ]; then
      cat "$DATA/server.log" >&2
      cmd_stop "$state"
      die "the server did not start (its log above; ports tried:$tried)"
    fi
  done
  if [ -n "$owner" ]; then
    # Detached, with no inherited output, so whoever reads this script's output is not held open by it.
    setsid nohup bash -c '
      while kill -0 "$1" 2>/dev/null && [ "$(cat "$2/datadir" 2>/dev/null)" = "$3" ]; do sleep 1; done
      [ "$(cat "$2/datadir" 2>/dev/null)" = "$3" ] && "$4" stop "$2"' \
      watcher "$owner" "$state" "$DATA" "$(readlink -f "$0")" </dev/null >/dev/null 2>&1 &
  fi
  local version
  version=$("$BIN/postgres" --version | sed "s/^[^0-9]*\([0-9.]*\).*/\1/")
  echo "postgres ready port=$PORT user=$SUPERUSER database=postgres version=$version"
}

cmd_crash() {
  load_state "$1" || die "no cluster in $1"
  as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null
}

cmd_resume() {
  load_state "$1" || die "no cluster in $1"
  start_server || { cat "$DATA/server.log" >&2; die "the server did not start again (its log above)"; }
}

cmd_stop() {
  local state
  state=$(cd "$1" 2>/dev/null && pwd) || return 0
  load_state "$state" || return 0
  if [ -f "$DATA/postmaster.pid" ]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 \
      || { kill -KILL "$(head -n1 "$DATA/postmaster.pid")" 2>/dev/null || true; }
  fi
  case "$DATA" in
    /tmp/fiber-postgres.*|"$state"/data.*) rm -rf "$DATA" ;;
  esac
  rm -f "$state/datadir" "$state/port" "$state/bin"
}

[ $# -ge 2 ] || usage
command=$1; shift
case "$command" in
  start) cmd_start "$@" ;;
  crash) cmd_crash "$1" ;;
  resume) cmd_resume "$1" ;;
  stop) cmd_stop "$1" ;;
  *) usage ;;
esac
