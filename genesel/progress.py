"""Progress with an estimated end for the long loops (splits, κ path, SGD epochs, stability halves, signal
permutations, HSIC kernels), written so that ``tail -f`` on a job's log tells how far the job is.

One helper, :func:`progress`, wraps tqdm. On a terminal it is tqdm's bar. Written to anything else (a
Snakemake job's log, where stderr is redirected to a file) it prints plain lines instead of carriage-return
updates, at most one every ``GENESEL_PROGRESS_SECONDS`` seconds (default 10), each with the time spent, the
time left at the average rate so far and the clock time of the estimated end::

    kappa path 7/20 [00:31 elapsed, 00:58 left, ends ~08:41:07]
    kappa path 20/20 done in 01:29

A loop that ends within that interval prints nothing. ``TQDM_DISABLE=1`` turns every bar off.
"""

from __future__ import annotations

import io
import os
import sys

from tqdm import tqdm

#: seconds between two lines in a log file (environment variable; 0 prints every update)
INTERVAL_VARIABLE = "GENESEL_PROGRESS_SECONDS"

_FORMATS = {
    "start": "{desc} {n_fmt}/{total_fmt}{postfix}",
    "running": "{desc} {n_fmt}/{total_fmt} [{elapsed} elapsed, {remaining} left, ends ~{eta:%H:%M:%S}]{postfix}",
    "done": "{desc} {n_fmt}/{total_fmt} done in {elapsed}{postfix}",
}


class _Lines(io.TextIOBase):
    """A text stream for tqdm that turns its in-place updates (``\\r`` + bar + padding) into lines, each
    written once (closing a bar repeats its last update)."""

    def __init__(self, stream) -> None:
        self.stream, self.last = stream, None

    def write(self, s: str) -> int:
        line = s.replace("\r", "").rstrip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = line
        return len(s)

    def flush(self) -> None:
        self.stream.flush()


class _LogBar(tqdm):
    """tqdm written as lines: no bar, the estimated end as a clock time, the final line says done."""

    monitor_interval = 0  # no monitor thread: miniters is 1, there is nothing for it to adjust

    def set_postfix_str(self, s: str = "", refresh: bool = False) -> None:
        """The postfix shows from the next line on (a line of its own for it would repeat the last one)."""
        super().set_postfix_str(s, refresh=False)

    closing = False

    @staticmethod
    def format_meter(n, total, elapsed, closing=False, **kwargs):
        stage = "done" if closing or (total and n >= total) else "running" if n else "start"
        kwargs["bar_format"] = _FORMATS[stage]
        return tqdm.format_meter(n, total, elapsed, **kwargs)

    @property
    def format_dict(self):
        return {**super().format_dict, "closing": self.closing}

    def __iter__(self):
        """tqdm's iteration, except that a pass left by ``break`` or ``return`` counts as done: the call sites
        leave their loops after a pass's work (a path that stopped, models that all settled)."""
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        except GeneratorExit:
            self.n += 1
            raise
        finally:
            self.close()

    def close(self) -> None:
        """The last line says done, also where the loop ended early (a path that stopped, models that
        settled before their epoch budget)."""
        self.closing = True
        super().close()


def interval() -> float:
    """Seconds between two lines in a log file (:data:`INTERVAL_VARIABLE`, default 10)."""
    value = os.environ.get(INTERVAL_VARIABLE, "10")
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ValueError(f"{INTERVAL_VARIABLE} must be a number of seconds, got {value!r}") from None


def progress(iterable=None, *, total: int | None = None, desc: str, stream=None) -> tqdm:
    """A progress meter over ``iterable`` (or ``total`` steps, advanced with ``.update(n)``) named ``desc``,
    written to ``stream`` (default: stderr): tqdm's bar on a terminal, plain lines with the estimated end
    elsewhere (see the module docstring). The time left is from the average rate, not a recent one, since
    the steps of a path or a grid differ in cost."""
    stream = sys.stderr if stream is None else stream
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, total=total, desc=desc, file=stream, smoothing=0, leave=False, dynamic_ncols=True)
    every = interval()
    # position=0: no cursor movement for nested bars; delay: a loop shorter than the interval prints nothing
    return _LogBar(iterable, total=total, desc=desc, file=_Lines(stream), smoothing=0, mininterval=every,
                   maxinterval=max(every, 1.0), miniters=1, delay=every, position=0, leave=True, ascii=True)
