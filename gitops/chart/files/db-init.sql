-- Creates the customer's role and database on the shared PostgreSQL server if they are
-- missing. Run by the Job NAME-db-init on every Argo CD sync of the customer, so it
-- must be idempotent: it creates what is missing, sets the role's password to the
-- generated one (the Secret is the source of truth), closes the database to every other
-- role, and never drops or changes anything else.
--
-- psql variables, set by the Job: role, dbname. The password comes from the environment
-- (ROLE_PASSWORD), so it is on no command line and in no manifest. Identifiers go in as
-- :"name" and values as :'value': psql quotes them, whatever they hold.
\set ON_ERROR_STOP on
\getenv role_password ROLE_PASSWORD

-- There is no CREATE ROLE IF NOT EXISTS: select the statement only when it is needed.
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role')
\gexec

ALTER ROLE :"role" WITH LOGIN PASSWORD :'role_password';

-- PostgreSQL 16 and newer let a non-superuser admin make a role a database's owner
-- only if it may SET ROLE to it; a repeated grant is a notice, not an error.
GRANT :"role" TO CURRENT_USER;

-- CREATE DATABASE cannot run inside a function or transaction (a DO block): \gexec
-- runs the statement the query returns, if any.
SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'dbname')
\gexec

-- By default every role may connect to every database: each customer's is its own.
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT ALL ON DATABASE :"dbname" TO :"role";
