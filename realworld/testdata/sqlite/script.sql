-- script.sql: a small sqlite3 session on a fresh database file: a table
-- filled by a recursive CTE in one transaction, an index, aggregates and a
-- join. Deterministic output.
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, val TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
INSERT INTO t SELECT x, x % 7, printf('v%05d', x * 37 % 5000) FROM c;
COMMIT;
CREATE INDEX t_grp ON t(grp);
SELECT count(*), sum(id), min(val), max(val) FROM t;
SELECT grp, count(*) FROM t GROUP BY grp ORDER BY grp;
CREATE TABLE g(grp INTEGER PRIMARY KEY, name TEXT);
INSERT INTO g VALUES (0, 'zero'), (3, 'three'), (6, 'six');
SELECT g.name, count(*) FROM t JOIN g USING (grp) GROUP BY g.name ORDER BY g.name;
PRAGMA integrity_check;
