"""Readable runs: one console line per log step, TensorBoard events, progress."""
import logging
import pathlib
import struct

import numpy as np
from tensorboardX.proto import event_pb2

from gaitjax import progress as progress_lib
from gaitjax.train import loop


def read_scalars(folder: pathlib.Path):
  """{tag: [(step, value)]} from the TFRecord-framed event files in folder."""
  out = {}
  for path in sorted(folder.glob("events.out.tfevents.*")):
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack("<Q", data[pos:pos + 8])
      record = data[pos + 12:pos + 12 + length]     # skip length's crc
      pos += 12 + length + 4                        # and the data's crc
      event = event_pb2.Event.FromString(record)
      for v in event.summary.value:
        out.setdefault(v.tag, []).append((event.step, v.simple_value))
  return out


def test_metrics_writer_writes_tensorboard_and_jsonl(tmp_path, caplog):
  writer = loop.MetricsWriter(tmp_path)
  with caplog.at_level(logging.INFO):
    writer.write(10, {"loss": 0.5, "mse": 0.25, "steps_per_s": 2.0},
                 "10/100 steps, 2.00 steps/s, elapsed 0:00:05, ETA 0:00:45")
    writer.write(20, {"loss": 0.4, "val_loss": 0.45})
  writer.close()
  scalars = read_scalars(tmp_path / loop.TENSORBOARD_DIR)
  assert scalars["loss"] == [(10, 0.5), (20, np.float32(0.4))]
  assert scalars["val_loss"] == [(20, np.float32(0.45))]
  assert scalars["steps_per_s"] == [(10, 2.0)]
  lines = (tmp_path / loop.METRICS_FILE).read_text().splitlines()
  assert len(lines) == 2
  info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
  assert info == ["[10] loss = 0.5 | 10/100 steps, 2.00 steps/s, elapsed "
                  "0:00:05, ETA 0:00:45", "[20] loss = 0.4, val_loss = 0.45"]


def test_progress_lines_are_rate_limited(caplog):
  now = [0.0]
  p = progress_lib.Progress("pairs", 100, every_s=10.0, clock=lambda: now[0])
  logged = []
  with caplog.at_level(logging.INFO):
    for done, t in ((10, 1.0), (20, 5.0), (50, 12.0), (100, 13.0)):
      now[0] = t
      logged.append(p.update(done))
  assert logged == [True, False, True, True]
  assert "pairs: 50/100 (4.2/s, ETA 12 s)" in caplog.text
