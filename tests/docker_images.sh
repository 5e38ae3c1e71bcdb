#!/usr/bin/env bash
# Builds the Docker images the Docker tests run, without pulling anything:
# each is a root filesystem assembled from busybox and this machine's Debian
# engine binaries (with the libraries ldd names), loaded with `docker import`.
#
#   bash tests/docker_images.sh     build what is missing or out of date
#
# An image is rebuilt only when its recipe changed: the recipe hash (this
# script plus the engine package versions) is stored as a label. Called by
# tests/services.sh once the Docker engine is up.
set -euo pipefail

DOCKER_SOCK=${BACKUPY_TEST_DOCKER_SOCKET:-/var/run/docker.sock}
docker() { command docker -H "unix://${DOCKER_SOCK}" "$@"; }
log() { printf 'docker-images: %s\n' "$*" >&2; }

PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
PG_BIN=/usr/lib/postgresql/${PG_VERSION}/bin
RECIPE=$( (cat "$0"; dpkg-query -W busybox-static "postgresql-${PG_VERSION}" mariadb-server \
  redis-server sqlite3) | sha256sum | cut -c1-16)

# cp --parents from a directory other than / fails on this coreutils (9.1)
# when -a is given.
cpp() { (cd / && cp --parents "$@"); }

# Copies files (keeping their paths) and every shared library they load.
add_files() {
  local root=$1
  shift
  local file lib
  for file in "$@"; do
    cpp -a "$file" "$root"
    if [[ -L "$file" ]]; then cpp -a "$(readlink -f "$file")" "$root"; fi
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
      [[ -e "$root$lib" ]] || cpp -L "$lib" "$root"
    done
  done
}

# A root with busybox as /bin/sh and its applets, users, and /tmp.
new_root() {
  local root
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,run,var/run,usr/local/bin}
  chmod 755 "$root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh
mysql:x:998:998:mysql:/var/lib/mysql:/bin/sh
redis:x:997:997:redis:/data:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/sh
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
postgres:x:999:
mysql:x:998:
redis:x:997:
nogroup:x:65534:
EOF
  echo "$root"
}

# docker import ROOT NAME [--change ...]: replaces NAME with ROOT's contents.
import_root() {
  local root=$1 name=$2
  shift 2
  tar --numeric-owner -C "$root" -c . |
    docker import --change "LABEL backupy.test.recipe=${RECIPE}" "$@" - "$name" >/dev/null
  rm -rf "$root"
  log "built $name"
}

up_to_date() {
  [[ "$(docker image inspect -f '{{index .Config.Labels "backupy.test.recipe"}}' "$1" \
    2>/dev/null)" == "$RECIPE" ]]
}

build_base() {
  local root
  root=$(new_root)
  add_files "$root" /usr/bin/sqlite3
  import_root "$root" backupy-test/base:latest \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["sleep", "2147483647"]'
}

