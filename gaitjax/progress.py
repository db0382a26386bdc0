"""Progress lines for long loops: one log line every so often with rate/ETA.

    progress = Progress("generated pairs", total=len(pairs))
    for ...:
      progress.update(done)        # logs at most every ``every_s`` seconds
                                   # and always when done == total

Used by the evaluation job, the batch sampling job, dataset builds and
the trainer's step lines (``eta_seconds``).
"""
import logging
import math
import time
from typing import Callable, Optional

_LOG_EVERY_S = 10.0          # progress lines at most this often (and at end)


def eta_seconds(done: float, total: float, elapsed: float) -> float:
  """Seconds left at the average rate so far (inf before any progress)."""
  if done <= 0:
    return math.inf
  return (total - done) * elapsed / done


def log_progress(label: str, done: int, total: int, start: float) -> None:
  """'<label>: done/total (rate/s, ETA s)' at INFO; ``start`` = time.time()."""
  elapsed = time.time() - start
  rate = done / max(elapsed, 1e-9)
  logging.info("%s: %d/%d (%.1f/s, ETA %.0f s)", label, done, total, rate,
               (total - done) / rate)


class Progress:
  """Rate-limited progress lines of one loop over ``total`` items.

  Args:
    label: names the loop in each line.
    total: number of items.
    every_s: at most one line per this many seconds (plus the last one).
    clock: time source (tests pass a fake).
  """

  def __init__(self, label: str, total: int, *, every_s: float = _LOG_EVERY_S,
               clock: Callable[[], float] = time.time):
    self.label = label
    self.total = int(total)
    self.every_s = float(every_s)
    self._clock = clock
    self.start = clock()
    self._last: Optional[float] = None

  def update(self, done: int) -> bool:
    """Logs a line when due; True when it did."""
    now = self._clock()
    due = (done >= self.total or self._last is None
           or now - self._last >= self.every_s)
    if not due:
      return False
    self._last = now
    elapsed = now - self.start
    rate = done / max(elapsed, 1e-9)
    logging.info("%s: %d/%d (%.1f/s, ETA %.0f s)", self.label, done,
                 self.total, rate, (self.total - done) / max(rate, 1e-9))
    return True
