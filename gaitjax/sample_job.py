"""The batch sampling job behind launch/sample.py.

A job is a list of requests (subject, source trial, source speed, target
speed). Each finished request leaves three files, written atomically:
``<out>/<subject>/<subject>_<vsrc>_to_<vtgt>.{npz,csv,mot}``. A restarted
job skips requests whose three files exist, so an interrupted job resumes.
``<out>/meta.json`` records the checkpoint, config, seed and sampler.

Sharding: ``num_shards=N, shard_index=i`` generates the chunks (of
``chunk_size`` requests, in request order) whose number is i modulo N. Each
chunk's seed and batches are those of the unsharded job, so the union of the
N shards' outputs equals the unsharded job's, array for array (on the same
device count and batch size). Shards share one output folder; the first to
start writes meta.json (once, never rewritten) and every later start checks
that it describes the same job.
"""
import dataclasses
import datetime
import json
import logging
import os
import time
import uuid
from typing import Dict, List, Optional, Sequence

import numpy as np

import gaitjax
from gaitjax import config_utils
from gaitjax import constants
from gaitjax import files
from gaitjax.data import trial_files
from gaitjax.errors import ConfigError, DataError

META_FILE = "meta.json"
# meta.json fields that must agree for a restarted or other shard to write
# into the same folder (with their value in files that predate the field).
_SAME_JOB = (("checkpoint", None), ("seed", None), ("sampler", None),
             ("num_requests", None), ("chunk_size", 64), ("input", None))


@dataclasses.dataclass(frozen=True)
class Request:
  subject: str
  cohort: str
  x_src: np.ndarray          # [T, 6] degrees at 20 Hz
  v_src: float
  v_tgt: float
  x_real: Optional[np.ndarray] = None   # [T, 6] the real target, if known

  @property
  def stem(self) -> str:
    return f"{self.subject}_{self.v_src:.2f}_to_{self.v_tgt:.2f}"


def requests_from_trialset(ts, target_speeds: Sequence[float] = ()
                           ) -> List[Request]:
  """All within-subject pairs of a TrialSet, or each trial at target_speeds."""
  from gaitjax.data import pairs as pairs_lib
  out = []
  if target_speeds:
    for i in range(len(ts.speed)):
      for v in target_speeds:
        out.append(Request(str(ts.subject[i]), str(ts.cohort[i]), ts.x[i],
                           float(ts.speed[i]), float(v)))
    return out
  for s, t in pairs_lib.within_subject_pairs(ts):
    out.append(Request(str(ts.subject[s]), str(ts.cohort[s]), ts.x[s],
                       float(ts.speed[s]), float(ts.speed[t]), ts.x[t]))
  return out


def _outputs(out_dir: str, req: Request) -> Dict[str, str]:
  base = os.path.join(out_dir, req.subject, req.stem)
  return {ext: f"{base}.{ext}" for ext in ("npz", "csv", "mot")}


def _is_done(paths: Dict[str, str]) -> bool:
  return all(os.path.isfile(p) for p in paths.values())


def _check_writable(out_dir: str) -> None:
  try:
    os.makedirs(out_dir, exist_ok=True)
    # Unique: shards of one job probe the same folder at the same time.
    probe = os.path.join(out_dir, f".gaitjax_write_probe.{uuid.uuid4().hex}")
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    raise DataError(f"output folder {out_dir}: cannot write ({e.strerror})"
                    ) from None


def check_shard(num_shards: int, shard_index: int) -> None:
  if int(num_shards) < 1:
    raise ConfigError(f"--num_shards={num_shards}: expected >= 1")
  if not 0 <= int(shard_index) < int(num_shards):
    raise ConfigError(f"--shard_index={shard_index}: expected 0.."
                      f"{int(num_shards) - 1} with --num_shards={num_shards}")


def shard_chunks(num_requests: int, chunk_size: int, num_shards: int = 1,
                 shard_index: int = 0) -> List[int]:
  """Start rows of the chunks shard ``shard_index`` of ``num_shards`` runs."""
  check_shard(num_shards, shard_index)
  if int(chunk_size) < 1:
    raise ConfigError(f"--chunk_size={chunk_size}: expected >= 1")
  starts = range(0, int(num_requests), int(chunk_size))
  return [c for j, c in enumerate(starts)
          if j % int(num_shards) == int(shard_index)]


