#!/usr/bin/env python3
"""Intake benchmark: `deferment run` on a generated national roster and registry, against the
sqlite3 shell's `.import` of the same roster CSV into a bare table, in the same invocation.

Prints wall time, the ratio to the reference and the peak RSS of each process (from wait4's
rusage, so each figure is that process's own). Goals (issue 2): ratio <= 3, peak RSS <= 500 MB.

Each side is timed --repeat times (default 3): its best time is kept, and the highest peak RSS.

Usage: python3 bench/intake_bench.py [--rows N] [--schools N] [--bin PATH] [--repeat N]
"""
import json, os, shutil, subprocess, sys, time

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

    def best(run):
        """The fastest of --repeat runs, and the highest peak RSS of any of them: the machine's
        noise only ever adds time, so each side's time is taken at its best, while memory is
        taken at its worst."""
        runs = [run() for _ in range(args.repeat)]
        return min(t for t, _ in runs), max(m for _, m in runs)

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

    ref_s, ref_rss = best(reference)
    full_s, full_rss = best(lambda: ours("root-full", False))
    roster_s, roster_rss = best(lambda: ours("root-roster", True))

    rows = [
        ("sqlite3 .import (reference)", ref_s, ref_rss, 1.0),
        ("deferment run: registry + roster", full_s, full_rss, full_s / ref_s),
        ("deferment run: roster only", roster_s, roster_rss, roster_s / ref_s),
    ]
    print(f"\n{args.rows} rows, {args.schools} schools, roster {size_mb:.0f} MB; best of {args.repeat} runs each")
    print(f"{'what':36} {'seconds':>8} {'peak RSS MB':>12} {'× reference':>12}")
    for name, s, rss, ratio in rows:
        print(f"{name:36} {s:8.2f} {rss:12.0f} {ratio:12.2f}")
    print(f"\ngoal: ≤ 3.00× and ≤ 500 MB — registry + roster: {'met' if full_s / ref_s <= 3 else 'NOT met'} (time), "
          f"{'met' if full_rss <= 500 else 'NOT met'} (memory); roster only: {'met' if roster_s / ref_s <= 3 else 'NOT met'} (time)")
    json.dump({"rows": args.rows, "reference_s": ref_s, "full_s": full_s, "roster_only_s": roster_s,
               "full_peak_rss_mb": full_rss, "roster_peak_rss_mb": roster_rss,
               "ratio_full": full_s / ref_s, "ratio_roster_only": roster_s / ref_s},
              open(os.path.join(args.out, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
