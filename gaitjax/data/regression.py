r"""``cycle_regression``: a PCA-ridge baseline in gait-cycle space.

A strong non-deep learned baseline (issue 10): fitted on the training
population, it predicts a subject's mean gait cycle and cadence at a target
speed from one recording at a source speed, and is synthesised like the
cycle template.

Model. For a source trial with mean normalised cycle m_s [6, 101] and
cadence c_s at speed v_s, and a target speed v_t:

  template   m_T = m_s + D,  D = P(v_t) - P(v_s),  c_T = c_s C(v_t) / C(v_s)
             (P, C: the training population's mean cycle and cadence,
             ``reference.TemplateModel``; exactly the cycle template)
  stage 1    + beta_j s_c D_c: the population change of channel c scaled by
             the source's log amplitude ratio s_c = ln(SD_p m_s,c / SD_p
             P_c(v_s)) (one beta per joint, both sides): subjects with
             larger excursions change more with speed
  stage 2    + f W, f = [a, b, a^2, b v_s, z_1 a, z_1 b, ..., z_C a, z_C b,
             g a]; a = ln(v_t / v_s), b = v_t - v_s; z = the first C PCA
             scores (standardised) of m_s - P(v_s) minus its per-channel
             cycle mean (offset-free: a constant angle offset changes no
             feature); g = ln(c_s / C(v_s))
  cadence    c = c_T exp(f w)

Outside the training speeds the stage-2 features use the nearest trained
speed, as the template's population cycle does (no extrapolation of the
speed terms).

Every stage-1/2 term is 0 at v_t = v_s, so identity pairs get exactly the
template (the subject's own cycle); there is no intercept. With beta = 0,
W = 0, w = 0 it IS the template, and the ridge penalties shrink toward it.
Corrections are clipped (``MAX_*``) as a guard against degenerate fits,
and each cycle point's stage-2 correction is held within the range it took
on the training pairs (``correction_range``): a source unlike anyone in
the training population (a stroke gait far outside its PCA scores) gets no
correction larger than anyone there needed, as the speed terms are held at
the trained speeds. On the quickstart's stroke pairs it moved this row from
1.96 to 1.93 deg (template 1.94; ST14, whose scores lie outside the
population's, 3.26 -> 2.81); the able-bodied and real-people rows did not
change.

Fitting: within-subject pairs (v_s != v_t) of the training split whose
trials have detectable cycles on both hips (all of them; 64 random ones
per subject above ``max_folds`` subjects); features scaled to unit RMS.
The penalties (amplitude, cycle, cadence; each per pair, from ``ALPHAS``)
are chosen by subject-wise cross-validation (leave-one-subject-out up to 20
subjects, else 5 folds) on squared error over the 606 cycle points / the
log cadence ratio. Each fold refits the population template WITHOUT its
held-out subjects: with the full template, a held-out subject's errors are
anti-correlated with everyone else's (it is part of the mean) and every
population-level correction looks harmful. Then everything is refitted on
all training subjects. On the default cohort (13 training subjects) the CV
picks amplitude gains ~0.6/0.9/0.7 (hip/knee/ankle) and heavy stage-2
shrinkage: with 13 subjects, per-subject shape interactions overfit.

Synthesis: the predicted cycle is tiled from each leg's phase at t = 0 of
the source at the predicted cadence, with ``reference.synthesize_from_cycles``
(the template's own tiling); a source without cycles on both hips gets the
cycle template's fallback (``reference.template_baseline``).
"""
import dataclasses
import logging
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from gaitjax import constants
from gaitjax.data import reference
from gaitjax.data.dataset import TrialSet
from gaitjax.errors import CheckpointError, DataError