def run_job(generator, requests: List[Request], out_dir: str, *,
            num_samples: int = 1, seed: int = 0, chunk_size: int = 64,
            meta_extra: Optional[dict] = None, num_shards: int = 1,
            shard_index: int = 0) -> dict:
  """Generates every request (of this shard) not already on disk.

  Args:
    generator: a generate.Generator.
    requests: the whole job's requests (every shard gets the same list).
    out_dir: output folder (shared by all shards).
    num_samples: K samples per request (mean and SD written).
    seed: the job's seed; chunk c (first row) uses seed + c.
    chunk_size: requests per generate call.
    meta_extra: more meta.json entries (e.g. the input).
    num_shards, shard_index: run only chunks j with j % num_shards ==
      shard_index.
  Returns:
    {'written', 'skipped', 'out_dir'} for this shard's requests (plus
    'shard': 'i/N' when sharded).
  Raises:
    DataError: no requests, an unwritable folder, or a folder holding
      another job's meta.json.
  """
  if not requests:
    raise DataError("nothing to generate: the input selected no trials/pairs")
  chunks = shard_chunks(len(requests), chunk_size, num_shards, shard_index)
  _check_writable(out_dir)
  v_tgt = np.array([r.v_tgt for r in requests])
  extrapolated = generator.check_speeds(v_tgt)
  meta = {
      "gaitjax_version": gaitjax.__version__,
      "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
      "checkpoint": {"path": str(generator.bundle.path),
                     "step": generator.step,
                     "sha256": generator.checksum},
      "config": generator.config.to_dict(),
      "seed": int(seed),
      "sampler": {"method": "ddim",
                  "num_steps": int(generator.config.sampling.num_steps),
                  "eta": float(generator.config.sampling.eta),
                  "num_samples": int(num_samples)},
      "allow_extrapolation": bool(generator.allow_extrapolation),
      "extrapolated_targets": sorted(set(np.round(v_tgt[extrapolated], 3)
                                         .tolist())),
      "num_requests": len(requests),
      "chunk_size": int(chunk_size),
  }
  temperature = float(generator.config.sampling.get("temperature", 1.0))
  if temperature != 1.0:     # absent = 1: older meta.json files still match
    meta["sampler"]["temperature"] = temperature
  meta.update(meta_extra or {})
  _write_meta_once(out_dir, json.loads(json.dumps(
      files.to_jsonable(meta, strict=False))))
  mine = [r for c in chunks for r in requests[c:c + chunk_size]]
  todo = [r for r in mine if not _is_done(_outputs(out_dir, r))]
  skipped = len(mine) - len(todo)
  shard = f" (shard {shard_index} of {num_shards})" if num_shards > 1 else ""
  if skipped:
    logging.info("resuming%s: %d of %d outputs already written", shard,
                 skipped, len(mine))
  start = time.time()
  done = 0
  # Chunks (and so seeds and noise) follow the full request list, not what
  # is left or the shard: a resumed or sharded job writes what an
  # uninterrupted unsharded one would have.
  for c in chunks:
    chunk = requests[c:c + chunk_size]
    missing = [not _is_done(_outputs(out_dir, r)) for r in chunk]
    if not any(missing):
      continue
    for cohort in sorted({r.cohort for r in chunk}):
      group = [(r, m) for r, m in zip(chunk, missing) if r.cohort == cohort]
      if not any(m for _, m in group):
        continue
      result = generator.generate(
          np.stack([r.x_src for r, _ in group]),
          np.array([r.v_src for r, _ in group]),
          np.array([[r.v_tgt] for r, _ in group]),
          num_samples=num_samples, seed=seed + c, cohort=cohort)
      for i, (req, m) in enumerate(group):
        if m:
          _write_outputs(out_dir, req, result.mean[i, 0], result.std[i, 0])
    done += sum(missing)
    elapsed = time.time() - start
    eta = elapsed / done * (len(todo) - done)
    logging.info("generated %d/%d%s (%.1f/s, ETA %.0f s)", done + skipped,
                 len(mine), shard, done / max(elapsed, 1e-9), eta)
  summary = {"written": len(todo), "skipped": skipped, "out_dir": out_dir}
  if num_shards > 1:
    summary["shard"] = f"{shard_index}/{num_shards}"
  return summary


def _write_meta_once(out_dir: str, meta: dict) -> None:
  """meta.json if absent (first writer wins, atomically); else checks that
  the one there describes the same job."""
  path = os.path.join(out_dir, META_FILE)
  if not os.path.exists(path):
    tmp = os.path.join(out_dir, f".{META_FILE}.{uuid.uuid4().hex}.tmp")
    try:
      files.atomic_write_json(tmp, meta)
      try:
        os.link(tmp, path)  # fails if another shard got there first
        return
      except FileExistsError:
        pass
      except OSError:  # a file system without hard links
        if not os.path.exists(path):
          os.replace(tmp, path)
          return
    finally:
      if os.path.exists(tmp):
        os.remove(tmp)
  try:
    with open(path) as f:
      have = json.load(f)
  except (OSError, ValueError) as e:
    raise DataError(f"{path}: unreadable ({e}); remove it or use another "
                    f"--output_dir") from None
  for key, default in _SAME_JOB:
    if have.get(key, default) != meta.get(key, default):
      raise DataError(f"{out_dir} holds the outputs of another job ({key} "
                      f"differs from its {META_FILE}); use another "
                      f"--output_dir")


def _write_outputs(out_dir: str, req: Request, mean: np.ndarray,
                   std: np.ndarray) -> None:
  paths = _outputs(out_dir, req)
  os.makedirs(os.path.dirname(paths["npz"]), exist_ok=True)
  t = np.arange(mean.shape[0]) / constants.RATE_HZ
  # The .mot is written last: a request counts as done only when all exist.
  trial_files.write_trial_npz(paths["npz"], t, mean, angles_std=std,
                              subject=req.subject, v_src=req.v_src,
                              v_tgt=req.v_tgt)
  trial_files.write_trial_csv(paths["csv"], t, mean)
  trial_files.write_mot(paths["mot"], t, mean, name=req.stem)


