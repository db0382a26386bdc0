r"""TFDS pair view: subject-split (source, target) pairs of a trial dataset.

The trial datasets (``gaitjax_gait/<config>``, tfds_builders.py) hold one
example per trial. ``gaitjax_pairs/<config>`` holds the pairs the paper
trains and evaluates on, built from a complete trial build in the same
data_dir, so anyone can read them with ``tfds.data_source`` (no TensorFlow,
no gaitjax needed to read):

  python launch/build_data.py --dataset=synthetic_able_bodied_pairs \
      --data_dir=data    # = --dataset=synthetic_able_bodied --pairs

  test = tfds.data_source("gaitjax_pairs/synthetic_able_bodied",
                          data_dir="data", split="test")

One example per pair::

  x_src, x_tgt      [T, 6] float32 degrees (T = 600 at 20 Hz)
  v_src, v_tgt      float32 m/s
  subject, cohort, paretic_side ('' if none)            Text
  pair_category     'identity' | 'near' | 'cross'       Text (pairs.py rules)
  src_key, tgt_key  'subject|speed m/s (3 decimals)|origin' of the trials
  src_index, tgt_index  int64: index of the trial in
                    tfds.data_source('gaitjax_gait/<config>', split=<same>)
  count             int32: times the pair occurs in the fixed training set
                    (1 in validation / test)

Splits are the trial dataset's splits (by subject; the pairs never cross
subjects or splits).
  * validation, test: every within-subject pair, identity included, in
    ``pairs.within_subject_pairs`` order (paper II.C: "pairs were
    constructed exhaustively from all available within-subject speed
    combinations").
  * train: the fixed set of ``num_train_pairs`` (100,000) balanced pairs
    (paper II.E: "up to 100,000 balanced source-target pairs"), drawn exactly
    as gaitjax's own training draws it (``pipeline.PairSampler`` with the
    recorded ``seed``; pairs.py's rules). The balance itself is ours: the
    paper only says training pairs "randomly sample across identity/same-speed
    pairs and cross-speed pairs, which span the entire spectrum of possible
    speed differences". Our reading: a third identity, a third near
    (0 < |dv| < 0.1 m/s, the paper's II.D.3 threshold), a third cross-speed
    spread uniformly over 0.1 m/s |dv| bins, drawn with replacement.

Storage of the training set (why it is not 100,000 examples): 100,000 pairs
x 2 x [600, 6] float32 is 2.9 GB, but the 13 training subjects only have
10,192 distinct within-subject pairs, so the draw repeats pairs. Each
distinct drawn pair is stored once, with full arrays, and ``count`` says how
often it was drawn (sum of counts = num_train_pairs): 9,482 distinct pairs,
0.25 GB for the synthetic cohort. The draw order is in ``train_draws.npy``
beside the data ([num_train_pairs] int32, index into the train split), so
``train_split[draws[k]]`` is the k-th drawn pair; sampling train examples
with probability count / num_train_pairs gives the balanced distribution.
A build whose distinct training pairs would exceed ``max_train_bytes``
(1 GB; e.g. a large population) is refused with the numbers, rather than
silently written in another layout.

``gaitjax_pairs.json`` beside the data records the pairing parameters, which
parts are the paper's, and the trial build the pairs came from (its path,
build parameters and a SHA-256 of each split's arrays); gaitjax's training
reads the training pairs back with ``train_pool`` (``config.data.pairs =
"tfds"``) only when that fingerprint matches the trials it loaded.
"""
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from gaitjax import constants
from gaitjax import files
from gaitjax.data import pairs as pairs_lib
from gaitjax.data import tfds_builders
from gaitjax.errors import ConfigError, DataError

PAIRS_NAME = "gaitjax_pairs"
VERSION = "1.0.0"
BUILD_FILE = "gaitjax_pairs.json"
DRAWS_FILE = "train_draws.npy"
SUFFIX = "_pairs"
MAX_TRAIN_BYTES = 1_000_000_000
TEXT_FEATURES: Tuple[str, ...] = ("subject", "cohort", "paretic_side",
                                  "pair_category", "src_key", "tgt_key")

