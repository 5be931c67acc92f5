#!/bin/bash
# Interleaved A/B of `deferment` binaries on the site bench's million-row root.
#
#   bench/publish_ab.sh ROUNDS LABEL=BINARY LABEL=BINARY ...
#
# Runs `publish --force` of bench/out/root-site (run `python3 bench/site_bench.py` once first to
# build it) with each binary once per round, in the order given in odd rounds and reversed in
# even ones. Each build's site is moved aside into bench/out/trash (removed when the script ends)
# rather than deleted: on this machine's ext4, files created within a minute of deleting
# thousands are slow (see bench/README.md, site build). Prints each run's wall and CPU time
# (user + system), then each binary's best and median, and for each binary after the first the
# geometric mean over the rounds of its wall and CPU time divided by the first binary's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
root="$here/out/root-site"
trash="$here/out/trash"
[ -f "$root/state/deferment.sqlite" ] || { echo "run python3 bench/site_bench.py first" >&2; exit 2; }
rounds=$1; shift
results=$(mktemp)
timing=$(mktemp)
trap 'rm -f "$results" "$timing"; rm -rf "$trash"' EXIT
mkdir -p "$trash"
configs=("$@")
. "$(dirname "$0")/ab_rounds.sh"
for r in $(seq "$rounds"); do
  mapfile -t order < <(round_order "$r" "${configs[@]}")
  for config in "${order[@]}"; do
    label=${config%%=*}; binary=${config#*=}
    [ -d "$root/outbox/site" ] && mv "$root/outbox/site" "$trash/site-$r-$label"
    sync
    /usr/bin/time -f "%e %U %S" -o "$timing" "$binary" publish --force --root "$root" \
      --seeds "$repo/seeds" --templates "$repo/templates" >/dev/null 2>&1
    read -r wall user sys < "$timing"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    echo "$r $label $wall $cpu" >> "$results"
    printf 'round %d  %-10s wall %6.2f s  cpu %6.2f s\n' "$r" "$label" "$wall" "$cpu"
  done
done
python3 - "$results" "${configs[0]%%=*}" <<'PY'
import collections, math, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
first = sys.argv[2]
by = collections.defaultdict(dict)
for r, label, wall, cpu in rows:
    by[label][r] = (float(wall), float(cpu))
for label, runs in by.items():
    walls = [w for w, _ in runs.values()]
    cpus = [c for _, c in runs.values()]
    line = f"{label:10s} wall best {min(walls):.2f} median {statistics.median(walls):.2f}  cpu best {min(cpus):.2f} median {statistics.median(cpus):.2f}"
    if label != first:
        rw = [runs[r][0] / by[first][r][0] for r in runs if r in by[first]]
        rc = [runs[r][1] / by[first][r][1] for r in runs if r in by[first]]
        line += f"  vs {first}: wall {math.exp(statistics.mean(map(math.log, rw))):.3f}, cpu {math.exp(statistics.mean(map(math.log, rc))):.3f}"
    print(line)
PY
