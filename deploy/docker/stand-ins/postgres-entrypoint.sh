#!/bin/sh
# Entrypoint of the PostgreSQL stand-in image. Like the official one, it initialises an empty
# PGDATA with POSTGRES_USER/POSTGRES_PASSWORD, runs /docker-entrypoint-initdb.d/*.sql on a server
# that listens on its socket only (so nothing can connect over TCP before they have run), stops
# it, then runs the real server.
set -eu

initialise() {
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" >"$pwfile"
    initdb -D "$PGDATA" --username="${POSTGRES_USER:=postgres}" --pwfile="$pwfile" \
        --encoding=UTF8 --no-locale --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    {
        echo "listen_addresses = '*'"
        echo "unix_socket_directories = '/var/run/postgresql'"
    } >>"$PGDATA/postgresql.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    database="${POSTGRES_DB:-$POSTGRES_USER}"
    if [ "$database" != postgres ]; then
        createdb --username="$POSTGRES_USER" "$database"
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$script" ] || continue
        echo "running $script"
        psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname="$database" -f "$script"
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "initialisation complete"
}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialise
fi
exec "$@"
