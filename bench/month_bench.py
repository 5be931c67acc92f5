"""A national month onto a year of history (the latency issue): how long from a roster's drop
until every school's results are published.

The history (generated once and cached under --out): 500 schools, a registry, and 11 monthly
rosters of 40,000 rows (2025-12-15 … 2026-10-15) applied and published. For each of --repeat
runs, a copy of it gets `deferment watch`; then
- a 20,000-row month (other students) is dropped by atomic rename as roster-20261115.csv, and
- one school's 20-row resend of that month,
each timed from the rename until `outbox/site/manifest.json` is replaced (the last file a publish
writes). Prints the best and the median, and the publish's own summary line (files written).
Account keys use 2,000 PBKDF2 rounds here (DEFERMENT_PBKDF2_ROUNDS): they are made once, untimed.
"""
import json, os, shutil, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SEEDS, TEMPLATES, fresh_root, parse_args  # noqa: E402

MONTHS = ["2025-12-15", "2026-01-15", "2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15", "2026-06-15",
          "2026-07-15", "2026-08-15", "2026-09-15", "2026-10-15"]
ENV = dict(os.environ, DEFERMENT_PBKDF2_ROUNDS="2000")


def generate(args, rows, seed, folder):
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(os.path.join(folder, "roster-20261115.csv")):
        subprocess.run([args.bin, "samples", "--seeds", SEEDS, "--rows", str(rows), "--schools", "500", "--seed", str(seed),
                        "--out", folder], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(folder, "roster-20261115.csv"), os.path.join(folder, "registry.csv")


def history(args):
    """The cached root with 11 months applied and published."""
    base = os.path.join(args.out, "month-history")
    root = os.path.join(base, "root")
    stamp = os.path.join(base, "done.json")
    month_roster, month_registry = generate(args, 20_000, 20261115, os.path.join(base, "rows20k"))
    if os.path.exists(stamp):
        # Brought up to this build's pages (a full build when the code changed; untimed), so that
        # each run's watch starts from a published site.
        subprocess.run([args.bin, "publish", "--root", root, "--seeds", SEEDS, "--templates", TEMPLATES], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        return root, month_roster
    print("building the history (11 × 40,000 rows; once) …", flush=True)
    fresh_root(root)
    common = ["--root", root, "--seeds", SEEDS, "--templates", TEMPLATES, "--settle", "0"]
    shutil.copy(month_registry, os.path.join(root, "inbox/registry", "registry-20261115.csv"))
    # Each month its own students (and their registry records): a roster's bytes differ, so the
    # ledger applies each.
    for i, month in enumerate(MONTHS):
        roster, registry = generate(args, 40_000, 20251215 + i, os.path.join(base, f"rows40k-{i}"))
        compact = month.replace("-", "")
        shutil.copy(registry, os.path.join(root, "inbox/registry", f"registry-{compact}.csv"))
        shutil.copy(roster, os.path.join(root, "inbox/rosters", f"roster-{compact}.csv"))
        subprocess.run([args.bin, "run", "--no-site"] + common, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    subprocess.run([args.bin, "publish", "--root", root, "--seeds", SEEDS, "--templates", TEMPLATES], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    json.dump({"months": MONTHS}, open(stamp, "w"))
    return root, month_roster


def manifest_time(root):
    try:
        return os.stat(os.path.join(root, "outbox/site/manifest.json")).st_mtime_ns
    except FileNotFoundError:
        return 0


def drop_and_wait(root, source, name, log):
    """Renames a file (text, or the path of one to copy) into inbox/rosters/ and waits for the
    next manifest; returns the seconds."""
    before = manifest_time(root)
    temporary = os.path.join(root, "inbox/rosters", "." + name + ".part")
    if os.path.exists(source):
        shutil.copy(source, temporary)
    else:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(source)
    start = time.perf_counter()
    os.rename(temporary, os.path.join(root, "inbox/rosters", name))
    while manifest_time(root) == before:
        time.sleep(0.002)
        if time.perf_counter() - start > 900:
            raise RuntimeError("no publish within 15 minutes:\n" + open(log).read()[-2000:])
    return time.perf_counter() - start


def timings(line):
    """The `name seconds、name seconds…` list after a debug line's `：`, as (name, seconds)."""
    for part in line.split("：", 1)[1].strip().rstrip(" 秒").split("、"):
        key, value = part.rsplit(" ", 1)
        yield key, float(value)


def phases(log_lines, name, total):
    """The desk's own timings of one drop (its --verbose log): the run's phases, the file's
    (ledger, handling, archive), the publish by step; what is left of the total is the watcher
    noticing the drop and what runs between (detect)."""
    out = {}
    for i, line in enumerate(log_lines):
        if f"rosters/{name}：帳本" in line:
            out.update(("file " + key, value) for key, value in timings(line))
            rest = log_lines[i:]
            out.update(("run " + key, value) for key, value in timings(next(l for l in rest if "執行各階段（秒）：" in l)))
            for key, value in timings(next(l for l in rest if "網站各階段（秒）：" in l)):
                if key == "合計":
                    out["publish total"] = value
                    continue
                # Steps on the workers are summed over the threads they ran on.
                out["publish " + key.split(" ")[0] + ("" if key.startswith("讀取") or key.startswith("寫出") else " (thread-s)")] = value
            out["detect and the rest"] = total - sum(v for k, v in out.items() if k.startswith("run ")) - out["publish total"]
            out["drop → published"] = total
            return out
    return out


def start_watch(args, root, log):
    watch = subprocess.Popen([args.bin, "watch", "--root", root, "--seeds", SEEDS, "--templates", TEMPLATES, "--settle", "0",
                              "--verbose"], stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=ENV)
    # The first pass publishes what is there; wait until watch is idle.
    while "網站已更新" not in open(log, encoding="utf-8").read():
        time.sleep(0.05)
        if watch.poll() is not None:
            raise RuntimeError("watch ended:\n" + open(log).read()[-2000:])
    stable = manifest_time(root)
    time.sleep(2)
    while manifest_time(root) != stable:
        stable = manifest_time(root)
        time.sleep(2)
    return watch


def fresh_run_root(args, base_root, k):
    root = os.path.join(args.out, f"month-run-{k}")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base_root, root, symlinks=True)
    # This machine's root file system is ext4 without a journal: a new inode skips every one
    # freed in the last 30 seconds, reading each from disk. Copying the root frees nothing; the
    # runs' roots are removed only when the bench ends (see bench/README.md, site build).
    time.sleep(1)
    return root


def watched(args, root, log, drops):
    """Runs `deferment watch` on a root, drops each (source, name) in turn, timing each until
    the next publish; returns the seconds, the publish lines and each drop's phases."""
    watch = start_watch(args, root, log)
    try:
        seconds = []
        for source, name in drops:
            seconds.append(drop_and_wait(root, source, name, log))
            time.sleep(1)
    finally:
        watch.terminate()
        watch.wait()
    lines = open(log, encoding="utf-8").readlines()
    published = [line.split("網站已更新：", 1)[1] for line in lines if "網站已更新：" in line]
    return seconds, published[-len(drops):], [phases(lines, name, t) for (_, name), t in zip(drops, seconds)]


def one_run(args, base_root, month_roster, resend_text, k):
    root = fresh_run_root(args, base_root, k)
    (month, resend), published, (month_phases, resend_phases) = watched(
        args, root, os.path.join(args.out, f"month-run-{k}.log"),
        [(month_roster, "roster-20261115.csv"), (resend_text, "resend-20261115.csv")])
    return month, resend, published, month_phases, resend_phases


def million_run(args, base_root):
    """A 1,000,000-row month (other students; their registry applied before watch's first
    publish, untimed) dropped onto the same history, once."""
    roster, registry = generate(args, 1_000_000, 20261116, os.path.join(args.out, "month-history", "rows1m"))
    root = fresh_run_root(args, base_root, "1m")
    shutil.copy(registry, os.path.join(root, "inbox/registry", "registry-20261116.csv"))
    (seconds,), (published,), (breakdown,) = watched(args, root, os.path.join(args.out, "month-run-1m.log"),
                                                       [(roster, "roster-20261115.csv")])
    return seconds, published, breakdown


def show(title, breakdown):
    print(f"  {title}: " + "; ".join(f"{k} {v:.3f}" for k, v in breakdown.items() if v >= 0.0005))


def main():
    ap_million = "--no-million" not in sys.argv
    if not ap_million:
        sys.argv.remove("--no-million")
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    base_root, month_roster = history(args)
    for k in list(range(args.repeat)) + ["1m"]:
        if os.path.exists(os.path.join(args.out, f"month-run-{k}")):
            shutil.rmtree(os.path.join(args.out, f"month-run-{k}"), ignore_errors=True)
            open(os.path.join(args.out, "month-deleted"), "w").write(str(time.time()))
    wait_for_freed_inodes(args)
    lines = open(month_roster, encoding="utf-8-sig").read().splitlines()
    header, body = lines[0], lines[1:]
    school_col = header.split(",").index("學校代碼")
    school = body[0].split(",")[school_col]
    resend = [line for line in body if line.split(",")[school_col] == school][:20]
    program_col = header.split(",").index("群科")
    resend = [",".join(c if i != program_col else "資訊科" for i, c in enumerate(line.split(","))) for line in resend]
    resend_text = header + "\n" + "\n".join(resend) + "\n"
    results = [one_run(args, base_root, month_roster, resend_text, k) for k in range(args.repeat)]
    months, resends = [r[0] for r in results], [r[1] for r in results]
    print(f"a 20,000-row month onto 11 × 40,000 rows, 500 schools ({args.repeat} runs):")
    print(f"  drop → published: best {min(months):.2f} s, median {statistics.median(months):.2f} s (goal ≤ 2.0 s)  {['%.2f' % m for m in months]}")
    print(f"  one school's 20-row resend: best {min(resends):.2f} s, median {statistics.median(resends):.2f} s (goal ≤ 0.3 s)  {['%.2f' % m for m in resends]}")
    best_month = min(results, key=lambda r: r[0])
    best_resend = min(results, key=lambda r: r[1])
    for line in best_month[2]:
        print("  publish:", line.strip())
    show("month, seconds by phase (its best run)", best_month[3])
    show("resend, seconds by phase (its best run)", best_resend[4])
    million = None
    if ap_million:
        seconds, line, breakdown = million_run(args, base_root)
        million = {"seconds": seconds, "publish": line, "phases": breakdown}
        print(f"a 1,000,000-row month onto the same history (once, no goal): drop → published {seconds:.2f} s")
        print("  publish:", line.strip())
        show("1,000,000-row month, seconds by phase", breakdown)
    json.dump({"month_s": months, "resend_s": resends, "publish": best_month[2], "month_phases": best_month[3],
               "resend_phases": best_resend[4], "million": million},
              open(os.path.join(args.out, "month_results.json"), "w"), indent=1, ensure_ascii=False)
    for k in list(range(args.repeat)) + ["1m"]:
        shutil.rmtree(os.path.join(args.out, f"month-run-{k}"), ignore_errors=True)
    open(os.path.join(args.out, "month-deleted"), "w").write(str(time.time()))


def wait_for_freed_inodes(args):
    """This machine's root file system is ext4 without a journal, where a new inode skips every
    one freed in the last 30 (35 while unwritten) seconds: files made soon after a large
    deletion cost several times more. The bench's own deletions (its earlier runs' roots) are
    left that long before anything is timed."""
    try:
        deleted = float(open(os.path.join(args.out, "month-deleted")).read())
    except (OSError, ValueError):
        return
    wait = deleted + 40 - time.time()
    if wait > 0:
        print(f"waiting {wait:.0f} s after the last run's deletions …", flush=True)
        time.sleep(wait)


if __name__ == "__main__":
    main()
