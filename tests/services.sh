#!/usr/bin/env bash
# Installs (from Debian) and starts the real servers the tests talk to:
# PostgreSQL, MariaDB, Redis and a Docker engine. Idempotent: on a machine
# where they already run it changes nothing. Prints how to reach each one.
#
#   bash tests/services.sh          install what is missing, start what is down
#   bash tests/services.sh --env    only print the environment the tests read
#
# The tests read the same defaults (tests/support/services.ts), so nothing
# needs exporting; the printed lines are for humans and other tools.
set -euo pipefail

PG_PORT=${BACKUPY_TEST_PG_PORT:-5432}
MARIADB_PORT=${BACKUPY_TEST_MARIADB_PORT:-3306}
REDIS_PORT=${BACKUPY_TEST_REDIS_PORT:-6379}
DOCKER_SOCK=${BACKUPY_TEST_DOCKER_SOCKET:-/var/run/docker.sock}
TEST_PASSWORD=backupy-test-pw
# A test CA and a server certificate for 127.0.0.1/localhost: MariaDB serves
# TLS with it, and the TLS tests start their own servers with it.
TLS_DIR=${BACKUPY_TEST_TLS_DIR:-/var/lib/backupy-test-tls}

print_env() {
  cat <<EOF
BACKUPY_TEST_PG_URL=postgres://backupy:${TEST_PASSWORD}@127.0.0.1:${PG_PORT}/postgres
BACKUPY_TEST_MARIADB_URL=mariadb://backupy:${TEST_PASSWORD}@127.0.0.1:${MARIADB_PORT}/
BACKUPY_TEST_REDIS_URL=redis://127.0.0.1:${REDIS_PORT}
BACKUPY_TEST_DOCKER_SOCKET=${DOCKER_SOCK}
BACKUPY_TEST_TLS_DIR=${TLS_DIR}
EOF
}

if [[ "${1:-}" == "--env" ]]; then
  print_env
  exit 0
fi

log() { printf 'services: %s\n' "$*" >&2; }
need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    log "must run as root to install and start services"
    exit 1
  fi
}

# Wait until a command succeeds, up to $1 seconds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what did not come up within ${seconds}s"
  return 1
}

install_packages() {
  local missing=()
  command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
  command -v mariadbd >/dev/null || missing+=(mariadb-server)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  command -v openssl >/dev/null || missing+=(openssl)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  if ((${#missing[@]} == 0)); then return 0; fi
  need_root
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting their own daemons: this
  # script starts them the same way on every machine.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_postgres() {
  if pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "postgresql already up on ${PG_PORT}"
  else
    local version
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "${version}/main"; then
      pg_createcluster "$version" main -p "$PG_PORT" >/dev/null
    fi
    pg_ctlcluster "$version" main start
    wait_for 30 postgresql pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
  fi
  su postgres -c "psql -q -p $PG_PORT -v ON_ERROR_STOP=1" <<SQL
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backupy') THEN
    CREATE ROLE backupy LOGIN SUPERUSER PASSWORD '${TEST_PASSWORD}';
  END IF;
END\$\$;
SQL
}

make_test_certs() {
  if [[ -s "${TLS_DIR}/server.pem" ]]; then return 0; fi
  mkdir -p "${TLS_DIR}"
  local tmp
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Backupy Test CA" \
    -keyout "${tmp}/ca-key.pem" -out "${tmp}/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "${tmp}/server-key.pem" -out "${tmp}/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"${tmp}/san.ext"
  openssl x509 -req -in "${tmp}/server.csr" -CA "${tmp}/ca.pem" -CAkey "${tmp}/ca-key.pem" \
    -CAcreateserial -days 3650 -extfile "${tmp}/san.ext" -out "${tmp}/server.pem" 2>/dev/null
  # An unrelated CA, for "wrong CA" tests.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Other CA" \
    -keyout "${tmp}/other-ca-key.pem" -out "${tmp}/other-ca.pem" 2>/dev/null
  cp "${tmp}/ca.pem" "${tmp}/server.pem" "${tmp}/server-key.pem" "${tmp}/other-ca.pem" "${TLS_DIR}/"
  chmod 644 "${TLS_DIR}"/*.pem
  rm -rf "${tmp}"
}

# Writes MariaDB's test settings (TLS; a binary log, so dumps record their
# position in it); true (0) when the file changed.
mariadb_test_config() {
  local conf=/etc/mysql/mariadb.conf.d/99-backupy-test-tls.cnf
  local want
  want=$(printf '[mariadbd]\nssl-ca=%s/ca.pem\nssl-cert=%s/server.pem\nssl-key=%s/server-key.pem\nlog-bin=backupy-bin\nserver-id=1' \
    "${TLS_DIR}" "${TLS_DIR}" "${TLS_DIR}")
  if [[ -f "$conf" && "$(cat "$conf")" == "$want" ]]; then return 1; fi
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >"$conf"
  return 0
}

mariadb_up() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" -u backupy -p"$TEST_PASSWORD" ping; }

start_mariadb() {
  local changed=0
  if mariadb_test_config; then changed=1; fi
  if ((changed)) && mariadb-admin ping >/dev/null 2>&1; then
    log "mariadb: test configuration changed, restarting"
    mariadb-admin shutdown
  fi
  if mariadb-admin ping >/dev/null 2>&1; then
    log "mariadb already up"
  else
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    if [[ ! -d /var/lib/mysql/mysql ]]; then
      mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    (setsid mariadbd-safe --user=mysql --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
      >/dev/null 2>&1 &)
    wait_for 60 mariadb mariadb-admin ping
  fi
  mariadb -u root <<SQL
CREATE USER IF NOT EXISTS 'backupy'@'%' IDENTIFIED BY '${TEST_PASSWORD}';
CREATE USER IF NOT EXISTS 'backupy'@'localhost' IDENTIFIED BY '${TEST_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO 'backupy'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'backupy'@'localhost' WITH GRANT OPTION;
SQL
  wait_for 10 "mariadb over tcp" mariadb_up
}

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "redis already up on ${REDIS_PORT}"
    return 0
  fi
  mkdir -p /var/lib/backupy-test-redis
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --dir /var/lib/backupy-test-redis --logfile /var/log/backupy-test-redis.log
  wait_for 20 redis redis-cli -p "$REDIS_PORT" ping
}

start_docker() {
  if docker -H "unix://${DOCKER_SOCK}" version >/dev/null 2>&1; then
    log "docker engine already up at ${DOCKER_SOCK}"
    return 0
  fi
  # vfs needs no kernel overlay support; no iptables and no bridge because
  # this machine's sandbox allows neither. Tests use --network host.
  (setsid dockerd --host "unix://${DOCKER_SOCK}" --storage-driver=vfs --iptables=false \
    --bridge=none >/var/log/backupy-test-dockerd.log 2>&1 &)
  wait_for 60 "docker engine" docker -H "unix://${DOCKER_SOCK}" version
}

# The engine images the Docker tests run (built once, then cached).
docker_images() {
  start_docker
  BACKUPY_TEST_DOCKER_SOCKET="$DOCKER_SOCK" bash "$(dirname "$0")/docker_images.sh"
}

install_packages
need_root
make_test_certs
# The four servers are independent: start them side by side.
pids=()
start_postgres & pids+=($!)
start_mariadb & pids+=($!)
start_redis & pids+=($!)
docker_images & pids+=($!)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if ((failed)); then
  log "a service failed to start (see the lines above)"
  exit 1
fi
print_env
