"""The console scripts of setup.py resolve inside the installed package.

Each target must import from ``gaitjax`` alone (never ``launch.*``, which
``pip install .`` does not ship), and every launch/*.py must be a thin
wrapper of the gaitjax.cli module of the same name.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def console_scripts():
  """[(script, 'module:function')] parsed from setup.py's entry_points."""
  tree = ast.parse((REPO / "setup.py").read_text())
  for node in ast.walk(tree):
    if isinstance(node, ast.keyword) and node.arg == "entry_points":
      entries = ast.literal_eval(node.value)["console_scripts"]
      return [tuple(s.strip() for s in e.split("=", 1)) for e in entries]
  raise AssertionError("setup.py has no entry_points")


def test_setup_declares_the_console_scripts():
  names = [name for name, _ in console_scripts()]
  assert {"gaitjax-train", "gaitjax-sample", "gaitjax-evaluate",
          "gaitjax-quickstart", "gaitjax-build-data",
          "gaitjax-benchmark"} <= set(names)


@pytest.mark.parametrize("script,target", console_scripts())
def test_entry_point_target_imports_from_the_package(script, target,
                                                     tmp_path):
  module, func = target.split(":")
  assert module.startswith("gaitjax."), (script, target)
  # A fresh interpreter in a folder holding only this checkout's gaitjax
  # package, as site-packages holds it after `pip install .`: no launch/.
  (tmp_path / "gaitjax").symlink_to(REPO / "gaitjax")
  code = (f"import importlib, sys; m = importlib.import_module({module!r}); "
          f"assert m.__file__.startswith({str(tmp_path)!r}), m.__file__; "
          f"assert callable(getattr(m, {func!r})); "
          f"assert 'launch' not in sys.modules")
  r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True,
                     capture_output=True, timeout=120)
  assert r.returncode == 0, r.stderr[-2000:]


def test_launch_scripts_are_thin_wrappers():
  for path in sorted((REPO / "launch").glob("*.py")):
    if path.name == "__init__.py":
      continue
    text = path.read_text()
    assert f"from gaitjax.cli import {path.stem} as _impl" in text, path
    assert (REPO / "gaitjax" / "cli" / path.name).is_file(), path
    assert len(text.splitlines()) < 30, f"{path}: keep launch/ thin"


def test_default_real_data_folder_is_beside_the_checkout(monkeypatch):
  """real_check / compare_cohorts default to ../shared/data of the checkout
  (the modules moved into gaitjax/cli/; the default must not move)."""
  import importlib
  from gaitjax import cli
  monkeypatch.delenv("GAITJAX_SHARED_DATA", raising=False)
  fresh = importlib.reload(cli)
  assert pathlib.Path(fresh.REPO_ROOT).resolve() == REPO
  assert pathlib.Path(fresh.DEFAULT_SHARED_DATA).resolve() == \
      (REPO.parent / "shared" / "data").resolve()


def test_quickstart_on_a_stale_workdir_says_what_to_do(tmp_path, monkeypatch):
  from gaitjax import quickstart
  from gaitjax.data import tfds_builders
  from gaitjax.errors import DataError

  def stale(*args, **kwargs):
    raise DataError("x was built with different parameters (generator); "
                    "pass --overwrite to rebuild")

  monkeypatch.setattr(tfds_builders, "build", stale)
  with pytest.raises(DataError, match="new --workdir.*delete"):
    quickstart.build_data(str(tmp_path), quickstart.SMOKE)


def test_quickstart_trains_and_compares_on_one_training_population(
    tmp_path, monkeypatch):
  """Every learned model of the quickstart and the template/regression rows
  learn from the same 290-subject population, not the cohorts' 13."""
  from gaitjax import quickstart
  from gaitjax.data import tfds_builders
  from gaitjax.eval import evaluate as evaluate_lib
  from gaitjax.eval import report
  from gaitjax.train import loop

  built, trained, evaluated = [], {}, {}
  monkeypatch.setattr(tfds_builders, "build",
                      lambda name, data_dir, **kw: built.append(name))
  def train(config, out):
    trained[pathlib.Path(out).name] = config
    pathlib.Path(out).mkdir(parents=True)
    return {}

  monkeypatch.setattr(loop, "train_and_evaluate", train)
  monkeypatch.setattr(evaluate_lib, "evaluate",
                      lambda models, **kw: evaluated.update(kw) or "results")
  monkeypatch.setattr(report, "format_overall", lambda results: results)
  monkeypatch.setattr(report, "format_paired", lambda results, main: "")
  assert quickstart.run(str(tmp_path), quickstart.SMOKE) == "results"
  assert built == [tfds_builders.ALL_SYNTHETIC, "synthetic_population"]
  assert sorted(trained) == ["diffusion", "mlp", "tcn"]
  for name, config in trained.items():
    assert config.data.dataset == "synthetic_population", name
  assert trained["diffusion"].data.reference == "regression"
  assert evaluated["regression_dataset"] == "synthetic_population"
  # Every able-bodied person of the cohort is unseen: all are scored.
  assert evaluated["split"] == "all"
  # The prediction scored is the mean of several samples (README).
  assert evaluated["num_samples"] == quickstart.SMOKE.num_samples > 1
  assert quickstart.QuickstartSettings().num_samples >= 8


def test_quickstart_refuses_a_model_trained_by_another_recipe(tmp_path,
                                                              monkeypatch):
  """An earlier quickstart's finished stage (no recipe in its marker, or
  another config) is not reused under the new recipe's name."""
  from gaitjax import quickstart
  from gaitjax.errors import DataError
  from gaitjax.train import loop

  def train(config, out):
    pathlib.Path(out).mkdir(parents=True)
    return {}

  monkeypatch.setattr(loop, "train_and_evaluate", train)
  args = (str(tmp_path), "diffusion", "configs.quickstart", "data", 1.0,
          quickstart.SMOKE)
  quickstart.train_model(*args, dataset="synthetic_population")
  # Same recipe: reused.
  assert quickstart.train_model(*args, dataset="synthetic_population")
  with pytest.raises(DataError, match="another quickstart recipe.*new --workdir"):
    quickstart.train_model(*args, dataset="synthetic_able_bodied")
  marker = tmp_path / "diffusion" / "DONE.json"
  marker.write_text('{"seconds": 1.0}')       # an earlier quickstart's marker
  with pytest.raises(DataError, match="configs.cpu_small on synthetic_able_bodied"):
    quickstart.train_model(*args, dataset="synthetic_population")
