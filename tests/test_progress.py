"""Progress lines with an estimated end in a job's log (genesel.progress)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

from genesel.progress import progress

#: a running line: done/total, time spent, time left and the clock time of the estimated end
RUNNING = re.compile(r"(?P<desc>.+) (?P<n>\d+)/(?P<total>\d+) \[\d\d:\d\d elapsed, \d\d:\d\d left, ends ~\d\d:\d\d:\d\d\]")


def _lines(monkeypatch, seconds: str, loop) -> list[str]:
    monkeypatch.setenv("GENESEL_PROGRESS_SECONDS", seconds)
    stream = io.StringIO()
    loop(stream)
    text = stream.getvalue()
    assert "\r" not in text and (not text or text.endswith("\n"))
    return text.splitlines()


def test_lines_with_estimated_end_and_done(monkeypatch):
    lines = _lines(monkeypatch, "0", lambda s: [None for _ in progress(range(4), desc="splits", stream=s)])
    assert lines[0] == "splits 0/4"
    assert [RUNNING.fullmatch(line)["n"] for line in lines[1:-1]] == ["1", "2", "3"]
    assert re.fullmatch(r"splits 4/4 done in \d\d:\d\d", lines[-1])


def test_loop_that_ends_early_says_done(monkeypatch):
    def loop(stream):
        for k in progress(range(10), desc="kappa path", stream=stream):
            if k == 2:
                break

    lines = _lines(monkeypatch, "0", loop)
    assert re.fullmatch(r"kappa path 3/10 done in \d\d:\d\d", lines[-1])  # the pass it broke out of counts
    assert len(lines) == len(set(lines)), "a line was written twice"


def test_short_loop_prints_nothing(monkeypatch):
    assert _lines(monkeypatch, "10", lambda s: [None for _ in progress(range(100), desc="quick", stream=s)]) == []


def _run(*args, log):
    env = {**os.environ, "GENESEL_PROGRESS_SECONDS": "0"}
    with open(log, "w") as handle:  # as the workflow's rules do: stdout and stderr into the job's log file
        subprocess.run([sys.executable, "-m", "genesel.cli", *args], stdout=handle, stderr=subprocess.STDOUT,
                       env=env, check=True)
    return log.read_text().splitlines()


def test_select_and_stability_logs_show_progress(tmp_path):
    soft = subprocess.run([sys.executable, "-m", "genesel.cli", "simulate", "--out", str(tmp_path), "--samples", "45",
                           "--probes", "60", "--classes", "3", "--seed", "5"], capture_output=True, text=True,
                          check=True).stdout.split()[0]
    data, splits = tmp_path / "d.npz", tmp_path / "s.tsv"
    _run("prepare", soft, "--splits", "3", "--dataset-out", str(data), "--splits-out", str(splits), log=tmp_path / "p.log")
    fit = tmp_path / "l1.npz"
    common = ["--dataset", str(data), "--threads", "1"]
    lines = _run("select", "--method", "l1_logistic", "--splits", str(splits), "--params", json.dumps({"Cs": [0.1, 1.0]}),
                 "--out", str(fit), *common, log=tmp_path / "l1.log")
    running = [RUNNING.fullmatch(line) for line in lines]
    assert [m["n"] for m in running if m and m["desc"] == "splits"] == ["1", "2"]
    # preprocessing comes first: at GDS scale it is half a minute of every job (20 splits of 200 x 54,675)
    assert [m["n"] for m in running if m and m["desc"] == "preprocessing splits"] == ["1", "2"]
    assert any(re.fullmatch(r"splits 3/3 done in \d\d:\d\d", line) for line in lines)
    lines = _run("stability", "--method", "l1_logistic", "--fit", str(fit), "--pairs", "2", "--out",
                 str(tmp_path / "st.npz"), *common, log=tmp_path / "st.log")
    assert [m["n"] for m in map(RUNNING.fullmatch, lines) if m and m["desc"] == "stability halves"] == ["1", "2", "3"]
    assert any(re.fullmatch(r"preprocessing stability halves 4/4 done in \d\d:\d\d", line) for line in lines)
    lines = _run("select", "--method", "spred_linear", "--splits", str(splits), "--out", str(tmp_path / "sl.npz"),
                 "--params", json.dumps({"solver": "path", "n_kappas": 5}), *common, log=tmp_path / "sl.log")
    kappa = [m for m in map(RUNNING.fullmatch, lines) if m and m["desc"] == "kappa path"]
    assert kappa and all(m["total"] == "5" for m in kappa)
