"""Orbax checkpoints: round trip, latest + best kept, damage, inference load."""
import logging as py_logging
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from gaitjax.data import normalize
from gaitjax.errors import CheckpointError
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import state as state_lib
from gaitjax.train import tasks

T = 8
STATS = {"able_bodied": normalize.NormStats(mean=np.arange(6.0),
                                            std=np.ones(6)),
         "stroke": normalize.NormStats(mean=np.zeros(6), std=2 * np.ones(6))}


def _task(width: int = 6) -> tasks.Task:
  def init_params(rng, batch):
    del batch
    return {"dense": {"kernel": jax.random.normal(rng, (6, width)),
                      "bias": jnp.zeros((width,))}}

  def predict_fn(params, batch, rng):
    del rng
    return batch["x_src"] @ params["dense"]["kernel"][:, :6]

  def loss_fn(params, batch, rng, *, train):
    del train
    loss = jnp.mean((predict_fn(params, batch, rng) - batch["x_tgt"]) ** 2)
    return loss, {"loss": loss}

  return tasks.Task(init_params, loss_fn, predict_fn, name="ckpt_fake")


tasks.register_task("ckpt_fake", lambda config: _task(
    config.model.get("fake_width", 6)))


def _config(width: int = 6):
  config = tiny.get_config()
  config.model.name = "ckpt_fake"
  config.model.fake_width = width
  config.data.seq_len = T
  return config


def _state(seed: int, config=None):
  config = config or _config()
  task = tasks.get_task(config)
  state = state_lib.create_train_state(jax.random.PRNGKey(seed), config,
                                       task, tasks.dummy_batch(config, 2))
  return jax.device_put(state, ckpt_lib.replicated_sharding())


def _save(ckpt, state, step, val_loss, config=None):
  assert ckpt.save(state, step=step, val_loss=val_loss,
                   config=config or _config(), stats=STATS,
                   template={"speeds": np.array([0.5, 1.0])},
                   pipeline={"step": step, "seed": 0}, dataset="fake")


def _abstract(config=None):
  config = config or _config()
  return ckpt_lib.abstract_train_state(config, tasks.get_task(config),
                                       tasks.dummy_batch(config, 2))


def test_save_restore_round_trip(tmp_path):
  state = _state(0)
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints")
  _save(ckpt, state, 7, 0.5)
  ckpt.wait()
  out = ckpt.restore(_abstract())
  ckpt.close()
  assert out.step == 7 and out.pipeline == {"step": 7, "seed": 0}
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b),
               out.state.params, state.params)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b),
               out.state.opt_state, state.opt_state)
  assert out.config["model"]["name"] == "ckpt_fake"
  assert out.stats["stroke"]["std"] == [2.0] * 6
  assert out.template == {"speeds": [0.5, 1.0]}
  assert out.metadata["dataset"] == "fake" and out.metadata["val_loss"] == 0.5


def test_latest_and_best_are_both_kept(tmp_path):
  ckpt = ckpt_lib.Checkpointer(tmp_path)
  for step, val in [(1, 3.0), (2, 1.0), (3, 2.0), (4, 4.0)]:
    _save(ckpt, _state(step), step, val)
    ckpt.wait()
  assert ckpt.all_steps() == [2, 4]
  assert ckpt.best_step() == 2 and ckpt.latest_step() == 4
  ckpt.close()
  best = ckpt_lib.load_for_inference(tmp_path, "best")
  latest = ckpt_lib.load_for_inference(tmp_path, "latest")
  assert (best.step, latest.step) == (2, 4)
  np.testing.assert_array_equal(best.params["dense"]["kernel"],
                                _state(2).params["dense"]["kernel"])
  assert best.checksum != latest.checksum
  assert best.checksum == ckpt_lib.load_for_inference(tmp_path, 2).checksum


