"""Baseline rows beyond the three simple ones, built for one evaluation.

* ``cycle_regression`` (``gaitjax.data.regression``): fitted on the 'train'
  split of the evaluated able-bodied dataset (or of ``regression_dataset``,
  e.g. the pretraining population when the model was pretrained on it);
  evaluated on every cohort, like the cycle template.
* ``cycle_template_loso`` (``baseline_rows.LosoTemplateBaseline``): the
  cycle template fitted on the evaluated able-bodied dataset's other
  subjects (all splits, the source's subject left out); able-bodied only.
* ``bound`` and ``noise_floor`` (``gaitjax.eval.bound``): only when the
  evaluated able-bodied dataset is a synthetic build whose build record
  (seed, speed response, raw rate, duration) lets the generator be rerun;
  evaluated on the able-bodied cohort only (``cohorts`` attribute).

``build_rows`` never fails the evaluation: a row that cannot be built is
left out with a note saying why.
"""
import logging
from typing import Any, Dict, List, Optional, Tuple

from gaitjax import constants
from gaitjax.data import regression
from gaitjax.errors import GaitjaxError
from gaitjax.eval import baseline_rows


def _regression_row(data_dir: str, fit_on: str, rate_hz: float):
  """(RegressionBaseline fitted on fit_on's train split, report note,
  metrics.json info)."""
  from gaitjax.data import dataset as dataset_lib
  train = dataset_lib.load_split(data_dir, fit_on, "train")
  model = regression.fit(train, rate_hz=rate_hz)
  note = (f"cycle_regression: fitted on the {fit_on} train split "
          f"({model.num_subjects} subjects, {model.num_pairs} pairs); "
          f"amplitude gains "
          f"{', '.join(f'{b:.2f}' for b in model.amp_gain[:3])}"
          f" (hip, knee, ankle), alpha {model.alpha:.3g} (cycle) / "
          f"{model.cad_alpha:.3g} (cadence) by leave-one-subject-out CV")
  return (baseline_rows.RegressionBaseline(
      model, rate_hz, source=f"{fit_on} train split"), note,
          dict(model.summary(), dataset=fit_on))


def build_rows(data_dir: str, able_bodied_dataset: str, *,
               rate_hz: float = constants.RATE_HZ, pool=None,
               with_oracle: bool = True,
               regression_dataset: Optional[str] = None,
               evaluates_train_split: bool = False
               ) -> Tuple[Dict[str, Any], List[str], Dict[str, Any]]:
  """The extra rows for an evaluation.

  Args:
    data_dir: the build folder.
    able_bodied_dataset: the evaluated able-bodied dataset.
    rate_hz: sampling rate of the data.
    pool: TrialSet of every able-bodied trial (all splits), for ``bound``
      and ``noise_floor`` to recognise a source's subject.
    with_oracle: try the synthetic ``bound``/``noise_floor`` rows.
    regression_dataset: fit cycle_regression on this dataset's 'train'
      split (default: able_bodied_dataset's).
    evaluates_train_split: the evaluation includes able_bodied_dataset's
      train subjects (--split=all or train); a regression fitted on them
      would be scored on its own training people, so it is left out with a
      note unless regression_dataset names another dataset.

  Returns:
    (name -> generator-like row, notes for the report, info for
    metrics.json).
  """
  rows: Dict[str, Any] = {}
  notes: List[str] = []
  info: Dict[str, Any] = {}
  fit_on = regression_dataset or able_bodied_dataset
  if evaluates_train_split and fit_on == able_bodied_dataset:
    notes.append(f"cycle_regression left out: it would be fitted on the "
                 f"{fit_on} train split, whose subjects are evaluated here; "
                 f"pass --regression_dataset=<another build>")
  else:
    try:
      row, note, row_info = _regression_row(data_dir, fit_on, rate_hz)
      rows[regression.NAME] = row
      info[regression.NAME] = row_info
      notes.append(note)
    except GaitjaxError as e:
      notes.append(f"cycle_regression left out: {e}")
  if pool is not None:
    try:
      rows[baseline_rows.LOSO_TEMPLATE] = baseline_rows.LosoTemplateBaseline(
          pool, rate_hz)
      notes.append(f"{baseline_rows.LOSO_TEMPLATE}: the cycle template "
                   f"fitted on the evaluated dataset's other subjects (each "
                   f"source's subject left out; {len(pool.subjects)} "
                   f"subjects)")
    except GaitjaxError as e:
      notes.append(f"{baseline_rows.LOSO_TEMPLATE} left out: {e}")
  if with_oracle and pool is not None:
    from gaitjax.eval import bound
    try:
      oracle_rows, note = bound.build_rows(data_dir, able_bodied_dataset,
                                           pool)
      rows.update(oracle_rows)
      if note:
        notes.append(note)
    except GaitjaxError as e:
      notes.append(f"bound / noise_floor left out: {e}")
  for name in rows:
    logging.info("extra baseline row: %s", name)
  return rows, notes, info
