#!/usr/bin/env bash
# The postgres image's entrypoint contract, over Debian's PostgreSQL 15:
# POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB / POSTGRES_INITDB_ARGS and
# their *_FILE variants, PGDATA, a first start that runs initdb, allows
# password (scram-sha-256) logins over TCP from anywhere, creates
# POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sh and *.sql against a
# server listening on the socket only; then `exec postgres`. Started as root,
# it takes ownership of PGDATA and drops to the postgres user (uid 70).
set -Eeo pipefail

# VAR from the environment, or from the file VAR_FILE names; never both.
file_env() {
  local variable="$1" file_variable="${1}_FILE" default="${2:-}"
  if [[ -n "${!variable:-}" && -n "${!file_variable:-}" ]]; then
    echo >&2 "error: both $variable and $file_variable are set (but are exclusive)"
    exit 1
  fi
  local value="$default"
  if [[ -n "${!variable:-}" ]]; then
    value="${!variable}"
  elif [[ -n "${!file_variable:-}" ]]; then
    value="$(<"${!file_variable}")"
  fi
  export "$variable"="$value"
  unset "$file_variable"
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  DATABASE_ALREADY_EXISTS=
  if [[ -s "$PGDATA/PG_VERSION" ]]; then DATABASE_ALREADY_EXISTS=true; fi
}

create_db_directories() {
  mkdir -p "$PGDATA"
  # Started as another user than PGDATA's owner, these may fail; initdb says so if it matters.
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [[ "$(id -u)" == 0 ]]; then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  fi
}

verify_minimum_env() {
  if [[ -z "$POSTGRES_PASSWORD" && "$POSTGRES_HOST_AUTH_METHOD" != trust ]]; then
    cat >&2 <<'MESSAGE'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
MESSAGE
    exit 1
  fi
}

init_database_dir() {
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is split into arguments, as the image does
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
}

# initdb leaves local connections on trust; every other address needs the password.
setup_hba_conf() {
  : "${POSTGRES_HOST_AUTH_METHOD:=$(postgres -C password_encryption)}"
  {
    printf '\n'
    if [[ $POSTGRES_HOST_AUTH_METHOD == trust ]]; then printf '# warning trust is enabled for all connections\n'; fi
    printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
  } >>"$PGDATA/pg_hba.conf"
}

process_sql() {
  local runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [[ -n "$POSTGRES_DB" ]]; then runner+=(--dbname "$POSTGRES_DB"); fi
  PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

temp_server_start() {
  if [[ "$1" == postgres ]]; then shift; fi
  set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

setup_db() {
  local database="$POSTGRES_DB" exists
  exists="$(POSTGRES_DB='' process_sql --dbname postgres --set db="$database" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
  if [[ -z "${exists// /}" ]]; then
    POSTGRES_DB='' process_sql --dbname postgres --set db="$database" <<<'CREATE DATABASE :"db";'
    echo
  fi
}

process_init_files() {
  local file
  for file in "$@"; do
    case "$file" in
      *.sh)
        if [[ -x "$file" ]]; then
          echo "$0: running $file"
          "$file"
        else
          echo "$0: sourcing $file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql) echo "$0: running $file"; process_sql -f "$file"; echo ;;
      *.sql.gz) echo "$0: running $file"; gunzip -c "$file" | process_sql; echo ;;
      *.sql.xz) echo "$0: running $file"; xzcat "$file" | process_sql; echo ;;
      *) echo "$0: ignoring $file" ;;
    esac
  done
}

wants_help() {
  local argument
  for argument; do
    case "$argument" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

main() {
  if [[ "${1:0:1}" == - ]]; then set -- postgres "$@"; fi
  if [[ "$1" == postgres ]] && ! wants_help "$@"; then
    setup_env
    create_db_directories
    if [[ "$(id -u)" == 0 ]]; then
      exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [[ -z "$DATABASE_ALREADY_EXISTS" ]]; then
      verify_minimum_env
      ls /docker-entrypoint-initdb.d/ >/dev/null
      init_database_dir
      setup_hba_conf
      export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
      temp_server_start "$@"
      setup_db
      shopt -s nullglob
      process_init_files /docker-entrypoint-initdb.d/*
      temp_server_stop
      unset PGPASSWORD
      echo
      echo 'PostgreSQL init process complete; ready for start up.'
      echo
    else
      echo
      echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
      echo
    fi
  fi
  exec "$@"
}

main "$@"
