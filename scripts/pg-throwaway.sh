#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks.
#
#   scripts/pg-throwaway.sh WATCH_PID
#
# initdb in a fresh temporary directory (as the unprivileged `postgres` user
# when run as root: initdb refuses root), a private socket directory, a free
# loopback port. Prints one line, `postgres://roster@127.0.0.1:PORT/roster`,
# once the server accepts connections, then waits until WATCH_PID (the test
# or benchmark process) exits, however it exits (a failed test, SIGKILL), and
# stops the server and removes the directory.
#
# For investigating: PG_THROWAWAY_OPTIONS adds server options (e.g.
# "-c log_min_duration_statement=100"), and PG_THROWAWAY_LOG=FILE keeps a
# copy of the server's log when the cluster is removed.
set -euo pipefail

watch_pid=${1:?usage: pg-throwaway.sh WATCH_PID}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg-throwaway: PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/setup.sh (it installs Debian's postgresql)" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/roster-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi

cleanup() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  [ -z "${PG_THROWAWAY_LOG:-}" ] || cp "$dir/server.log" "$PG_THROWAWAY_LOG" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' TERM INT HUP

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U roster --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
mkdir -p "$dir/socket"
[ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir/socket"

# A free port: ask the kernel for one, then hand it to postgres (a rare race
# with another process is retried below).
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # fsync off and a small WAL: the cluster is thrown away afterwards.
  if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB ${PG_THROWAWAY_OPTIONS:-}" \
      start >/dev/null 2>&1; then
    break
  fi
  if [ "$attempt" -eq 5 ]; then
    cat "$dir/server.log" >&2
    exit 1
  fi
done

"${as_owner[@]}" "$bin/createdb" -h "$dir/socket" -p "$port" -U roster roster
echo "postgres://roster@127.0.0.1:$port/roster"

while kill -0 "$watch_pid" 2>/dev/null; do
  sleep 1
done