NAME = "cycle_regression"
ALPHAS: Tuple[float, ...] = tuple(float(a) for a in np.logspace(-4, 2, 13))
# Safety limits of the learned corrections (far outside anything the CV
# picks on the synthetic cohorts; they stop a degenerate fit on a tiny
# training set from producing a cadence of 0 or a 100-degree cycle).
MAX_LOG_CADENCE_CORRECTION = float(np.log(1.5))
MAX_CYCLE_CORRECTION_DEG = 15.0
MIN_SUBJECTS = 3
NUM_COMPONENTS = 5
_P = constants.NUM_CHANNELS * reference.NUM_POINTS     # 606 cycle points


@dataclasses.dataclass(frozen=True)
class CycleRegression:
  """A fitted cycle regression (see the module docstring).

  Attributes:
    template: TemplateModel of the same training population.
    amp_gain: [6] beta of each channel (shared by a joint's two sides).
    pca_mean: [606] mean source deviation from the population cycle.
    pca_basis: [C, 606] principal directions (rows, unit norm).
    pca_scale: [C] SD of each score over the training trials.
    feature_scale: [F] RMS of each raw feature over the training pairs.
    weights: [F, 606] cycle correction per (scaled) feature.
    cad_weights: [F] log-cadence correction per (scaled) feature.
    alpha, cad_alpha, amp_alpha: the chosen ridge penalties.
    cv: LOSO mean squared errors per alpha ('alphas', 'amp_mse',
      'cycle_mse', 'cadence_mse') and the template's ('template_mse').
    num_subjects, num_pairs: training data used.
    correction_range: [2, 606] lowest and highest stage-2 correction of
      each cycle point over the training pairs (None in regressions saved
      before it existed: only the MAX_CYCLE_CORRECTION_DEG clip).
    offset_free: the PCA features see the source's deviation from the
      population cycle minus its per-channel cycle mean, so a constant
      per-channel offset (static zeroing, marker placement, IK vs 2D angles)
      shifts the prediction by exactly that offset and changes nothing
      else (issue 11). False only in regressions saved before it existed.
  """
  template: reference.TemplateModel
  amp_gain: np.ndarray
  pca_mean: np.ndarray
  pca_basis: np.ndarray
  pca_scale: np.ndarray
  feature_scale: np.ndarray
  weights: np.ndarray
  cad_weights: np.ndarray
  alpha: float = 0.0
  cad_alpha: float = 0.0
  amp_alpha: float = 0.0
  cv: Dict[str, List[float]] = dataclasses.field(default_factory=dict)
  num_subjects: int = 0
  num_pairs: int = 0
  offset_free: bool = True
  correction_range: Optional[np.ndarray] = None

  @property
  def num_components(self) -> int:
    return int(self.pca_basis.shape[0])

  def scores(self, mean_cycle: np.ndarray, v_src: float) -> np.ndarray:
    """[6, 101] source mean cycle at v_src -> [C] standardised PCA scores
    of its deviation from the population cycle."""
    dev = source_deviation(mean_cycle, self.template.population_cycle(v_src),
                           self.offset_free)
    return ((dev - self.pca_mean) @ self.pca_basis.T) / self.pca_scale

  def features(self, mean_cycle: np.ndarray, cadence: float, v_src: float,
               v_tgt: np.ndarray) -> np.ndarray:
    """Scaled ridge features [S, F] of one source for S target speeds."""
    z = self.scores(mean_cycle, v_src)
    g = np.log(cadence / self.template.population_cadence(v_src))
    # Like the template's population cycle, the corrections are held beyond
    # the trained speeds: their speed terms (ln(v_t/v_s), v_t - v_s, ...)
    # are not extrapolated to a 0.3 m/s source (stroke cohort, 300 pairs:
    # 2.21 deg extrapolated, 1.96 held; template 1.98).
    lo, hi = float(self.template.speeds[0]), float(self.template.speeds[-1])
    return _raw_features(z, g, float(np.clip(v_src, lo, hi)),
                         np.clip(v_tgt, lo, hi)) / self.feature_scale

  def template_parts(self, mean_cycle: np.ndarray, v_src: float,
                     v_tgt: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(template cycles [S, 6, 101], amplitude-scaled population change
    s_c (P(v_t) - P(v_s))_c [S, 6, 101]) of one source."""
    m = np.asarray(mean_cycle, np.float64)
    pop_s = self.template.population_cycle(v_src)
    change = np.stack([self.template.population_cycle(v) - pop_s
                       for v in v_tgt])
    return m + change, log_amplitude(m, pop_s)[None, :, None] * change

  def predict_cycles(self, mean_cycle: np.ndarray, cadence: float,
                     v_src: float, v_tgt: Sequence[float]
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Predicted mean cycles [S, 6, 101] and cadences [S] (steps/min).

    Args:
      mean_cycle: [6, 101] the source's mean normalised cycle (finite).
      cadence: the source's cadence (steps/min, finite, > 0).
      v_src: source speed (m/s).
      v_tgt: [S] target speeds (m/s).
    """
    m = np.asarray(mean_cycle, np.float64)
    if m.shape != (constants.NUM_CHANNELS, reference.NUM_POINTS):
      raise DataError(f"cycle_regression: mean cycle must be [6, "
                      f"{reference.NUM_POINTS}], got {m.shape}")
    v_tgt = np.atleast_1d(np.asarray(v_tgt, np.float64))
    f = self.features(m, cadence, v_src, v_tgt)               # [S, F]
    base, scaled = self.template_parts(m, v_src, v_tgt)
    corr = np.clip(f @ self.weights, -MAX_CYCLE_CORRECTION_DEG,
                   MAX_CYCLE_CORRECTION_DEG)
    if self.correction_range is not None:
      corr = np.clip(corr, self.correction_range[0], self.correction_range[1])
    cyc = (base + self.amp_gain[None, :, None] * scaled
           + corr.reshape(base.shape))
    cad = np.array([reference.expected_cadence(cadence, v_src, v,
                                               self.template)
                    for v in v_tgt]) * np.exp(np.clip(
                        f @ self.cad_weights, -MAX_LOG_CADENCE_CORRECTION,
                        MAX_LOG_CADENCE_CORRECTION))
    return cyc, cad

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float], *,
                     rate_hz: float = constants.RATE_HZ) -> np.ndarray:
    """x_src [T, 6] degrees -> predictions [S, T, 6] at the targets v_tgt."""
    x_src = np.asarray(x_src, np.float64)
    v_tgt = np.atleast_1d(np.asarray(v_tgt, np.float64))
    info = reference.cycle_info(x_src, rate_hz)
    if not _usable(info):
      return np.stack([reference.template_baseline(
          x_src, v_src, v, self.template, rate_hz=rate_hz) for v in v_tgt])
    cyc, cad = self.predict_cycles(info.mean, info.cadence, v_src, v_tgt)
    phase0 = source_phases(info)
    return np.stack([reference.synthesize_from_cycles(
        cyc[i], float(cad[i]), x_src.shape[0], rate_hz, phase0)
                     for i in range(len(v_tgt))])

  # TemplateModel's interface, delegated: a CycleRegression can stand
  # wherever the population template is expected (reference timing, speed
  # range, the cycle_template baseline of a checkpoint that carries one).
  @property
  def speeds(self) -> np.ndarray:
    return self.template.speeds

  @property
  def rate_hz(self) -> float:
    return self.template.rate_hz

  def population_cycle(self, speed: float) -> np.ndarray:
    return self.template.population_cycle(speed)

  def population_cadence(self, speed: float) -> float:
    return self.template.population_cadence(speed)

  def to_dict(self) -> Dict[str, Any]:
    """JSON-safe dict; ``from_dict`` (or model_from_dict)
    inverts it."""
    return {
        "kind": NAME, "version": 2, "offset_free": bool(self.offset_free),
        "template": self.template.to_dict(),
        "amp_gain": np.asarray(self.amp_gain, np.float64).tolist(),
        "pca_mean": np.asarray(self.pca_mean, np.float64).tolist(),
        "pca_basis": np.asarray(self.pca_basis, np.float64).tolist(),
        "pca_scale": np.asarray(self.pca_scale, np.float64).tolist(),
        "feature_scale": np.asarray(self.feature_scale,
                                    np.float64).tolist(),
        "weights": np.asarray(self.weights, np.float64).tolist(),
        "cad_weights": np.asarray(self.cad_weights, np.float64).tolist(),
        "alpha": float(self.alpha), "cad_alpha": float(self.cad_alpha),
        "amp_alpha": float(self.amp_alpha),
        "num_subjects": int(self.num_subjects),
        "num_pairs": int(self.num_pairs),
        **({} if self.correction_range is None else {
            "correction_range": np.asarray(self.correction_range,
                                           np.float64).tolist()}),
    }

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "CycleRegression":
    """Inverse of ``to_dict``; CheckpointError on a malformed dict."""
    where = "cycle regression"
    keys = ("template", "amp_gain", "pca_mean", "pca_basis", "pca_scale",
            "feature_scale", "weights", "cad_weights")
    for key in keys:
      if key not in d:
        raise CheckpointError(f"{where}: field {key!r} missing")
    try:
      a = {k: np.asarray(d[k], np.float64) for k in keys[1:]}
    except (TypeError, ValueError) as e:
      raise CheckpointError(f"{where}: non-numeric field ({e})") from None
    c, f = a["pca_basis"].shape[0], a["feature_scale"].shape[0]
    expected = {"amp_gain": (constants.NUM_CHANNELS,), "pca_mean": (_P,),
                "pca_basis": (c, _P), "pca_scale": (c,),
                "feature_scale": (4 + 2 * c + 1,), "weights": (f, _P),
                "cad_weights": (f,)}
    bad = {k: a[k].shape for k in expected if a[k].shape != expected[k]}
    if bad or not all(np.all(np.isfinite(v)) for v in a.values()):
      raise CheckpointError(f"{where}: expected finite arrays of shapes "
                            f"{expected}, got {bad or 'non-finite values'}")
    bound = None
    if d.get("correction_range") is not None:
      try:
        bound = np.asarray(d["correction_range"], np.float64)
      except (TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: non-numeric correction_range "
                              f"({e})") from None
      if bound.shape != (2, _P) or not np.all(np.isfinite(bound)) or \
          np.any(bound[0] > bound[1]):
        raise CheckpointError(f"{where}: correction_range must be finite "
                              f"[2, {_P}] (low <= high), got {bound.shape}")
    return cls(template=reference.TemplateModel.from_dict(d["template"]),
               **a, correction_range=bound, alpha=float(d.get("alpha", 0.0)),
               cad_alpha=float(d.get("cad_alpha", 0.0)),
               amp_alpha=float(d.get("amp_alpha", 0.0)),
               num_subjects=int(d.get("num_subjects", 0)),
               num_pairs=int(d.get("num_pairs", 0)),
               offset_free=bool(d.get("offset_free", False)))

  def summary(self) -> Dict[str, Any]:
    """Small JSON-able description (for metrics.json)."""
    return {"alpha": self.alpha, "cad_alpha": self.cad_alpha,
            "amp_alpha": self.amp_alpha,
            "amp_gain": [float(b) for b in self.amp_gain],
            "num_components": self.num_components,
            "num_subjects": self.num_subjects, "num_pairs": self.num_pairs,
            "cv": self.cv}


