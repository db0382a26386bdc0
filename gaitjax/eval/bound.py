"""``bound`` and ``noise_floor`` rows on a synthetic able-bodied build.

The synthetic generator knows every subject's persistent parameters, so on
a synthetic build (the build record beside the data holds its seed, speed
response, raw rate and duration) two reference rows can be generated:

* ``bound`` (``synthetic.knowable_trial``): the noise-free prediction from
  everything a recording at the source speed can reveal (the subject's
  traits and the part of its speed response correlated with them), the
  rest at conditional means; see that function for the exact split.
* ``bound_recording``: the same knowable speed response, but added to the
  source *recording* (its observed mean cycle and cadence, tiled from its
  phase like the cycle template) instead of the noise-free source cycle. A
  single recording cannot reveal its own per-recording offset, drift and
  stride noise, so this is the best any predictor of that recording could
  do if it knew the subject's knowable speed response exactly: the
  template with the population change replaced by the oracle's
  (knowable_trial(v_s -> v_t) minus knowable_trial(v_s -> v_s)). ``bound``
  minus ``bound_recording`` is what the source recording's noise costs;
  ``cycle_template`` minus ``bound_recording`` is what personalising the
  speed response can gain at most.
* ``noise_floor`` (``synthetic.repeat_trial``, recording 1): a second,
  independent recording of the same subject at the target speed, scored
  against the target like a prediction. No predictor of a single noisy
  recording can be expected to get below it by much.

Both are preprocessed like the build (``preprocess.to_model_input``). Each
row recognises a source's subject by its exact array in the cohort (all
splits), which also serves the randomised-encoding ranks (a random other
subject's source gives that subject's prediction).
"""
import json
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from gaitjax.data import reference, regression, synthetic
from gaitjax.data.dataset import TrialSet
from gaitjax.data.preprocess import to_model_input
from gaitjax.errors import DataError
from gaitjax.eval import baseline_rows
from gaitjax.generate import GenerationResult

KINDS: Tuple[str, ...] = ("bound", "bound_recording", "noise_floor")
SOURCES = {"synthetic_able_bodied": "able_bodied"}


def build_record(data_dir: str, dataset: str) -> Dict[str, Any]:
  """The 'build' parameters recorded beside a built dataset."""
  from gaitjax.data import tfds_builders
  path = tfds_builders.dataset_path(data_dir, dataset) / \
      tfds_builders.STATS_FILE
  try:
    return dict(json.loads(path.read_text())["build"])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise DataError(f"{path}: no readable build record ({e})") from None


