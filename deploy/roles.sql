-- A least-privilege role for optidb's read-only commands (scan, bottlenecks,
-- simulate). Run as a superuser, in every database optidb should analyse.
--
-- pg_read_all_stats: see every session's statement texts in pg_stat_statements
--                    (without it, other users' queries show as <insufficient privilege>).
-- pg_monitor includes pg_read_all_stats and pg_read_all_settings.

CREATE ROLE optidb LOGIN PASSWORD 'change-me' CONNECTION LIMIT 4;
GRANT pg_monitor TO optidb;

-- The extensions optidb reads (pg_stat_statements) and uses for what-if
-- simulation (hypopg: hypothetical indexes live only in optidb's session).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS hypopg;

-- Make sure optidb's sessions can never run long or wait on locks for long,
-- even when started with other settings.
ALTER ROLE optidb SET statement_timeout = '5s';
ALTER ROLE optidb SET lock_timeout = '1s';
ALTER ROLE optidb SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE optidb SET default_transaction_read_only = on;

-- `optidb apply` (index builds) needs more: the owner of the tables, or a
-- role that is a member of the owner. Use a separate role for it, e.g.:
--   CREATE ROLE optidb_apply LOGIN PASSWORD 'change-me';
--   GRANT app_owner TO optidb_apply;
