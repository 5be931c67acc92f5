#!/usr/bin/env python3
"""Intake benchmark: `deferment run` on a generated national roster and registry, against the
sqlite3 shell's `.import` of the same roster CSV into a bare table, in the same invocation.

Prints wall time, the ratio to the reference and the peak RSS of each process (from wait4's
rusage, so each figure is that process's own). Goals (issue 2): ratio <= 3, peak RSS <= 500 MB.

The three runs (reference, registry + roster, roster only) are interleaved, one of each per
round, for --repeat rounds (default 3): this machine's speed drifts by a third within minutes,
and timing each side in a block of its own would compare one side's fast minutes with another's
slow ones. Each side's best time is kept (noise only adds time) with the highest peak RSS; each
round's own ratios are printed too, with their median, to show how much the machine moved.

Usage: python3 bench/intake_bench.py [--rows N] [--schools N] [--bin PATH] [--repeat N]
"""
import json, os, shutil, statistics, subprocess, sys, time

from common import SEEDS, TEMPLATES, fresh_root, generated_input, parse_args


def timed(cmd, **kw):
    """Runs cmd; returns (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024.0


def main():
    args = parse_args()
    seeds = SEEDS
    roster, registry = generated_input(args)
    size_mb = os.path.getsize(roster) / 1e6

    # Reference: the sqlite3 shell importing the same CSV into a bare table.
    ref_db = os.path.join(args.out, "import.sqlite")

    def reference():
        if os.path.exists(ref_db):
            os.remove(ref_db)
        return timed(["sqlite3", ref_db, ".mode csv", f".import {roster} roster"])

    def ours(path, registry_first):
        """`deferment run` on a fresh root: the registry and roster dropped together, or (with
        registry_first) the registry applied beforehand, untimed, and then the roster alone."""
        root = fresh_root(os.path.join(args.out, path))
        shutil.copy(registry, os.path.join(root, "inbox/registry"))
        cmd = [args.bin, "run", "--root", root, "--seeds", seeds, "--templates", TEMPLATES, "--settle", "0", "--no-site"]
        if registry_first:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        shutil.copy(roster, os.path.join(root, "inbox/rosters"))
        return timed(cmd, stdout=subprocess.DEVNULL)

    # One of each per round; the best time of each side (noise only adds time) and its highest
    # peak RSS (memory is taken at its worst).
    rounds = []
    for r in range(args.repeat):
        ref = reference()
        full = ours("root-full", False)
        roster_only = ours("root-roster", True)
        rounds.append((ref, full, roster_only))
        print(f"round {r + 1}: reference {ref[0]:.2f} s, registry + roster {full[0]:.2f} s ({full[0] / ref[0]:.2f}×), "
              f"roster only {roster_only[0]:.2f} s ({roster_only[0] / ref[0]:.2f}×)", flush=True)
    ref_s, ref_rss = min(x[0][0] for x in rounds), max(x[0][1] for x in rounds)
    full_s, full_rss = min(x[1][0] for x in rounds), max(x[1][1] for x in rounds)
    roster_s, roster_rss = min(x[2][0] for x in rounds), max(x[2][1] for x in rounds)
    median_full = statistics.median(x[1][0] / x[0][0] for x in rounds)
    median_roster = statistics.median(x[2][0] / x[0][0] for x in rounds)

    rows = [
        ("sqlite3 .import (reference)", ref_s, ref_rss, 1.0),
        ("deferment run: registry + roster", full_s, full_rss, full_s / ref_s),
        ("deferment run: roster only", roster_s, roster_rss, roster_s / ref_s),
    ]
    print(f"\n{args.rows} rows, {args.schools} schools, roster {size_mb:.0f} MB; best of {args.repeat} interleaved runs each")
    print(f"{'what':36} {'seconds':>8} {'peak RSS MB':>12} {'× reference':>12}")
    for name, s, rss, ratio in rows:
        print(f"{name:36} {s:8.2f} {rss:12.0f} {ratio:12.2f}")
    print(f"median of the rounds' own ratios: registry + roster {median_full:.2f}×, roster only {median_roster:.2f}×")
    print(f"\ngoal: ≤ 3.00× and ≤ 500 MB — registry + roster: {'met' if full_s / ref_s <= 3 else 'NOT met'} (time), "
          f"{'met' if full_rss <= 500 else 'NOT met'} (memory); roster only: {'met' if roster_s / ref_s <= 3 else 'NOT met'} (time)")
    json.dump({"rows": args.rows, "reference_s": ref_s, "full_s": full_s, "roster_only_s": roster_s,
               "full_peak_rss_mb": full_rss, "roster_peak_rss_mb": roster_rss,
               "ratio_full": full_s / ref_s, "ratio_roster_only": roster_s / ref_s,
               "median_round_ratio_full": median_full, "median_round_ratio_roster_only": median_roster,
               "rounds": [{"reference_s": a[0], "full_s": b[0], "roster_only_s": c[0]} for a, b, c in rounds]},
              open(os.path.join(args.out, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