class OracleRow:
  """A ``bound`` or ``noise_floor`` row (Generator.generate's contract).

  Args:
    kind: 'bound' | 'bound_recording' | 'noise_floor'.
    build: the build record (``build_record``) of a synthetic build.
    pool: every trial of the cohort (all splits) [N, T, 6].
  """
  is_baseline = True
  deterministic = True
  config = None
  cohorts: Tuple[str, ...] = ("able_bodied",)

  def __init__(self, kind: str, build: Mapping[str, Any], pool: TrialSet):
    if kind not in KINDS:
      raise DataError(f"oracle row must be one of {KINDS}, got {kind!r}")
    source = build.get("source")
    if source not in SOURCES:
      raise DataError(f"{kind}: needs a synthetic able-bodied build, this one"
                      f" is {source!r}")
    made_by = build.get("generator")
    if made_by != synthetic.GENERATOR_REVISION:
      # The oracle regenerates the build's subjects: another generator
      # revision would give other people than the ones in the arrays.
      raise DataError(
          f"{kind}: this build was made by synthetic generator revision "
          f"{made_by!r}, the code is {synthetic.GENERATOR_REVISION!r}; "
          f"rebuild it (launch/build_data.py --overwrite)")
    self.kind = kind
    self.cohort = SOURCES[source]
    self.seed = int(build["cohort_seed"])
    self.speed_response = str(build.get("speed_response") or "correlated")
    self.prefix = build.get("subject_prefix") or None
    correction = build.get("speed_correction")
    self.speed_correction = (synthetic.SpeedCorrection.from_dict(
        correction, where=f"{kind}: the build record's speed_correction")
                             if correction else None)
    self.duration_s = float(build["duration_s"])
    self.raw_rate_hz = float(build["raw_rate_hz"])
    self.seq_len = int(build["seq_len"])
    self.rate_hz = float(build["rate_hz"])
    self._lookup = {np.asarray(pool.x[i], np.float32).tobytes():
                    str(pool.subject[i]) for i in range(len(pool))}
    self._subjects: Dict[str, Any] = {}
    self._cache: Dict[Tuple[str, float, float], np.ndarray] = {}

  def _subject(self, name: str):
    if name not in self._subjects:
      self._subjects[name] = synthetic.subject(
          name, cohort=self.cohort, seed=self.seed,
          speed_response=self.speed_response, subject_prefix=self.prefix,
          speed_correction=self.speed_correction)
    return self._subjects[name]

  def subject_of(self, x_src: np.ndarray) -> str:
    """The cohort subject whose trial x_src [T, 6] is."""
    name = self._lookup.get(np.asarray(x_src, np.float32).tobytes())
    if name is None:
      raise DataError(f"{self.kind}: the source is not a trial of the "
                      f"evaluated synthetic cohort")
    return name

  def _knowable(self, name: str, v_src: float, v_tgt: float
                 ) -> reference.SubjectCycleInfo:
    """Cycle info of the noise-free knowable prediction (model input)."""
    trial = synthetic.knowable_trial(
        self._subject(name), v_src, v_tgt, duration_s=self.duration_s,
        rate_hz=self.raw_rate_hz)
    return reference.cycle_info(
        to_model_input(trial, seq_len=self.seq_len, rate_hz=self.rate_hz),
        self.rate_hz)

  def predict_recording(self, x_src: np.ndarray, v_src: float,
                        v_tgt: float) -> np.ndarray:
    """``bound_recording``: x_src [T, 6] -> [T, 6] at v_tgt."""
    name = self.subject_of(x_src)
    src = reference.cycle_info(x_src, self.rate_hz)
    if not (src.has_cycles() and np.all(np.isfinite(src.mean))
            and np.isfinite(src.cadence)):
      raise DataError(f"{self.kind}: the source of {name} has no cycles on "
                      f"both hips")
    at_src = self._knowable(name, v_src, v_src)
    at_tgt = self._knowable(name, v_src, v_tgt)
    phase0 = regression.source_phases(src)
    return reference.synthesize_from_cycles(
        src.mean + (at_tgt.mean - at_src.mean),
        src.cadence * at_tgt.cadence / at_src.cadence, x_src.shape[0],
        self.rate_hz, phase0)

  def predict(self, name: str, v_src: float, v_tgt: float) -> np.ndarray:
    """[seq_len, 6] degrees for subject ``name`` (bound / noise_floor)."""
    key = (name, round(float(v_src), 3) if self.kind == "bound" else 0.0,
           round(float(v_tgt), 3))
    if key not in self._cache:
      subj = self._subject(name)
      if self.kind == "bound":
        trial = synthetic.knowable_trial(
            subj, v_src, v_tgt, duration_s=self.duration_s,
            rate_hz=self.raw_rate_hz)
      else:
        trial = synthetic.repeat_trial(
            subj, round(float(v_tgt), 2), seed=self.seed, recording=1,
            duration_s=self.duration_s, rate_hz=self.raw_rate_hz)
      self._cache[key] = to_model_input(trial, seq_len=self.seq_len,
                                        rate_hz=self.rate_hz)
    return self._cache[key]

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float]) -> np.ndarray:
    """[T, 6] -> [S, T, 6]."""
    if self.kind == "bound_recording":
      return np.stack([self.predict_recording(x_src, v_src, float(v))
                       for v in np.atleast_1d(v_tgt)])
    name = self.subject_of(x_src)
    return np.stack([self.predict(name, v_src, v) for v in
                     np.atleast_1d(v_tgt)])

  def generate(self, sources, v_src, v_tgt, *, num_samples: int = 1,
               seed: int = 0, cohort: str = "able_bodied"
               ) -> GenerationResult:
    """Same contract as Generator.generate (std 0)."""
    del seed, cohort
    return baseline_rows.generate_rows(self.predict_source, sources, v_src,
                                       v_tgt, num_samples=num_samples)


def build_rows(data_dir: str, dataset: str, pool: Optional[TrialSet]
               ) -> Tuple[Dict[str, OracleRow], str]:
  """{'bound', 'bound_recording', 'noise_floor'} rows for a synthetic
  able-bodied build, or
  ({}, '') when the dataset is not one."""
  build = build_record(data_dir, dataset)
  if build.get("source") not in SOURCES or pool is None:
    return {}, ""
  rows = {k: OracleRow(k, build, pool) for k in KINDS}
  return rows, (f"bound / noise_floor: regenerated from the {dataset} build "
                f"record (seed {build['cohort_seed']}, speed response "
                f"{build.get('speed_response') or 'correlated'}); bound = "
                f"the subject's noise-free source cycle plus the speed "
                f"response its traits predict; bound_recording = the same "
                f"response added to the source recording's own mean cycle; "
                f"noise_floor = a second "
                f"recording at the target speed")
