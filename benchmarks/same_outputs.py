"""Do two revisions of genesel write the same outputs? A behaviour check for refactorings.

Each revision is exported with ``git archive`` into a temporary folder and run, with only its own ``genesel``
on ``PYTHONPATH``, on the simulated dataset GDSTINY1 of ``.test/config/config.yaml`` (45 arrays, 150 probes,
3 classes, grouped, 2 splits): ``genesel simulate``, ``prepare``, then ``select``, ``stability`` and ``rank``
of every method with that config's settings. Then every table (TSV/CSV) is compared byte for byte with its
``seconds`` column removed, and every array of every ``.npz`` exactly (dtype, shape and bytes).

    python benchmarks/same_outputs.py 066b20b HEAD                  # all seven methods
    python benchmarks/same_outputs.py 066b20b HEAD --methods limma spred
    python benchmarks/same_outputs.py --compare OUT_A OUT_B         # two output folders already written

Prints one line per file and exits 1 if any differs. Runs single-threaded (OMP_NUM_THREADS=1); a few minutes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".test" / "config" / "config.yaml"
DATASET = "GDSTINY1"
TIMING = {"seconds"}  # wall time: the one column allowed to differ


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` as plain files under ``into``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(rev: str, out: Path, methods: list[str]) -> None:
    """Run the small pipeline of ``rev`` into ``out`` (in ``out``, with relative paths: the dataset records
    its source file's path)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = export(rev, Path(tmp))
        config = yaml.safe_load(CONFIG.read_text())
        env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cli = [sys.executable, "-m", "genesel.cli"]

        def genesel(*args) -> None:
            subprocess.run([*cli, *map(str, args)], check=True, env=env, cwd=out,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        sim = config["datasets"][DATASET]["simulate"]
        genesel("simulate", "--out", "sim", "--name", DATASET, "--samples", sim["samples"], "--probes",
                sim["probes"], "--classes", sim["classes"], "--seed", sim["seed"], "--patient-effect",
                sim["patient_effect"])
        soft = next((out / "sim").glob(f"{DATASET}*full.soft.gz")).relative_to(out)
        ds, splits = Path("dataset.npz"), Path("splits.tsv")
        genesel("prepare", soft, "--label", config["datasets"][DATASET]["label_type"], "--group",
                config["datasets"][DATASET]["group"], "--splits", config["splits"]["n"], "--seed",
                config["splits"]["seed"], "--dataset-out", ds, "--splits-out", splits)
        st, seed = config["stability"], config["splits"]["seed"]
        for method in methods:
            params = json.dumps({k: v for k, v in config["methods"][method].items() if k != "mem_mb"})
            fit, stab = Path("fits", f"{method}.npz"), Path("stability", f"{method}.npz")
            (out / "fits").mkdir(exist_ok=True)
            (out / "stability").mkdir(exist_ok=True)
            genesel("select", "--method", method, "--dataset", ds, "--splits", splits, "--params", params,
                    "--device", "cpu", "--seed", seed, "--threads", 1, "--out", fit)
            genesel("stability", "--method", method, "--dataset", ds, "--fit", fit, "--params", params,
                    "--pairs", st["pairs"], "--threshold", st["threshold"], "--max-false", st["max_false"],
                    "--device", "cpu", "--seed", seed, "--threads", 1, "--out", stab)
            genesel("rank", "--dataset", ds, "--fit", fit, "--splits", splits, "--stability", stab,
                    "--out", Path("genes", f"{method}.csv"))
            print(f"{rev}: {method} done", flush=True)


def _table(path: Path) -> list[str]:
    """A table's lines with its timing columns removed (everything else kept byte for byte)."""
    sep = "\t" if path.suffix == ".tsv" else ","
    lines = path.read_text().splitlines()
    if not lines:
        return lines
    header = lines[0].split(sep)
    keep = [i for i, name in enumerate(header) if name not in TIMING]
    return [sep.join(cells[i] for i in keep if i < len(cells)) for cells in (line.split(sep) for line in lines)]


def _arrays(path: Path) -> dict[str, tuple]:
    with np.load(path, allow_pickle=False) as data:
        return {k: (data[k].dtype.str, data[k].shape, data[k].tobytes()) for k in data.files}


def compare(a: Path, b: Path) -> bool:
    """Print one line per output file; True when every one is the same."""
    files = sorted({p.relative_to(a) for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b) for p in b.rglob("*") if p.is_file()})
    same_all = True
    for rel in files:
        if rel.parts[0] == "sim" and rel.suffix == ".gz":  # gzip stamps a time; compare the simulated data decoded
            import gzip
            reader = lambda p: gzip.decompress(p.read_bytes())  # noqa: E731
        elif rel.suffix in (".tsv", ".csv"):
            reader = _table
        elif rel.suffix == ".npz":
            reader = _arrays
        else:
            reader = lambda p: p.read_bytes()  # noqa: E731
        if not (a / rel).exists() or not (b / rel).exists():
            same, note = False, "missing in " + ("A" if not (a / rel).exists() else "B")
        else:
            same = reader(a / rel) == reader(b / rel)
            note = "same" if same else "DIFFERS"
        same_all &= same
        print(f"{note:>12}  {rel}")
    return same_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="*", metavar="REV", help="two git revisions (default: HEAD~1 HEAD)")
    parser.add_argument("--compare", nargs=2, metavar="OUT", help="compare two output folders, run nothing")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method of the .test config")
    parser.add_argument("--keep", help="folder to keep both revisions' outputs in (A/ and B/)")
    args = parser.parse_args(argv)
    if args.compare:
        return 0 if compare(Path(args.compare[0]), Path(args.compare[1])) else 1
    revs = args.revisions or ["HEAD~1", "HEAD"]
    methods = args.methods or list(yaml.safe_load(CONFIG.read_text())["methods"])
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="same_outputs_"))
    for rev, name in zip(revs, "AB"):
        (base / name).mkdir(parents=True, exist_ok=True)
        run(rev, (base / name).resolve(), methods)
    same = compare(base / "A", base / "B")
    print(f"{revs[0]} vs {revs[1]}, {', '.join(methods)}: {'the same' if same else 'DIFFERENT'} ({base})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