def source_deviation(mean_cycle: np.ndarray, population: np.ndarray,
                     offset_free: bool = True) -> np.ndarray:
  """[6, 101] source mean cycle, [6, 101] population cycle -> [606] the
  deviation the PCA features describe (without each channel's cycle mean
  when offset_free: an angle convention's constant offset carries no
  information about a person's response to speed)."""
  dev = np.asarray(mean_cycle, np.float64) - population
  if offset_free:
    dev = dev - dev.mean(axis=-1, keepdims=True)
  return dev.reshape(-1)


def log_amplitude(mean_cycle: np.ndarray, population: np.ndarray
                  ) -> np.ndarray:
  """[6] log(SD over the cycle of mean_cycle / of population), per channel."""
  return np.log(np.maximum(np.asarray(mean_cycle).std(axis=1), 1e-6)
                / np.maximum(np.asarray(population).std(axis=1), 1e-6))


def source_phases(info: reference.SubjectCycleInfo) -> Dict[str, float]:
  """Each leg's gait phase at t = 0 of the source (cycles), as the template
  computes it."""
  return {side: float(reference._phase_at(  # pylint: disable=protected-access
      np.asarray(info.boundaries[side], np.float64), np.zeros(1))[0])
          for side in constants.SIDES}


def _usable(info: reference.SubjectCycleInfo) -> bool:
  return bool(info.has_cycles() and np.all(np.isfinite(info.mean))
              and np.isfinite(info.cadence) and info.cadence > 0)


