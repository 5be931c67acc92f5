"""What both benchmarks share: their options, the generated input and fresh desk roots."""
import argparse, json, os, shutil, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEEDS = os.path.join(REPO, "seeds")
TEMPLATES = os.path.join(REPO, "templates")


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--schools", type=int, default=500)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/release/deferment"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (intake bench)")
    return ap.parse_args()


def generated_input(args):
    """The roster and registry of `deferment samples --rows N`, generated once per size."""
    os.makedirs(args.out, exist_ok=True)
    roster = os.path.join(args.out, "roster-20261115.csv")
    registry = os.path.join(args.out, "registry.csv")
    stamp = os.path.join(args.out, "generated.json")
    wanted = {"rows": args.rows, "schools": args.schools}
    if not (os.path.exists(stamp) and json.load(open(stamp)) == wanted and os.path.exists(roster)):
        print(f"generating {args.rows} roster rows and the matching registry …", flush=True)
        subprocess.run([args.bin, "samples", "--seeds", SEEDS, "--rows", str(args.rows),
                        "--schools", str(args.schools), "--out", args.out], check=True)
        json.dump(wanted, open(stamp, "w"))
    return roster, registry


def fresh_root(path):
    """An empty desk root with its drop folders."""
    shutil.rmtree(path, ignore_errors=True)
    for sub in ("inbox/rosters", "inbox/registry"):
        os.makedirs(os.path.join(path, sub))
    return path