RULES = {
    "paper": [
        "splits by subject, 13/4/5 able-bodied (II.E); stroke all test",
        "validation/test: all within-subject pairs incl. identity (II.C)",
        "train: a fixed budget of up to 100,000 balanced pairs (II.E)",
        "categories identity / near (|dv| < 0.1 m/s) / cross (II.D.3)",
    ],
    "ours": [
        "balance = pair_fractions of identity / near / cross (1/3 each)",
        "cross-speed pairs uniform over 0.1 m/s |dv| bins",
        "drawn with replacement by pipeline.PairSampler (seed stream 1)",
        "|dv| rounded to 1 mm/s before comparing (pairs.speed_difference)",
        "train stored as distinct pairs + count, draw order in "
        "train_draws.npy",
    ],
}


@dataclasses.dataclass
class PairConfig(tfds.core.BuilderConfig):
  """Which trial dataset, and how its training pairs are drawn."""
  trial_dataset: str = "synthetic_able_bodied"
  num_train_pairs: int = 100_000                         # [P II.E]
  pair_fractions: Tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)  # [ours]
  near_threshold_mps: float = 0.1                        # [P II.D.3]
  source_speeds: Tuple[float, ...] = ()
  seed: int = 0
  max_train_bytes: int = MAX_TRAIN_BYTES


# Fields `build_pairs(..., **overrides)` may change; all define the build.
PAIR_FIELDS: Tuple[str, ...] = ("num_train_pairs", "pair_fractions",
                                "near_threshold_mps", "source_speeds", "seed",
                                "max_train_bytes")


def _configs() -> List[PairConfig]:
  return [PairConfig(name=name, trial_dataset=name,
                     description=f"Within-subject (source, target) pairs of "
                                 f"gaitjax_gait/{name}.")
          for name in tfds_builders.CONFIG_NAMES]


def pair_params(cfg) -> Dict[str, Any]:
  """The pairing parameters as JSON-able values (compared on reuse)."""
  out = {f: getattr(cfg, f) for f in PAIR_FIELDS}
  out["pair_fractions"] = [float(v) for v in out["pair_fractions"]]
  out["source_speeds"] = [float(v) for v in out["source_speeds"]]
  out["dv_bin_width_mps"] = pairs_lib.DV_BIN_WIDTH_MPS
  return out


# ------------------------------------------------------------ trial helpers


def trial_keys(ts) -> np.ndarray:
  """[N] 'subject|speed|origin' names of a TrialSet's trials (unique).

  A repeated (subject, speed, origin) gets '#1', '#2', ... in TrialSet order.
  """
  keys, seen = [], {}
  for s, v, o in zip(ts.subject, ts.speed, ts.origin):
    key = f"{s}|{float(v):.3f}|{o}"
    n = seen.get(key, 0)
    seen[key] = n + 1
    keys.append(key if n == 0 else f"{key}#{n}")
  return np.asarray(keys, dtype=object)


def fingerprint(ts) -> str:
  """SHA-256 of a TrialSet's arrays, speeds and keys (which build it is)."""
  h = hashlib.sha256()
  h.update(np.ascontiguousarray(ts.x, np.float32).tobytes())
  h.update(np.ascontiguousarray(ts.speed, np.float32).tobytes())
  h.update("\n".join(trial_keys(ts)).encode())
  return h.hexdigest()


def _trial_splits(data_dir, trial_dataset: str) -> Dict[str, Tuple[Any, Any]]:
  """{split: (TrialSet, [N] data-source index)} of the splits with trials."""
  from gaitjax.data import dataset
  info = dataset.read_build_info(data_dir, trial_dataset)
  return {split: dataset.load_split_indexed(data_dir, trial_dataset, split)
          for split in tfds_builders.SPLITS if info["splits"].get(split)}


