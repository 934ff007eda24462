-- Run once by the postgres image on first start (see docker-compose.yml).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS hypopg;
