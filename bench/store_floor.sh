#!/bin/bash
# The storage floor of intake: what the sqlite3 shell itself takes to store the rows a
# `deferment run` stored, with no parsing, checking or binding, against the intake bench's
# reference (`.import` of the roster CSV into a bare table), in the same invocation.
#
#   bench/store_floor.sh [ROUNDS]
#
# Needs bench/out/root-full from `python3 bench/intake_bench.py` (its database holds the
# million roster rows and the registry as the desk stored them). Copies the desk's own schema
# (person, roster_row and the roster's two indexes) into an empty database with the desk's page
# size and inserts:
#   - the roster rows in the order the desk stored them (sorted chunks), with both indexes;
#   - the same rows into the bare table alone, then with only the unique key index;
#   - the registry's people in the extract's order, and in ID order (the best case).
# Prints the best of ROUNDS (default 2) for each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
src="$out/root-full/state/deferment.sqlite"
rounds=${1:-2}
[ -f "$src" ] && [ -f "$out/roster-20261115.csv" ] || { echo "run python3 bench/intake_bench.py first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table=$(sqlite3 "$src" ".schema roster_row" | grep -v "^CREATE INDEX\|^CREATE UNIQUE INDEX" | sed 's/REFERENCES input_file(id)//')
key=$(sqlite3 "$src" "SELECT sql FROM sqlite_schema WHERE name = 'roster_row_key'")
county=$(sqlite3 "$src" "SELECT sql FROM sqlite_schema WHERE name = 'roster_row_county'")
person=$(sqlite3 "$src" "SELECT sql FROM sqlite_schema WHERE name = 'person'")
# The desk's page size, which a new database takes from its first statement.
page="PRAGMA page_size = $(sqlite3 "$src" "PRAGMA page_size")"
# The registry's people as stored, in the extract's order (untimed).
sqlite3 "$work/extract.db" ".mode csv" ".import $out/registry.csv raw" "ATTACH '$src' AS s" \
  "CREATE TABLE ordered AS SELECT p.* FROM raw JOIN s.person p ON p.national_id = raw.\"身分證字號\" ORDER BY raw.rowid" "DROP TABLE raw"

best() { # label, setup SQL, insert SQL
  local label=$1 setup=$2 insert=$3 best=""
  for _ in $(seq "$rounds"); do
    rm -f "$work/x.db"
    # The reference (no setup) as intake_bench.py runs it: the shell's defaults.
    if [ -n "$setup" ]; then sqlite3 "$work/x.db" "$page" "$setup"; fi
    local t
    t=$( { /usr/bin/time -f "%e" sqlite3 "$work/x.db" "PRAGMA cache_size = -262144" "ATTACH '$src' AS s" \
           "ATTACH '$work/extract.db' AS e" "$insert" >/dev/null; } 2>&1 | tail -1)
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  printf "%-58s %6.2f s\n" "$label" "$best"
}

best "reference: .import of the roster CSV into a bare table" "" ".import --csv $out/roster-20261115.csv roster"
best "roster rows, bare table only" "$table" "INSERT INTO roster_row SELECT * FROM s.roster_row ORDER BY id"
best "roster rows, table + unique key index" "$table; $key" "INSERT INTO roster_row SELECT * FROM s.roster_row ORDER BY id"
best "roster rows, table + both indexes (as the desk stores)" "$table; $key; $county" "INSERT INTO roster_row SELECT * FROM s.roster_row ORDER BY id"
best "registry people, extract order" "$person" "INSERT INTO person SELECT * FROM e.ordered ORDER BY rowid"
best "registry people, ID order (best case)" "$person" "INSERT INTO person SELECT * FROM s.person ORDER BY national_id"