def draw_train_pairs(ts, cfg) -> np.ndarray:
  """[num_train_pairs, 2] the training draw, exactly as PairSampler's."""
  import ml_collections
  from gaitjax.data import pipeline
  if int(cfg.num_train_pairs) <= 0:
    raise ConfigError(f"num_train_pairs={cfg.num_train_pairs}: the pair "
                      f"dataset stores a fixed training set, expected > 0")
  data_cfg = ml_collections.ConfigDict({
      "reference": "source", "swap_sides_prob": 0.0,
      "num_train_pairs": int(cfg.num_train_pairs),
      "pair_fractions": tuple(float(f) for f in cfg.pair_fractions),
      "near_threshold_mps": float(cfg.near_threshold_mps),
      "source_speeds": tuple(float(v) for v in cfg.source_speeds),
      "pairs": "sample"})
  sampler = pipeline.PairSampler(ts, None, None, data_cfg, batch_size=1,
                                 seed=int(cfg.seed))
  return sampler.pool


def draw_digest(ts, pool: np.ndarray) -> str:
  """SHA-256 of a training draw as trial keys in draw order."""
  keys = trial_keys(ts)
  text = "\n".join(f"{keys[i]}>{keys[j]}" for i, j in pool.tolist())
  return hashlib.sha256(text.encode()).hexdigest()


def _pair_bytes(seq_len: int) -> int:
  return 2 * seq_len * constants.NUM_CHANNELS * 4


# ------------------------------------------------------------------ builder


