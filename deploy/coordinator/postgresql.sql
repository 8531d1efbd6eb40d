-- The coordinator's PostgreSQL role and database.  Run once, as the postgres superuser:
--   sudo -u postgres psql -v role=lhs -v db=lhs -f postgresql.sql
-- The role logs in over the local socket by peer authentication (the system user of the
-- same name, which runs the service), so no password exists to be kept anywhere.  The
-- tables are made by `lhs coordinator init` (the Alembic migrations), run as that role.
\set ON_ERROR_STOP on

CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
