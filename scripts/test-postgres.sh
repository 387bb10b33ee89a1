#!/usr/bin/env bash
# The end-to-end suite a second time, on PostgreSQL and Redis (SPEC §8), when both answer.
#
# `npm test` runs this after the SQLite run. Each gateway a test starts gets a fresh schema
# gh_<random> in the database (dropped when it closes; `public` is never touched) and its own
# Redis key prefix; test/scale-out.test.ts runs only here (two instances, one deployment).
#
#   GATEHOUSE_TEST_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/test
#   GATEHOUSE_TEST_REDIS_URL      default redis://127.0.0.1:6379
#   GATEHOUSE_REQUIRE_POSTGRES=1  fail instead of skipping when either is not reachable (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

db_url="${GATEHOUSE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
redis_url="${GATEHOUSE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

# host and port of a URL like scheme://[user[:pass]@]host[:port][/…]
host_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; rest="${rest%%\?*}"; echo "${rest%%:*}"; }
port_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; rest="${rest%%\?*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

# A TCP connect, bounded so a black-holed address cannot hang the run.
reachable() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

missing=()
reachable "$(host_of "$db_url")" "$(port_of "$db_url" 5432)" || missing+=("PostgreSQL at $(host_of "$db_url"):$(port_of "$db_url" 5432)")
reachable "$(host_of "$redis_url")" "$(port_of "$redis_url" 6379)" || missing+=("Redis at $(host_of "$redis_url"):$(port_of "$redis_url" 6379)")

if ((${#missing[@]})); then
  reason="${missing[0]}${missing[1]:+ and ${missing[1]}} not reachable"
  if [[ "${GATEHOUSE_REQUIRE_POSTGRES:-}" == 1 ]]; then
    echo "PostgreSQL suite failed: $reason (GATEHOUSE_REQUIRE_POSTGRES=1)" >&2
    exit 1
  fi
  echo "PostgreSQL suite skipped: $reason"
  exit 0
fi

echo
echo "== the suite again on PostgreSQL ($(host_of "$db_url"):$(port_of "$db_url" 5432)) and Redis ($(host_of "$redis_url"):$(port_of "$redis_url" 6379)) =="
GATEHOUSE_TEST_DATABASE_URL="$db_url" GATEHOUSE_TEST_REDIS_URL="$redis_url" exec npx vitest run "$@"