class GaitjaxPairs(tfds.core.GeneratorBasedBuilder):
  """Within-subject (source, target) pairs of a gaitjax_gait trial build."""

  VERSION = tfds.core.Version(VERSION)
  BUILDER_CONFIGS = _configs()

  def __init__(self, *, overrides: Optional[Dict[str, Any]] = None,
               **kwargs):
    self._overrides = dict(overrides or {})
    self._record: Dict[str, Any] = {}
    self._seq_len = constants.SEQ_LEN
    config = kwargs.get("config")
    if kwargs.get("data_dir") and isinstance(config, str):
      try:  # the trials' length, when built (reading needs no trial build)
        trial = tfds_builders.dataset_path(kwargs["data_dir"], config)
        build = json.loads((trial / tfds_builders.STATS_FILE).read_text())
        self._seq_len = int(build["build"]["seq_len"])
      except (OSError, ValueError, KeyError, TypeError):
        pass
    super().__init__(**kwargs)

  @property
  def _trial_data_dir(self) -> pathlib.Path:
    """The data_dir (data_dir = <it>/gaitjax_pairs/<config>/<version>)."""
    return pathlib.Path(self.data_dir).parents[2]

  def _create_builder_config(self, builder_config, version):
    config = super()._create_builder_config(builder_config, version=version)
    if self._overrides:
      config = dataclasses.replace(config, **self._overrides)
    return config

  def _info(self) -> tfds.core.DatasetInfo:
    shape = (self._seq_len, constants.NUM_CHANNELS)
    text = {k: tfds.features.Text() for k in TEXT_FEATURES}
    return tfds.core.DatasetInfo(
        builder=self,
        description=(f"{self.builder_config.description} Sagittal joint "
                     f"angles (degrees, channels "
                     f"{', '.join(constants.CHANNELS)}); splits by subject "
                     f"as the trial dataset; validation/test = all "
                     f"within-subject pairs; train = the distinct pairs of a "
                     f"fixed balanced draw, 'count' times each."),
        features=tfds.features.FeaturesDict({
            "x_src": tfds.features.Tensor(shape=shape, dtype=np.float32),
            "x_tgt": tfds.features.Tensor(shape=shape, dtype=np.float32),
            "v_src": tfds.features.Scalar(dtype=np.float32),
            "v_tgt": tfds.features.Scalar(dtype=np.float32),
            "src_index": tfds.features.Scalar(dtype=np.int64),
            "tgt_index": tfds.features.Scalar(dtype=np.int64),
            "count": tfds.features.Scalar(dtype=np.int32),
            **text,
        }),
        disable_shuffling=True,  # keep within_subject_pairs / draw order
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    cfg = self.builder_config
    data_dir = self._trial_data_dir
    trial_splits = _trial_splits(data_dir, cfg.trial_dataset)
    if not trial_splits:
      raise DataError(f"gaitjax_gait/{cfg.trial_dataset} has no trials")
    out, record = {}, {"num_examples": {}, "trial_fingerprint": {},
                       "category_fractions": {}}
    for split, (ts, source_index) in trial_splits.items():
      if split == "train":
        pool = draw_train_pairs(ts, cfg)
        pairs, draws, count = np.unique(pool, axis=0, return_inverse=True,
                                        return_counts=True)
        size = len(pairs) * _pair_bytes(ts.x.shape[1])
        if size > cfg.max_train_bytes:
          raise DataError(
              f"{PAIRS_NAME}/{cfg.name}: the {cfg.num_train_pairs} training "
              f"pairs hold {len(pairs)} distinct pairs, {size / 1e9:.2f} GB "
              f"of arrays (limit {cfg.max_train_bytes / 1e9:.2f} GB); build "
              f"with fewer --num_train_pairs or a larger max_train_bytes")
        np.save(pathlib.Path(self.data_path) / DRAWS_FILE,
                np.asarray(draws, np.int32).reshape(-1))
        record["num_train_draws"] = int(count.sum())
        record["train_draw_sha256"] = draw_digest(ts, pool)
      else:
        pairs = pairs_lib.within_subject_pairs(ts)
        count = np.ones(len(pairs), np.int64)
      cats = pairs_lib.pair_category(ts.speed[pairs[:, 0]],
                                     ts.speed[pairs[:, 1]],
                                     cfg.near_threshold_mps)
      record["num_examples"][split] = int(len(pairs))
      record["trial_fingerprint"][split] = fingerprint(ts)
      record["category_fractions"][split] = {
          c: float(count[cats == c].sum() / count.sum())
          for c in pairs_lib.CATEGORIES}
      out[split] = self._generate_examples(ts, source_index, pairs, count,
                                           cats)
    self._record.update(record)
    logging.info("%s/%s: pairs per split %s", PAIRS_NAME, cfg.name,
                 record["num_examples"])
    return out

  def _generate_examples(self, ts, source_index, pairs, count, cats
                         ) -> Iterator[Tuple[int, Dict[str, Any]]]:
    keys = trial_keys(ts)
    for k, ((i, j), n, cat) in enumerate(zip(pairs.tolist(), count.tolist(),
                                             cats)):
      yield k, {
          "x_src": ts.x[i], "x_tgt": ts.x[j],
          "v_src": ts.speed[i], "v_tgt": ts.speed[j],
          "src_index": int(source_index[i]),
          "tgt_index": int(source_index[j]),
          "count": int(n),
          "subject": ts.subject[i], "cohort": ts.cohort[i],
          "paretic_side": ts.paretic_side[i], "pair_category": str(cat),
          "src_key": keys[i], "tgt_key": keys[j],
      }


# ----------------------------------------------------------------- building


def trial_name(dataset: str) -> str:
  """'synthetic_able_bodied_pairs' | 'gaitjax_pairs/x' | 'x' -> 'x'."""
  for prefix in (PAIRS_NAME + "/", tfds_builders.DATASET_NAME + "/"):
    if dataset.startswith(prefix):
      dataset = dataset[len(prefix):]
  return dataset[:-len(SUFFIX)] if dataset.endswith(SUFFIX) else dataset


def pairs_path(data_dir, dataset: str) -> pathlib.Path:
  """<data_dir>/gaitjax_pairs/<trial config>/<version>."""
  return pathlib.Path(os.fspath(data_dir)).expanduser() / PAIRS_NAME / \
      trial_name(dataset) / VERSION


def is_built(data_dir, dataset: str) -> bool:
  path = pairs_path(data_dir, dataset)
  return all((path / f).is_file() for f in
             ("dataset_info.json", "features.json", BUILD_FILE))


def read_record(data_dir, dataset: str) -> Dict[str, Any]:
  """The pair build's gaitjax_pairs.json."""
  if not is_built(data_dir, dataset):
    name = trial_name(dataset)
    raise DataError(f"pair dataset {PAIRS_NAME}/{name} is not built in "
                    f"{os.fspath(data_dir)}: run python launch/build_data.py "
                    f"--dataset={name}{SUFFIX} --data_dir="
                    f"{os.fspath(data_dir)}")
  path = pairs_path(data_dir, dataset) / BUILD_FILE
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise DataError(f"{path}: unreadable ({e}); rebuild with --overwrite"
                    ) from None


def _wanted(data_dir, name: str, cfg) -> Dict[str, Any]:
  trial_info = json.loads((tfds_builders.dataset_path(data_dir, name) /
                           tfds_builders.STATS_FILE).read_text())
  return {"trial_dataset": f"{tfds_builders.DATASET_NAME}/{name}",
          "trial_path": str(tfds_builders.dataset_path(data_dir, name)
                            .resolve()),
          "trial_build": trial_info.get("build"),
          "pairing": pair_params(cfg)}


def build_pairs(dataset: str, data_dir, overwrite: bool = False,
                **overrides) -> pathlib.Path:
  """Builds gaitjax_pairs/<trial config> from its complete trial build.

  Args:
    dataset: a trial config name, optionally with the '_pairs' suffix.
    data_dir: the TFDS data_dir holding the trial build (pairs go beside).
    overwrite: rebuild even when a complete pair build exists.
    **overrides: PairConfig fields (PAIR_FIELDS), e.g. num_train_pairs.

  A complete build from the same trial build with the same parameters is
  reused; any difference is an error unless ``overwrite``.
  """
  name = trial_name(dataset)
  if name not in tfds_builders.CONFIG_NAMES:
    names = ", ".join(n + SUFFIX for n in tfds_builders.CONFIG_NAMES)
    raise ConfigError(f"--dataset={dataset}: pairs exist for {names}")
  bad = sorted(set(overrides) - set(PAIR_FIELDS))
  if bad:
    raise ConfigError(f"unknown pair parameter(s) {bad}; allowed: "
                      f"{', '.join(PAIR_FIELDS)}")
  for key in ("pair_fractions", "source_speeds"):
    if key in overrides:
      overrides[key] = tuple(float(v) for v in overrides[key] or ())
  data_dir = pathlib.Path(os.fspath(data_dir)).expanduser()
  if not tfds_builders.is_built(data_dir, name):
    raise DataError(f"pairs of {name!r} need its trial build in {data_dir}: "
                    f"run python launch/build_data.py --dataset={name} "
                    f"--data_dir={data_dir} first (or --pairs with it)")
  builder = GaitjaxPairs(config=name, data_dir=os.fspath(data_dir),
                         file_format="array_record", overrides=overrides)
  path = pairs_path(data_dir, name)
  wanted = _wanted(data_dir, name, builder.builder_config)
  mode = tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
  if path.exists():
    if overwrite or not is_built(data_dir, name):
      mode = tfds.download.GenerateMode.FORCE_REDOWNLOAD
    else:
      have = read_record(data_dir, name)
      diff = sorted(k for k in wanted if have.get(k) != wanted[k])
      if not diff:
        _check_current(have, _trial_splits(data_dir, name),
                       builder.builder_config, path)
        logging.info("reusing the complete pair build in %s", path)
        return path
      raise DataError(f"{path} was built with different parameters or from "
                      f"another trial build ({', '.join(diff)}); pass "
                      f"--overwrite to rebuild")
  if path.parent.is_dir():  # interrupted builds never load; clear them
    for stale in path.parent.glob(f"incomplete.*_{path.name}"):
      shutil.rmtree(stale, ignore_errors=True)
  t0 = time.time()
  with tempfile.TemporaryDirectory(prefix="gaitjax_tfds_") as scratch:
    builder.download_and_prepare(
        download_dir=scratch,
        download_config=tfds.download.DownloadConfig(download_mode=mode))
  seconds = time.time() - t0
  import gaitjax
  record = {**wanted, **builder._record,  # pylint: disable=protected-access
            "rules": RULES, "build_seconds": round(seconds, 2),
            "bytes": tfds_builders.folder_size(path),
            "gaitjax_version": getattr(gaitjax, "__version__", "")}
  files.atomic_write_text(path / BUILD_FILE,
                        json.dumps(record, indent=1, sort_keys=True))
  logging.info("built %s/%s in %.1f s: %.1f MB in %s", PAIRS_NAME, name,
               seconds, record["bytes"] / 1e6, path)
  return path


def _check_current(record, trial_splits, cfg, path) -> None:
  """DataError unless a reused build matches the trials and pairing rules."""
  have = record.get("trial_fingerprint", {})
  for split, (ts, _) in trial_splits.items():
    if have.get(split) != fingerprint(ts):
      raise DataError(f"{path}: built from other {split!r} trials than the "
                      f"current trial build; rebuild with --overwrite")
  if "train" in trial_splits:  # pairs.py's rules may have changed since
    ts = trial_splits["train"][0]
    if record.get("train_draw_sha256") != draw_digest(
        ts, draw_train_pairs(ts, cfg)):
      raise DataError(f"{path}: its training pairs differ from what this "
                      f"gaitjax draws with the same parameters (pairing "
                      f"rules changed); rebuild with --overwrite")


# ------------------------------------------------------------------ reading


def data_source(data_dir, dataset: str, split: str):
  """tfds data source of one split of a pair build (random access)."""
  read_record(data_dir, dataset)
  builder = tfds.builder_from_directory(os.fspath(pairs_path(data_dir,
                                                             dataset)))
  if split not in builder.info.splits or \
      builder.info.splits[split].num_examples == 0:
    raise DataError(f"{PAIRS_NAME}/{trial_name(dataset)} has no split "
                    f"{split!r}; it has {', '.join(builder.info.splits)}")
  return builder.as_data_source(split=split)


def load_pair_split(data_dir, dataset: str, split: str,
                    arrays: bool = True) -> Dict[str, np.ndarray]:
  """A whole split as numpy arrays ([P, ...] per feature, Text as str).

  With ``arrays=False`` x_src/x_tgt are dropped after decoding (the
  training pool needs only keys and counts).
  """
  source = data_source(data_dir, dataset, split)
  out: Dict[str, List] = {}
  for start in range(0, len(source), 1024):
    chunk = source.__getitems__(list(range(start, min(start + 1024,
                                                      len(source)))))
    for e in chunk:
      for k, v in e.items():
        if not arrays and k in ("x_src", "x_tgt"):
          continue
        out.setdefault(k, []).append(v.decode() if isinstance(v, bytes)
                                     else v)
  return {k: (np.asarray(v, dtype=object) if k in TEXT_FEATURES
              else np.stack(v) if k in ("x_src", "x_tgt") else np.asarray(v))
          for k, v in out.items()}


def train_pool(data_dir, dataset: str, trials) -> np.ndarray:
  """[num_train_pairs, 2] the stored training draw as indices into trials.

  Args:
    data_dir, dataset: where the pair build is (dataset = trial config).
    trials: the TrialSet of the trial build's train split (what the
      PairSampler indexes).

  Raises:
    DataError: not built, or built from other training trials.
  """
  record = read_record(data_dir, dataset)
  if record.get("trial_fingerprint", {}).get("train") != fingerprint(trials):
    raise DataError(f"{pairs_path(data_dir, dataset)} was built from other "
                    f"training trials than gaitjax_gait/"
                    f"{trial_name(dataset)}'s current build; rebuild it "
                    f"with --overwrite")
  split = load_pair_split(data_dir, dataset, "train", arrays=False)
  lookup = {k: i for i, k in enumerate(trial_keys(trials))}
  src = np.asarray([lookup[k] for k in split["src_key"]], np.int64)
  tgt = np.asarray([lookup[k] for k in split["tgt_key"]], np.int64)
  path = pairs_path(data_dir, dataset)
  draws = np.load(path / DRAWS_FILE, allow_pickle=False)
  if not np.array_equal(np.bincount(draws, minlength=len(src)),
                        split["count"]):
    raise DataError(f"{path}: {DRAWS_FILE} does not match the train split's "
                    f"counts; rebuild with --overwrite")
  near = float(record["pairing"]["near_threshold_mps"])
  if list(split["pair_category"]) != list(pairs_lib.pair_category(
      trials.speed[src], trials.speed[tgt], near)):
    raise DataError(f"{path}: stored pair categories differ from pairs.py's "
                    f"current rules; rebuild with --overwrite")
  logging.info("training pairs from %s: %d (%d distinct), pairing %s", path,
               len(draws), len(src), record["pairing"])
  return np.stack([src[draws], tgt[draws]], axis=1)
