#!/usr/bin/env bash
# Starts a private MariaDB for tests and local trials: datadir DIR/data, on
# 127.0.0.1 (a free port unless PORT is given) and a socket in DIR/run, as
# the current user. Installs Debian's mariadb-server when mariadbd is missing
# and apt-get can (exit 3 when it cannot: the caller may skip). Creates the
# database `monitoring` and a read-only user `verify`@`127.0.0.1` whose
# password is written to DIR/run/password; the admin (unix socket, no
# password) is DIR/run/admin. Prints HOST:PORT once the server answers.
# Usage: scripts/db-up.sh DIR [PORT]; stop with scripts/db-down.sh DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 DIR [PORT]" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)
port=${2:-}

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "db-up: installing mariadb-server (apt-get)" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server \
      || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server; }; } >&2 \
      || { echo "db-up: mariadb-server cannot be installed here" >&2; exit 3; }
  else
    echo "db-up: mariadbd is not installed and apt-get cannot install it (not root?)" >&2
    exit 3
  fi
fi
PATH=$PATH:/usr/sbin
me=$(id -un)
if [ -f "$dir/run/mariadbd.pid" ] && kill -0 "$(cat "$dir/run/mariadbd.pid")" 2>/dev/null; then
  echo "db-up: already running in $dir" >&2
  echo "127.0.0.1:$(cat "$dir/run/port")"
  exit 0
fi
mkdir -p "$dir/run" "$dir/logs"
[ -n "$port" ] || port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock=$dir/run/mysqld.sock
if [ ! -d "$dir/data/mysql" ]; then
  mariadb-install-db --no-defaults --datadir="$dir/data" --user="$me" --skip-test-db \
    --auth-root-authentication-method=socket --auth-root-socket-user="$me" \
    > "$dir/logs/install.log" 2>&1 || { echo "db-up: mariadb-install-db failed; see $dir/logs/install.log" >&2; exit 1; }
fi
# setsid: the server outlives this script and the test's process group.
setsid mariadbd --no-defaults --datadir="$dir/data" --user="$me" --bind-address=127.0.0.1 --port="$port" \
  --socket="$sock" --pid-file="$dir/run/mariadbd.pid" --log-error="$dir/logs/mariadb.err" \
  --skip-name-resolve --innodb-buffer-pool-size=16M --max-connections=20 < /dev/null > /dev/null 2>&1 &
echo "$port" > "$dir/run/port"
echo "$me" > "$dir/run/admin"
for _ in $(seq 1 300); do
  if mariadb --no-defaults -S "$sock" -u "$me" -e 'SELECT 1' >/dev/null 2>&1; then
    pw=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    printf '%s\n' "$pw" > "$dir/run/password"
    chmod 600 "$dir/run/password"
    mariadb --no-defaults -S "$sock" -u "$me" <<SQL
CREATE DATABASE IF NOT EXISTS monitoring CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'verify'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'verify'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT SELECT ON monitoring.* TO 'verify'@'127.0.0.1';
SQL
    echo "127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "db-up: no answer on $sock after 30 s; see $dir/logs/mariadb.err" >&2
"$repo/scripts/db-down.sh" "$dir" >&2 || true
exit 1