def _raw_features(z: np.ndarray, g: float, v_src: float,
                  v_tgt: np.ndarray) -> np.ndarray:
  """[C] scores, log cadence deviation, speeds -> [S, 4 + 2C + 1]."""
  v_tgt = np.asarray(v_tgt, np.float64).reshape(-1, 1)
  a = np.log(v_tgt / v_src)
  b = v_tgt - v_src
  z = np.asarray(z, np.float64).reshape(1, -1)
  return np.concatenate([a, b, a * a, b * v_src, z * a, z * b, g * a], axis=1)


# ----------------------------------------------------------------- fitting
def _ridge(gram: np.ndarray, rhs: np.ndarray, alpha: float) -> np.ndarray:
  """(G + alpha I)^-1 H."""
  return np.linalg.solve(gram + alpha * np.eye(gram.shape[0]), rhs)


@dataclasses.dataclass
class _Design:
  """Training pairs of one subject: features [N, F] (unscaled), template
  errors y [N, 6, 101], amplitude-scaled population changes [N, 6, 101] and
  log cadence errors [N]."""
  feats: np.ndarray
  y: np.ndarray
  scaled: np.ndarray
  cad: np.ndarray


def _subject_pairs(train: TrialSet, ok: np.ndarray, subjects: Sequence[str],
                   pairs_per_subject: int, seed: int
                   ) -> List[Tuple[np.ndarray, np.ndarray]]:
  """Per subject (src [n], tgt [n]) trial indices of its training pairs:
  every (v_s != v_t) pair of trials with cycles, or a seeded random subset
  of pairs_per_subject (> 0) of them."""
  speed = np.asarray(train.speed, np.float64)
  rng = np.random.default_rng(seed)
  out = []
  for s in subjects:
    idx = np.flatnonzero((train.subject == s) & ok)
    src, tgt = np.meshgrid(idx, idx, indexing="ij")
    keep = speed[src] != speed[tgt]
    src, tgt = src[keep], tgt[keep]
    if 0 < pairs_per_subject < src.size:
      pick = np.sort(rng.choice(src.size, pairs_per_subject, replace=False))
      src, tgt = src[pick], tgt[pick]
    out.append((src, tgt))
  return out


