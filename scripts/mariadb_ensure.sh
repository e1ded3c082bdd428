#!/usr/bin/env bash
# Make sure MariaDB answers on 127.0.0.1:3306 for the tests: start it if it is not
# running, then check that root (empty password, as on the dev machines) may create
# databases, which pytest-django needs for test_<name>.
set -euo pipefail
HOST=${MARIADB_HOST:-127.0.0.1}
PORT=${MARIADB_PORT:-3306}
ping() { mariadb-admin --protocol=tcp -h "$HOST" -P "$PORT" -uroot ping >/dev/null 2>&1; }
if ! ping; then
    if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
        echo "MariaDB is not installed: apt-get install mariadb-server" >&2
        exit 1
    fi
    echo "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do ping && break; sleep 0.5; done
    ping || { echo "MariaDB did not start on $HOST:$PORT" >&2; exit 1; }
fi
mariadb --protocol=tcp -h "$HOST" -P "$PORT" -uroot -e \
    "CREATE DATABASE IF NOT EXISTS pseudorec_probe; DROP DATABASE pseudorec_probe;" \
    || { echo "root@$HOST cannot create databases on MariaDB (pytest-django needs it):
  mariadb -uroot -e \"GRANT ALL ON *.* TO 'root'@'$HOST' WITH GRANT OPTION\"" >&2; exit 1; }
