#!/usr/bin/env bash
# A PostgreSQL server for the test suite's PostgreSQL run (issue 21), found or started the way
# scripts/browser.sh provisions Chromium. Prints the URL of a database the suite may create
# databases from; or exits 1 with one line on stderr saying why there is none.
#
# 1. the server BOT_TEST_POSTGRES names (default: the local one, trust auth, database test);
# 2. else, as root with apt: Debian's postgresql, and a throwaway cluster of our own on
#    LIAISON_PG_PORT (default 54329) under LIAISON_PG_DIR (fsync off: it holds test data only);
# 3. else nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=${BOT_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}
PORT=${LIAISON_PG_PORT:-54329}
DIR=${LIAISON_PG_DIR:-${TMPDIR:-/tmp}/liaison-pg-$PORT}
OWN="postgresql://postgres@127.0.0.1:$PORT/postgres"

answers() {
  .venv/bin/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$1" \
    >/dev/null 2>&1
}

if answers "$URL"; then echo "$URL"; exit 0; fi
if answers "$OWN"; then echo "$OWN"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "no PostgreSQL server answers at ${URL%%@*}@… and one cannot be installed here (needs root and apt)" >&2
  exit 1
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1; then
    echo "no PostgreSQL server answers and installing Debian's postgresql failed" >&2
    exit 1
  fi
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
rm -rf "$DIR"
mkdir -p "$DIR"
chown postgres "$DIR"
if ! su postgres -c "$bin/initdb -D '$DIR' -A trust -U postgres" >/dev/null 2>&1 \
  || ! su postgres -c "$bin/pg_ctl -D '$DIR' -l '$DIR/server.log' -w start \
       -o '-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off'" >/dev/null 2>&1; then
  echo "PostgreSQL is installed but a throwaway cluster could not be started (see $DIR/server.log)" >&2
  exit 1
fi
echo "$OWN"