build_postgres() {
  local root
  root=$(new_root)
  add_files "$root" "$PG_BIN"/{postgres,initdb,pg_ctl,pg_dump,pg_restore,psql,pg_isready}
  # Everything but the JIT, whose LLVM library alone is over 100 MB.
  add_files "$root" $(find "/usr/lib/postgresql/${PG_VERSION}/lib" -maxdepth 1 -name '*.so' \
    ! -name llvmjit.so)
  cpp -a "/usr/share/postgresql/${PG_VERSION}" /usr/share/zoneinfo/UTC \
    /usr/share/zoneinfo/Etc "$root"
  mkdir -p "$root"/var/lib/postgresql/data "$root"/var/run/postgresql
  chown -R 999:999 "$root"/var/lib/postgresql "$root"/var/run/postgresql
  chmod 700 "$root"/var/lib/postgresql/data
  cat >"$root/usr/local/bin/entrypoint" <<'EOF'
#!/bin/sh
# Like the official image: POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB on
# first start. Passwords only ever in files or the environment, never argv.
set -eu
PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/tmp/pwfile
  initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile=/tmp/pwfile \
    --auth=scram-sha-256 -E UTF8 --locale=C >/tmp/initdb.log 2>&1
  rm -f /tmp/pwfile
fi
postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 &
pid=$!
trap 'kill -INT $pid' TERM INT
export PGPASSWORD="$POSTGRES_PASSWORD" PGUSER="${POSTGRES_USER:-postgres}" PGDATABASE=postgres
until pg_isready -q; do sleep 0.1; done
db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
if [ -z "$(psql -XtAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
  psql -Xqc "CREATE DATABASE \"$db\""
fi
touch /tmp/ready
wait $pid
EOF
  chmod 755 "$root/usr/local/bin/entrypoint"
  import_root "$root" postgres:backupy-test \
    --change "ENV PATH=/usr/local/bin:${PG_BIN}:/usr/bin:/bin" \
    --change 'ENV TZ=UTC' \
    --change 'USER postgres' \
    --change 'EXPOSE 5432/tcp' \
    --change 'CMD ["/usr/local/bin/entrypoint"]'
}

build_mariadb() {
  local root
  root=$(new_root)
  add_files "$root" /usr/sbin/mariadbd /usr/bin/mariadb /usr/bin/mariadb-dump \
    /usr/bin/mysqldump /usr/bin/mysql /usr/bin/mariadb-admin
  cpp -a /usr/share/mysql "$root"
  mkdir -p "$root"/var/lib/mysql "$root"/run/mysqld
  # The system tables are made here, with the host's identical server, so a
  # container starts in a second instead of bootstrapping.
  mariadb-install-db --no-defaults --datadir="$root/var/lib/mysql" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db --innodb-log-file-size=4M \
    >/dev/null 2>&1
  chown -R 998:998 "$root"/var/lib/mysql "$root"/run/mysqld
  cat >"$root/usr/local/bin/entrypoint" <<'EOF'
#!/bin/sh
# Like the official image: MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD),
# MARIADB_DATABASE, MARIADB_USER/MARIADB_PASSWORD on first start, sent to
# the server on stdin so no password shows in a process list.
set -eu
mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=127.0.0.1 \
  --socket=/run/mysqld/mysqld.sock --innodb-log-file-size=4M &
pid=$!
trap 'kill $pid' TERM INT
until [ -S /run/mysqld/mysqld.sock ]; do sleep 0.1; done
if [ ! -e /var/lib/mysql/.initialized ]; then
  root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
  db=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
  user=${MARIADB_USER:-${MYSQL_USER:-}}
  user_pw=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
  {
    [ -n "$db" ] && echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
    if [ -n "$user" ]; then
      echo "CREATE USER '$user'@'%' IDENTIFIED BY '$user_pw';"
      echo "CREATE USER '$user'@'localhost' IDENTIFIED BY '$user_pw';"
      [ -n "$db" ] && echo "GRANT ALL ON \`$db\`.* TO '$user'@'%', '$user'@'localhost';"
    fi
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_pw';"
  } | mariadb -uroot
  touch /var/lib/mysql/.initialized
fi
touch /tmp/ready
wait $pid
EOF
  chmod 755 "$root/usr/local/bin/entrypoint"
  import_root "$root" mariadb:backupy-test \
    --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin' \
    --change 'EXPOSE 3306/tcp' \
    --change 'CMD ["/usr/local/bin/entrypoint"]'
}

build_redis() {
  local root
  root=$(new_root)
  add_files "$root" /usr/bin/redis-server /usr/bin/redis-cli
  mkdir -p "$root/data"
  chown 997:997 "$root/data"
  cat >"$root/usr/local/bin/entrypoint" <<'EOF'
#!/bin/sh
# REDIS_PASSWORD as the bitnami image reads it, through a config file.
set -eu
{
  echo "bind 127.0.0.1"
  echo "dir /data"
  [ -n "${REDIS_PASSWORD:-}" ] && echo "requirepass \"$REDIS_PASSWORD\""
} >/tmp/redis.conf
touch /tmp/ready
exec redis-server /tmp/redis.conf
EOF
  chmod 755 "$root/usr/local/bin/entrypoint"
  import_root "$root" redis:backupy-test \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'USER redis' \
    --change 'EXPOSE 6379/tcp' \
    --change 'CMD ["/usr/local/bin/entrypoint"]'
}

# Images whose contents do not matter, only their names: discovery must
# match or skip them by name. They are the base image under other names.
tag_names() {
  local name
  for name in prometheuscommunity/postgres-exporter:backupy-test mongo:backupy-test \
    rediscommander/redis-commander:backupy-test; do
    docker tag backupy-test/base:latest "$name"
  done
}

build=()
up_to_date backupy-test/base:latest || build+=(build_base)
up_to_date postgres:backupy-test || build+=(build_postgres)
up_to_date mariadb:backupy-test || build+=(build_mariadb)
up_to_date redis:backupy-test || build+=(build_redis)
if ((${#build[@]} == 0)); then
  log "test images up to date"
else
  pids=()
  for step in "${build[@]}"; do
    "$step" &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then
    log "building a test image failed"
    exit 1
  fi
  # The images these replaced are left untagged; on vfs each is a full copy.
  docker image prune -f >/dev/null
fi
tag_names
