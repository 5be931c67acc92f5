#!/bin/bash
# Interleaved A/B of two `deferment` binaries on the intake bench's registry + roster.
#
#   bench/intake_ab.sh ROUNDS LABEL=BINARY LABEL=BINARY ...
#
# Runs each binary once per round, in the order given, on a fresh root with the generated
# registry and roster dropped together (run `python3 bench/intake_bench.py` once first to
# generate them), and prints each run's registry and roster times (from the desk's own log) and
# its wall time, then the best and median per binary. For comparing two builds on a machine
# whose speed drifts: give the binaries in both orders in two invocations.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
rounds=$1; shift
[ -f "$out/registry.csv" ] && [ -f "$out/roster-20261115.csv" ] || { echo "run python3 bench/intake_bench.py first" >&2; exit 2; }
results=$(mktemp)
for r in $(seq "$rounds"); do
  for cfg in "$@"; do
    label=${cfg%%=*}; bin=${cfg#*=}
    root="$out/ab-root"
    rm -rf "$root" && mkdir -p "$root/inbox/registry" "$root/inbox/rosters"
    cp "$out/registry.csv" "$root/inbox/registry/" && cp "$out/roster-20261115.csv" "$root/inbox/rosters/"
    line=$( { /usr/bin/time -f "%e" "$bin" run --root "$root" --seeds "$here/../seeds" --templates "$here/../templates" \
              --settle 0 --no-site >/dev/null; } 2>&1 | grep -oE "（[0-9.]+ 秒）|^[0-9.]+$" | tr -d '（秒）' | tr '\n' ' ')
    echo "$label $line" | tee -a "$results"
  done
done
rm -rf "$out/ab-root"
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 4: runs[p[0]].append(tuple(map(float, p[1:4])))
for label, v in runs.items():
    total = [x[2] for x in v]
    print(f"{label:12} wall best {min(total):.2f} s, median {statistics.median(total):.2f} s | registry best {min(x[0] for x in v):.1f} s"
          f" | roster best {min(x[1] for x in v):.1f} s ({len(v)} runs)")
PY
rm -f "$results"