def _design(shell: CycleRegression, speed: np.ndarray, infos,
            src: np.ndarray, tgt: np.ndarray) -> _Design:
  """One subject's training pairs (src [n], tgt [n] trial indices)
  measured against shell.template."""
  template = shell.template
  pop = {v: template.population_cycle(v) for v in np.unique(speed[src])}
  pop.update({v: template.population_cycle(v) for v in np.unique(speed[tgt])
              if v not in pop})
  pcad = {v: template.population_cadence(v) for v in pop}
  parts = []
  for i in np.unique(src):
    tg = tgt[src == i]
    m, v = infos[i].mean, speed[i]
    dev = source_deviation(m, pop[v], shell.offset_free)
    z = ((dev - shell.pca_mean) @ shell.pca_basis.T) / shell.pca_scale
    g = np.log(infos[i].cadence / pcad[v])
    change = np.stack([pop[speed[j]] - pop[v] for j in tg])
    amp = log_amplitude(m, pop[v])[None, :, None] * change
    cad = infos[i].cadence * np.array([pcad[speed[j]] for j in tg]) / pcad[v]
    parts.append((_raw_features(z, g, v, speed[tg]),
                  np.stack([infos[j].mean for j in tg]) - m - change, amp,
                  np.log(np.array([infos[j].cadence for j in tg]) / cad)))
  return _Design(*[np.concatenate(p) for p in zip(*parts)])