def _damage(step_dir: pathlib.Path, how: str) -> None:
  files = sorted(f for f in (step_dir / "state").rglob("*")
                 if f.is_file() and "/d/" in str(f))
  assert files, f"no data files under {step_dir}"
  for f in files:
    if how == "truncate":
      with open(f, "r+b") as fh:
        fh.truncate(f.stat().st_size // 2)
    else:
      f.unlink()


# A damaged read leaves an orbax asyncio callback on a closed loop (harmless).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("how", ["truncate", "delete"])
def test_damaged_newest_falls_back_with_warning(tmp_path, how, caplog):
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints")
  _save(ckpt, _state(1), 1, 1.0)   # best
  ckpt.wait()
  _save(ckpt, _state(2), 2, 2.0)   # latest
  ckpt.close()
  _damage(tmp_path / "checkpoints" / "2", how)
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints")
  with caplog.at_level(py_logging.WARNING):
    out = ckpt.restore(_abstract())
  assert out.step == 1
  np.testing.assert_array_equal(out.state.params["dense"]["kernel"],
                                _state(1).params["dense"]["kernel"])
  assert any("checkpoints/2" in r.getMessage() and "damaged" in
             r.getMessage() for r in caplog.records), caplog.text
  # Moved aside, so a resumed run can save step 2 again.
  assert ckpt.all_steps() == [1]
  assert list((tmp_path / ckpt_lib.DAMAGED_DIR).iterdir())
  _save(ckpt, _state(3), 2, 0.5)
  ckpt.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_explicit_step_is_checkpoint_error(tmp_path):
  ckpt = ckpt_lib.Checkpointer(tmp_path)
  _save(ckpt, _state(1), 1, 1.0)
  ckpt.wait()
  _save(ckpt, _state(2), 2, 2.0)
  ckpt.close()
  _damage(tmp_path / "2", "truncate")
  with pytest.raises(CheckpointError, match="2 is damaged"):
    ckpt_lib.load_for_inference(tmp_path, 2)
  assert ckpt_lib.load_for_inference(tmp_path, "latest").step == 1


def test_shape_mismatch_is_one_line_checkpoint_error(tmp_path):
  ckpt = ckpt_lib.Checkpointer(tmp_path)
  _save(ckpt, _state(0), 1, 1.0)
  ckpt.close()
  ckpt = ckpt_lib.Checkpointer(tmp_path)
  with pytest.raises(CheckpointError) as e:
    ckpt.restore(_abstract(_config(width=8)))
  ckpt.close()
  msg = str(e.value)
  assert "\n" not in msg and "dense/" in msg and "(6" in msg and "(8" in msg
  with pytest.raises(CheckpointError, match="does not match the config"):
    ckpt_lib.load_for_inference(tmp_path, config=_config(width=8))


def test_load_for_inference_bundle_and_missing(tmp_path):
  with pytest.raises(CheckpointError, match="does not exist"):
    ckpt_lib.load_for_inference(tmp_path / "nope")
  (tmp_path / "empty").mkdir()
  with pytest.raises(CheckpointError, match="no checkpoints"):
    ckpt_lib.load_for_inference(tmp_path / "empty")
  workdir = tmp_path / "run"
  ckpt = ckpt_lib.Checkpointer(workdir / "checkpoints")
  _save(ckpt, _state(0), 3, 1.0)
  ckpt.close()
  bundle = ckpt_lib.load_for_inference(workdir)
  assert bundle.step == 3 and bundle.path.endswith("checkpoints/3")
  assert bundle.config.model.name == "ckpt_fake"
  assert isinstance(bundle.config.data.pair_fractions, tuple)
  np.testing.assert_array_equal(bundle.stats["able_bodied"].mean,
                                np.arange(6.0))
  assert set(bundle.stats) == {"able_bodied", "stroke"}
  assert len(bundle.checksum) == 64
  # The checkpoints/ folder and the step folder work as paths too.
  assert ckpt_lib.load_for_inference(workdir / "checkpoints").step == 3
  assert ckpt_lib.load_for_inference(workdir / "checkpoints" / "3").step == 3
  with pytest.raises(CheckpointError, match="no step 9"):
    ckpt_lib.load_for_inference(workdir, 9)
