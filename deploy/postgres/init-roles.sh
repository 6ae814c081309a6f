#!/bin/sh
# Creates the roles and databases of a meterbridge deployment. The official postgres image
# runs it once, on an empty data folder (docker-entrypoint-initdb.d); on an existing
# installation run it by hand as the superuser (see "Operating meterbridge" in README.md).
# It is safe to run again: what exists is kept, passwords are set to the given ones.
#
#   meterbridge  LOGIN, not a superuser, cannot create databases or roles; owns the
#                meterbridge database and nothing else.
#   temporal     LOGIN, likewise; owns the temporal and temporal_visibility databases.
#
# Neither role may connect to the other's databases, nor to the maintenance database:
# CONNECT is revoked from PUBLIC and granted to each database's owner only.
set -eu
: "${METERBRIDGE_DB_PASSWORD:?set METERBRIDGE_DB_PASSWORD}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v mb_password="$METERBRIDGE_DB_PASSWORD" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE meterbridge' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'meterbridge') \gexec
SELECT 'CREATE ROLE temporal' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') \gexec
ALTER ROLE meterbridge WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'mb_password';
ALTER ROLE temporal WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'temporal_password';

SELECT 'CREATE DATABASE meterbridge OWNER meterbridge' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'meterbridge') \gexec
SELECT 'CREATE DATABASE temporal OWNER temporal' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal') \gexec
SELECT 'CREATE DATABASE temporal_visibility OWNER temporal' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility') \gexec
ALTER DATABASE meterbridge OWNER TO meterbridge;
ALTER DATABASE temporal OWNER TO temporal;
ALTER DATABASE temporal_visibility OWNER TO temporal;

-- The maintenance database "postgres" is the superuser's.
REVOKE ALL ON DATABASE meterbridge, temporal, temporal_visibility, postgres FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE meterbridge TO meterbridge;
GRANT CONNECT, TEMPORARY ON DATABASE temporal, temporal_visibility TO temporal;
SQL

# The public schema of each database belongs to its owner (PostgreSQL 15 and later give
# it to pg_database_owner); nobody else may create objects there.
for db in meterbridge temporal temporal_visibility; do
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$db" \
    -c 'REVOKE CREATE ON SCHEMA public FROM PUBLIC'
done
echo "roles meterbridge and temporal ready"
