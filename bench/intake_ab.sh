#!/bin/bash
# Interleaved A/B of two `deferment` binaries on the intake bench's registry + roster.
#
#   bench/intake_ab.sh ROUNDS LABEL=BINARY LABEL=BINARY ...
#
# Runs each binary once per round on a fresh root with the generated registry and roster dropped
# together (run `python3 bench/intake_bench.py` once first to generate them), in the order given
# in odd rounds and in the reverse order in even ones, so that neither side always runs second.
# Prints each run's registry and roster times (from the desk's own log), its wall time and its
# CPU time (user + system), then each binary's best and median, and for each binary after the
# first, the geometric mean over the rounds of its wall and CPU time divided by the first
# binary's in the same round: this machine's speed drifts by a third within minutes, and runs
# next to each other drift least.
#
# With REGISTRY_ONLY=1 in the environment, only the registry extract is dropped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
rounds=$1; shift
[ -f "$out/registry.csv" ] && [ -f "$out/roster-20261115.csv" ] || { echo "run python3 bench/intake_bench.py first" >&2; exit 2; }
results=$(mktemp)
timing=$(mktemp)
root="$out/ab-root"
trap 'rm -f "$results" "$timing"; rm -rf "$root"' EXIT
configs=("$@")
. "$(dirname "$0")/ab_rounds.sh"
for r in $(seq "$rounds"); do
  mapfile -t order < <(round_order "$r" "${configs[@]}")
  for cfg in "${order[@]}"; do
    label=${cfg%%=*}; bin=${cfg#*=}
    rm -rf "$root" && mkdir -p "$root/inbox/registry" "$root/inbox/rosters"
    cp "$out/registry.csv" "$root/inbox/registry/"
    [ -n "${REGISTRY_ONLY:-}" ] || cp "$out/roster-20261115.csv" "$root/inbox/rosters/"
    # A run that fails stops the comparison, with its log: its time would mean nothing.
    if ! log=$(/usr/bin/time -o "$timing" -f "%e %U %S" "$bin" run --root "$root" --seeds "$here/../seeds" \
                 --templates "$here/../templates" --settle 0 --no-site 2>&1 >/dev/null); then
      echo "$label failed in round $r:" >&2; echo "$log" >&2; exit 1
    fi
    files=$(echo "$log" | grep -oE "（[0-9.]+ 秒）" | tr -d '（秒）' | tr '\n' ' ')
    read -r wall user sys < <(tail -1 "$timing")
    [ -n "${REGISTRY_ONLY:-}" ] && files="$files 0"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    echo "$r $label $files $wall $cpu" | tee -a "$results"
  done
done
python3 - "$results" "${configs[0]%%=*}" <<'PY'
import collections, math, statistics, sys
runs = collections.defaultdict(dict)   # label -> round -> (registry, roster, wall, cpu)
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 6: runs[p[1]][p[0]] = tuple(map(float, p[2:6]))
first = sys.argv[2]
for label, by_round in runs.items():
    v = list(by_round.values())
    wall = [x[2] for x in v]
    print(f"{label:12} wall best {min(wall):.2f} s, median {statistics.median(wall):.2f} s | registry best {min(x[0] for x in v):.1f} s"
          f" | roster best {min(x[1] for x in v):.1f} s | CPU median {statistics.median(x[3] for x in v):.2f} s ({len(v)} runs)")
for label, by_round in runs.items():
    if label == first: continue
    pairs = [(by_round[r], runs[first][r]) for r in by_round if r in runs[first]]
    gm = lambda k: math.exp(sum(math.log(b[k] / a[k]) for b, a in pairs) / len(pairs))
    print(f"{label} / {first}, same round: wall {gm(2):.3f}, CPU {gm(3):.3f} (geometric mean of {len(pairs)} rounds)")
PY