def main_from_flags(flags) -> dict:
  """launch/sample.py: builds the request list from flags and runs the job."""
  from gaitjax.data.trial import Trial
  from gaitjax.generate import Generator
  if not flags.checkpoint:
    raise DataError("--checkpoint is required (a training workdir)")
  if not flags.output_dir:
    raise DataError("--output_dir is required")
  modes = [m for m in ("dataset", "folder", "trial") if getattr(flags, m)]
  if len(modes) != 1:
    raise DataError("give exactly one input: --dataset, --folder or --trial"
                    f" (got {', '.join('--' + m for m in modes) or 'none'})")
  target_speeds = config_utils.parse_speeds(flags.target_speeds, "target_speeds")
  num_shards, shard_index = shard_from_flags(flags)
  _check_writable(flags.output_dir)
  which = int(flags.which) if str(flags.which).isdigit() else flags.which
  generator = Generator(flags.checkpoint, which, num_steps=flags.num_steps,
                        eta=flags.eta, batch_size=flags.batch_size,
                        temperature=getattr(flags, "temperature", None),
                        allow_extrapolation=flags.allow_extrapolation)
  mode = modes[0]
  # Issue 11: short recordings / passes are assembled from whole cycles, and
  # a folder's or build's own stroke statistics replace the checkpoint's.
  from gaitjax.data import assemble
  min_cycles = int(getattr(flags, "min_cycles", None)
                   or assemble.DEFAULT_MIN_CYCLES)
  extra = {}
  if mode == "dataset":
    from gaitjax.data import dataset as dataset_lib
    ts = dataset_lib.load_split(flags.data_dir, flags.dataset, flags.split)
    info = dataset_lib.read_build_info(flags.data_dir, flags.dataset)
    extra["stroke_stats"] = assemble.install_stroke_stats(
        generator, (info.get("cohort_stats") or {}).get("stroke"),
        f"the {flags.dataset} build", ts.cohort)
    extra["assembled"] = [r for r in info.get("assembled", [])
                          if r.get("subject") in set(ts.subjects)]
    requests = requests_from_trialset(ts, target_speeds)
  elif mode == "folder":
    from gaitjax.data import normalize
    from gaitjax.data import readers
    ts, extra["assembled"] = assemble.trialset(
        readers.read_folder(flags.folder), min_cycles=min_cycles)
    extra["stroke_stats"] = assemble.install_stroke_stats(
        generator, normalize.fit_cohort_stats(ts.x, ts.subject, ts.cohort),
        f"the stroke subjects of {flags.folder}", ts.cohort)
    requests = requests_from_trialset(ts, target_speeds)
  else:
    from gaitjax.data import preprocess
    if flags.source_speed is None:
      raise DataError("--trial needs --source_speed (m/s)")
    if not target_speeds:
      raise DataError("--trial needs --target_speeds")
    paths = assemble.split_paths(flags.trial)
    trials = []
    for path in paths:
      time_s, angles = trial_files.read_trial_file(path)
      trials.append(Trial(subject=flags.subject,
                          speed_mps=flags.source_speed, angles=angles,
                          rate_hz=preprocess.sampling_rate(time_s,
                                                           where=path),
                          cohort=flags.cohort, origin=path))
    asm = assemble.model_input(trials, min_cycles=min_cycles)
    extra["assembled"] = [asm.record] if asm.record else []
    x = asm.x
    requests = [Request(flags.subject, flags.cohort, x,
                        float(flags.source_speed), v) for v in target_speeds]
  summary = run_job(generator, requests, flags.output_dir,
                    num_samples=flags.num_samples, seed=flags.seed,
                    chunk_size=int(getattr(flags, "chunk_size", 64) or 64),
                    meta_extra={"input": {mode: getattr(flags, mode)},
                                **{k: v for k, v in extra.items() if v}},
                    num_shards=num_shards, shard_index=shard_index)
  logging.info("wrote %d, skipped %d (already done) in %s%s",
               summary["written"], summary["skipped"], flags.output_dir,
               f" (shard {shard_index} of {num_shards})"
               if num_shards > 1 else "")
  return summary


def shard_from_flags(flags) -> tuple:
  """(num_shards, shard_index): the flags, else the multi-process run's
  jax.process_count() / process_index(), else (1, 0)."""
  num_shards = getattr(flags, "num_shards", None)
  shard_index = getattr(flags, "shard_index", None)
  if num_shards is None and shard_index is None:
    from gaitjax import distributed  # pylint: disable=g-import-not-at-top
    if distributed.is_initialized():
      import jax  # pylint: disable=g-import-not-at-top
      return jax.process_count(), jax.process_index()
    return 1, 0
  if num_shards is None or shard_index is None:
    raise ConfigError("give both --num_shards and --shard_index (or neither)")
  check_shard(num_shards, shard_index)
  return int(num_shards), int(shard_index)