@dataclasses.dataclass
class _Stats:
  """Sufficient statistics of one subject's pairs (features scaled):
  ftf [F, F], fty [F, 606], fts [F, 606] (F^T scaled changes), ftc [F]
  (F^T log cadence errors), yy, cc (sums of squares), sy [6], ss [6]
  (per-channel sums of y*S and S*S), n pairs, m cycle values."""
  ftf: np.ndarray
  fty: np.ndarray
  fts: np.ndarray
  ftc: np.ndarray
  yy: float
  cc: float
  sy: np.ndarray
  ss: np.ndarray
  n: int
  m: int

  @classmethod
  def of(cls, d: _Design, fscale: np.ndarray) -> "_Stats":
    f = d.feats / fscale
    n = len(d.y)
    y, sc = d.y.reshape(n, -1), d.scaled.reshape(n, -1)
    return cls(f.T @ f, f.T @ y, f.T @ sc, f.T @ d.cad, float(np.sum(y * y)),
               float(np.sum(d.cad ** 2)),
               (d.y * d.scaled).sum(axis=(0, 2)),
               (d.scaled * d.scaled).sum(axis=(0, 2)), n, y.size)

  def __add__(self, o: "_Stats") -> "_Stats":
    return _Stats(*[getattr(self, f.name) + getattr(o, f.name)
                    for f in dataclasses.fields(self)])


def _joint_sum(per_channel: np.ndarray) -> np.ndarray:
  """[6] -> [3] summed over each joint's two sides."""
  return np.array([sum(per_channel[c] for c in range(constants.NUM_CHANNELS)
                       if constants.joint_of(c) == j)
                   for j in constants.JOINTS])


def _per_channel(beta_j: np.ndarray) -> np.ndarray:
  """[3] per joint -> [6] per channel."""
  return np.array([beta_j[constants.JOINTS.index(constants.joint_of(ch))]
                   for ch in range(constants.NUM_CHANNELS)])


