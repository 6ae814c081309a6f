#!/bin/sh
# Brings the schemas of Temporal's two databases up to the version of the admin-tools image.
# In the compose deployment the databases already exist, owned by Temporal's own role
# (deploy/postgres/init-roles.sh), which may not create databases; the create step is for
# setups whose role may. Safe to run again: existing databases and schema versions are kept,
# only newer versions are applied.
set -eu
db_args="--plugin postgres12 --ep ${POSTGRES_SEEDS} -p ${DB_PORT} -u ${POSTGRES_USER}"
# The password travels in SQL_PASSWORD, not on the command line.
export SQL_PASSWORD="${POSTGRES_PWD}"
schema_root=/etc/temporal/schema/postgresql/v12

until nc -z "${POSTGRES_SEEDS}" "${DB_PORT}"; do
  echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
  sleep 2
done

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schema_root/temporal/versioned" ;;
    *)        dir="$schema_root/visibility/versioned" ;;
  esac
  # shellcheck disable=SC2086
  temporal-sql-tool $db_args --db "$db" create 2>/dev/null || echo "database $db exists"
  # shellcheck disable=SC2086
  temporal-sql-tool $db_args --db "$db" setup-schema -v 0.0 2>/dev/null || echo "schema of $db already set up"
  # shellcheck disable=SC2086
  temporal-sql-tool $db_args --db "$db" update-schema -d "$dir"
done
echo "temporal schema ready"