def _solve(st: _Stats, amp_alpha: float, alpha: float, cad_alpha: float
           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Fits (amp_gain [6], weights [F, 606], cad_weights [F]) on st.

  Stage 1: per joint beta = sum S*Y / (sum S^2 + amp_alpha * n); stage 2:
  ridge (penalty alpha * n) of what is left on the features.
  """
  beta = _per_channel(_joint_sum(st.sy) / (_joint_sum(st.ss)
                                           + amp_alpha * st.n))
  rhs = st.fty - (st.fts.reshape(-1, constants.NUM_CHANNELS,
                                 reference.NUM_POINTS)
                  * beta[None, :, None]).reshape(st.fty.shape)
  return beta, _ridge(st.ftf, rhs, alpha * st.n), _ridge(
      st.ftf, st.ftc, cad_alpha * st.n)


def _sse(st: _Stats, beta: np.ndarray, w: np.ndarray, w_cad: np.ndarray
         ) -> Tuple[float, float]:
  """Sums of squared cycle and log-cadence errors of a fit on st's pairs."""
  bs = (st.fts.reshape(-1, constants.NUM_CHANNELS, reference.NUM_POINTS)
        * beta[None, :, None]).reshape(st.fty.shape)
  yy = st.yy - 2.0 * beta @ st.sy + (beta ** 2) @ st.ss
  e = yy - 2.0 * np.sum(w * (st.fty - bs)) + np.sum(w * (st.ftf @ w))
  ec = st.cc - 2.0 * w_cad @ st.ftc + w_cad @ st.ftf @ w_cad
  return float(e), float(ec)


def fit(train: TrialSet, *, rate_hz: float = constants.RATE_HZ,
        num_components: int = NUM_COMPONENTS,
        alphas: Sequence[float] = ALPHAS, max_folds: int = 20,
        pairs_per_subject: Optional[int] = None, seed: int = 0,
        offset_free: bool = True) -> CycleRegression:
  """Fits the regression on a training TrialSet (see module docstring).

  Cross-validation refits the population template without the held-out
  subject in every fold (a template that contains the held-out subject
  makes its errors look anti-correlated with the others' and penalises
  every population-level correction).

  Args:
    train: training trials [N, T, 6] of >= 3 subjects.
    rate_hz: sampling rate.
    num_components: C PCA components (fewer if the data has fewer).
    alphas: ridge penalties tried by LOSO cross-validation (per training
      pair: the penalty is alpha * number of pairs).
    max_folds: leave-one-subject-out up to this many subjects; more
      subjects (a pretraining population) get 5 seeded subject folds.
    pairs_per_subject: pairs used per subject (0 = all); default all up to
      max_folds subjects, else 64 random ones (memory: a 300-subject
      population has 227k pairs of 606 values).
    seed: seeds the folds and the pair subsets.
    offset_free: PCA features without each channel's cycle mean (see
      ``CycleRegression.offset_free``; False reproduces the first version).

  Raises:
    DataError: fewer than 3 subjects with usable trials at 2 speeds.
  """
  if len(train) == 0:
    raise DataError("cycle_regression: empty training set")
  infos = reference.precompute_cycles(train.x, rate_hz)
  ok = np.array([_usable(i) for i in infos], bool)
  subjects = [s for s in train.subjects
              if len(np.unique(train.speed[(train.subject == s) & ok])) >= 2]
  if len(subjects) < MIN_SUBJECTS:
    raise DataError(f"cycle_regression: needs >= {MIN_SUBJECTS} training "
                    f"subjects with detectable cycles at two or more speeds "
                    f"(leave-one-subject-out CV), got {len(subjects)}")
  template = reference.TemplateModel.fit(train, rate_hz=rate_hz, infos=infos)
  speed = np.asarray(train.speed, np.float64)
  dev = np.stack([source_deviation(infos[i].mean,
                                   template.population_cycle(speed[i]),
                                   offset_free)
                  for i in np.flatnonzero(ok)])
  pca_mean = dev.mean(0)
  _, sv, vt = np.linalg.svd(dev - pca_mean, full_matrices=False)
  c = int(min(num_components, np.sum(sv > 1e-8 * max(sv[0], 1e-12))))
  scale = np.maximum(sv[:c] / np.sqrt(max(dev.shape[0] - 1, 1)), 1e-9)
  nf = 4 + 2 * c + 1
  shell = CycleRegression(template, np.zeros(constants.NUM_CHANNELS),
                          pca_mean, vt[:c], scale, np.ones(nf),
                          np.zeros((nf, _P)), np.zeros(nf),
                          offset_free=offset_free)
  big = len(subjects) > max_folds
  if pairs_per_subject is None:
    pairs_per_subject = 64 if big else 0
  pairs = _subject_pairs(train, ok, subjects, pairs_per_subject, seed)
  feats = np.concatenate([_design(shell, speed, infos, *p).feats
                          for p in pairs])
  fscale = np.sqrt(np.mean(feats ** 2, axis=0))
  fscale = np.where(fscale > 1e-12, fscale, 1.0)
  alphas = [float(a) for a in alphas]
  # Folds of held-out subjects (one subject each up to max_folds subjects,
  # else 5 seeded groups), each with its own template.
  n_folds = 5 if big else len(subjects)
  fold_of = (np.random.default_rng(seed).permutation(len(subjects)) % n_folds
             if big else np.arange(len(subjects)))
  stats = []
  for k in range(n_folds):
    held = {subjects[i] for i in np.flatnonzero(fold_of == k)}
    keep = ~np.isin(train.subject, list(held))
    t_k = reference.TemplateModel.fit(
        train.select(keep), rate_hz=rate_hz,
        infos=[infos[i] for i in np.flatnonzero(keep)])
    shell_k = dataclasses.replace(shell, template=t_k)
    per = [_Stats.of(_design(shell_k, speed, infos, *p), fscale)
           for p in pairs]
    h = [st for st, f in zip(per, fold_of) if f == k]
    t = [st for st, f in zip(per, fold_of) if f != k]
    stats.append((sum(h[1:], h[0]), sum(t[1:], t[0])))
  n_pts = sum(h.m for h, _ in stats)
  n_pairs = sum(h.n for h, _ in stats)
  huge = 1e12                                  # = no correction at all
  template_mse = sum(_sse(h, *_solve(t, huge, huge, huge))[0]
                     for h, t in stats) / n_pts
  amp_mse = [sum(_sse(h, *_solve(t, a, huge, huge))[0] for h, t in stats)
             / n_pts for a in alphas]
  amp_alpha = alphas[int(np.argmin(amp_mse))]
  cv = [[_sse(h, *_solve(t, amp_alpha, a, a)) for h, t in stats]
        for a in alphas]
  cyc_mse = [sum(e[0] for e in row) / n_pts for row in cv]
  cad_mse = [sum(e[1] for e in row) / n_pairs for row in cv]
  alpha = alphas[int(np.argmin(cyc_mse))]
  cad_alpha = alphas[int(np.argmin(cad_mse))]
  per, scaled_feats = [], []
  for p in pairs:
    design = _design(shell, speed, infos, *p)
    per.append(_Stats.of(design, fscale))
    scaled_feats.append(design.feats / fscale)
  everyone = sum(per[1:], per[0])
  amp_gain, w, w_cad = _solve(everyone, amp_alpha, alpha, cad_alpha)
  corrections = [f @ w for f in scaled_feats if len(f)]
  correction_range = np.stack([
      np.min([c.min(axis=0) for c in corrections], axis=0),
      np.max([c.max(axis=0) for c in corrections], axis=0)])
  num_pairs = int(sum(p[0].size for p in pairs))
  logging.info("cycle_regression: %d subjects, %d pairs, %d components; "
               "amplitude gains %s; alpha %.3g (cycle), %.3g (cadence) by "
               "%s CV; CV MSE %.3f (template %.3f)", len(subjects),
               num_pairs, c, np.round(amp_gain[:3], 2), alpha, cad_alpha,
               f"{n_folds}-fold subject", min(cyc_mse), template_mse)
  return dataclasses.replace(
      shell, amp_gain=amp_gain, feature_scale=fscale, weights=w,
      cad_weights=w_cad, correction_range=correction_range,
      alpha=alpha, cad_alpha=cad_alpha,
      amp_alpha=amp_alpha,
      cv={"alphas": alphas, "amp_mse": [float(e) for e in amp_mse],
          "cycle_mse": [float(e) for e in cyc_mse],
          "cadence_mse": [float(e) for e in cad_mse],
          "template_mse": float(template_mse)},
      num_subjects=len(subjects), num_pairs=num_pairs)


def model_from_dict(d: Mapping[str, Any]
                    ) -> Union[reference.TemplateModel, CycleRegression]:
  """A checkpoint's saved population model: TemplateModel, or the
  CycleRegression of data.reference='regression' (``kind`` field)."""
  if isinstance(d, Mapping) and d.get("kind") == "cycle_regression":
    return CycleRegression.from_dict(d)
  return reference.TemplateModel.from_dict(d)
