"""Tests of gaitjax.benchmark (records, FLOP counting) and of the CPU
chunking in models/attention.py and models/denoiser.py that the benchmark
measures. No timed assertions: the machine is shared."""
import functools
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gaitjax import benchmark
from gaitjax.bench import gpu_smoke as bench_gpu_smoke
from gaitjax.bench import profile as bench_profile
from gaitjax.errors import ConfigError
from gaitjax.models import attention
from gaitjax.models import denoiser

TIMED = {"seconds", "min_seconds", "repeats"}


def _capture():
  lines = []
  return lines, lines.append


def _parsed(lines):
  return [json.loads(line) for line in lines]


def test_compiled_flops_of_a_matmul_is_2n3():
  n = 128
  a = jnp.ones((n, n), jnp.float32)
  flops = benchmark.compiled_flops(jax.jit(lambda x, y: x @ y), a, a)
  assert flops is not None and flops > 0
  assert abs(flops - 2 * n ** 3) / (2 * n ** 3) < 0.05


def test_compiled_flops_counts_a_scan_body_once():
  # Why the sampler multiplies one denoise call's FLOPs by num_steps.
  a = jnp.ones((64, 64), jnp.float32)
  one = benchmark.compiled_flops(jax.jit(lambda x: x @ x), a)
  scan = benchmark.compiled_flops(jax.jit(
      lambda x: jax.lax.scan(lambda c, _: (c @ x, None), x, None,
                             length=10)[0]), a)
  assert scan < 3 * one


def test_emit_time_stats_and_matmul_peak_records():
  lines, print_fn = _capture()
  stats = benchmark.time_stats(lambda: None, repeats=3, warmup=0)
  assert set(stats) == TIMED and stats["repeats"] == 3
  rec = benchmark.matmul_peak(n=64, repeats=2, print_fn=print_fn)
  (parsed,) = _parsed(lines)
  assert parsed == json.loads(json.dumps(rec))
  assert {"name", "n", "flops", "flops_per_s", "xla_flops"} | TIMED <= set(
      parsed)
  assert parsed["name"] == "dense_matmul" and parsed["flops_per_s"] > 0
  assert parsed["flops"] == 2 * 64 ** 3


def test_linear_fit_and_sampling_scaling_records():
  fit = benchmark.linear_fit([10, 50, 100], [1.5, 5.5, 10.5])
  assert fit["slope"] == pytest.approx(0.1) and fit["intercept"] == (
      pytest.approx(0.5))
  recs = [{"num_steps": s, "batch_size": b, "seconds": 0.01 * s * b}
          for s in (10, 100) for b in (1, 16)]
  lines, print_fn = _capture()
  out = benchmark.sample_scaling(recs, "x", print_fn=print_fn)
  assert _parsed(lines) == out and len(out) == 4
  by_steps = [r for r in out if r["versus"] == "num_steps"
              and r["batch_size"] == 16]
  assert by_steps[0]["slope_seconds_per_unit"] == pytest.approx(0.16)


def test_bench_sample_and_train_tiny_records():
  config = benchmark.size_config("tiny")
  config.data.seq_len = 40
  config.model.patch_size = config.model.lstm_patch_size = 4
  lines, print_fn = _capture()
  (rec,) = benchmark.bench_sample("tiny", (2,), (3,), peak=1e9, repeats=1,
                                  config=config, print_fn=print_fn)
  assert {"name", "size", "batch_size", "num_steps", "sequences_per_s",
          "flops", "flops_method", "mfu", "compile_seconds"} | TIMED <= set(
              rec)
  assert rec["name"] == "ddim_sample" and rec["num_steps"] == 3
  assert "num_steps" in rec["flops_method"] and rec["flops"] > 0
  assert rec["mfu"] == pytest.approx(rec["flops"] / rec["seconds"] / 1e9)
  train = benchmark.bench_train("tiny", 2, peak=1e9, repeats=1,
                                config=config, print_fn=print_fn)
  assert {"name", "pairs_per_s", "flops", "mfu", "first_loss",
          "num_params"} | TIMED <= set(train)
  assert train["flops"] > 0 and np.isfinite(train["first_loss"])
  assert _parsed(lines) == [json.loads(json.dumps(rec)),
                            json.loads(json.dumps(train))]


def test_bench_eval_and_pipeline_records():
  lines, print_fn = _capture()
  ev = benchmark.bench_eval(2, repeats=1, print_fn=print_fn)
  assert [r["function"] for r in ev] == ["cycle_mae", "pair_records"]
  assert all(r["pairs_per_s"] > 0 and TIMED <= set(r) for r in ev)
  pipe = benchmark.bench_pipeline(batch_size=4, num_batches=2,
                                  num_subjects=2, references=("source",),
                                  print_fn=print_fn)
  assert [r["reference"] for r in pipe] == ["source"]
  assert pipe[0]["pairs_per_s"] > 0
  assert len(_parsed(lines)) == 3


def test_table_rows_request_and_fractions_on_tiny():
  lines, print_fn = _capture()
  records = benchmark.run_benchmarks(("tiny",), "table", repeats=1,
                                     print_fn=print_fn)
  rows = {r["name"]: r for r in records}
  assert {"train_step", "ddim_sample", "generate_request"} <= set(rows)
  req = rows["generate_request"]
  assert req["batch_size"] == (benchmark.REQUEST_SAMPLES
                               * len(benchmark.REQUEST_SPEEDS)) == 32
  assert req["encoder_runs"] == 1 and req["sequences_per_s"] > 0
  for name in ("train_step", "ddim_sample", "generate_request"):
    r = rows[name]
    # The fraction is against the matmul rate measured beside the row.
    assert r["mfu"] == pytest.approx(r["flops"] / r["seconds"]
                                     / r["matmul_flops_per_s"])
  assert "fraction" in lines[-1] and "request 8x4" in lines[-1]


def test_unknown_size_or_what_is_a_config_error():
  with pytest.raises(ConfigError, match="sizes"):
    benchmark.size_config("huge")
  with pytest.raises(ConfigError, match="what"):
    benchmark.run_benchmarks(("tiny",), "everything", print_fn=lambda _: None)


# ----------------------------------------- the CPU chunking it measures


def test_chunked_attention_matches_flax_default():
  k = jax.random.split(jax.random.key(0), 3)
  q, kk, v = (jax.random.normal(x, (6, 20, 2, 8)) for x in k)
  want = nn.dot_product_attention(q, kk, v)
  for budget in (None, 2 * 20 * 20, 3 * 2 * 20 * 20, 10 ** 9):
    got = jax.jit(functools.partial(attention.chunked_attention,
                                    max_chunk_elements=budget))(q, kk, v)
    np.testing.assert_allclose(got, want, atol=2e-6, rtol=1e-5)
  # And its gradient (training differentiates through the blocks).
  loss = lambda f: lambda q: jnp.sum(jnp.sin(f(q, kk, v)))
  want_g = jax.grad(loss(nn.dot_product_attention))(q)
  got_g = jax.jit(jax.grad(loss(functools.partial(
      attention.chunked_attention, max_chunk_elements=2 * 20 * 20))))(q)
  np.testing.assert_allclose(got_g, want_g, atol=1e-5, rtol=1e-4)
  with pytest.raises(ValueError, match="mask"):
    attention.chunked_attention(q, kk, v, mask=jnp.ones((6, 2, 20, 20), bool))


def test_grouped_attention_backward_matches_autodiff_of_the_reference():
  """The chunked path's hand-written backward (recomputed probabilities)
  gives flax's gradients for q, k and v, also with keys of another length
  and in bf16 with a float32 softmax."""
  ks = jax.random.split(jax.random.key(3), 4)
  q = jax.random.normal(ks[0], (4, 24, 2, 8))
  kk, v = (jax.random.normal(x, (4, 16, 2, 8)) for x in ks[1:3])
  cot = jax.random.normal(ks[3], (4, 24, 2, 8))
  loss = lambda f: lambda *qkv: jnp.sum(jnp.sin(f(*qkv)) * cot)
  want = jax.grad(loss(nn.dot_product_attention), argnums=(0, 1, 2))(q, kk, v)
  for rows in (1, 2):  # groups of one and of two batch rows
    f = functools.partial(attention.chunked_attention,
                          max_chunk_elements=rows * 2 * 24 * 16)
    got = jax.jit(jax.grad(loss(f), argnums=(0, 1, 2)))(q, kk, v)
    for g, w in zip(got, want):
      np.testing.assert_allclose(g, w, atol=1e-5, rtol=1e-4)
  f = functools.partial(attention.chunked_attention, dtype=jnp.bfloat16,
                        force_fp32_for_softmax=True,
                        max_chunk_elements=2 * 24 * 16)
  got = jax.jit(jax.grad(loss(f), argnums=(0, 1, 2)))(q, kk, v)
  for g, w in zip(got, want):
    assert g.dtype == jnp.float32
    np.testing.assert_allclose(g, w, atol=0.05 * float(jnp.max(jnp.abs(w))))


def test_grouped_attention_gradient_keeps_no_probabilities():
  """Autodiff of the group loop stored every group's [H, Lq, Lk]
  probabilities for the backward; the hand-written backward recomputes
  them, so the compiled gradient needs less scratch memory by about
  that array ([8, 2, 128, 128] float32 = 1 MiB here)."""
  from jax import lax  # pylint: disable=g-import-not-at-top
  q, kk, v = (jax.random.normal(x, (8, 128, 2, 16)) for x in
              jax.random.split(jax.random.key(4), 3))
  budget = 2 * 128 * 128  # one batch row per group

  def stored(q, kk, v):  # the loop differentiated by autodiff
    scale = q / jnp.sqrt(16.0)
    return lax.map(lambda a: attention._attend(*a, jnp.float32, None)[0],  # pylint: disable=protected-access
                   (scale[:, None], kk[:, None], v[:, None]))[:, 0]

  recomputed = functools.partial(attention.chunked_attention,
                                 max_chunk_elements=budget)
  np.testing.assert_allclose(recomputed(q, kk, v), stored(q, kk, v),
                             atol=1e-5)
  scratch = {}
  for name, f in (("stored", stored), ("recomputed", recomputed)):
    grad = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.sin(f(*a))),
                            argnums=(0, 1, 2)))
    mem = grad.lower(q, kk, v).compile().memory_analysis()
    assert mem is not None, "XLA:CPU reported no memory analysis"
    scratch[name] = mem.temp_size_in_bytes
  probabilities = 8 * 2 * 128 * 128 * 4
  assert scratch["recomputed"] < scratch["stored"] - 0.5 * probabilities, (
      scratch)


def test_training_gradient_is_the_same_with_attention_in_groups(monkeypatch):
  """The whole model's training loss and gradient when every attention
  layer runs in groups of one batch row (the paper size on CPU; here forced
  on the tiny config) equal those of the ungrouped attention."""
  from gaitjax.train import tasks  # pylint: disable=g-import-not-at-top
  config = benchmark.size_config("tiny")
  task = tasks.get_task(config)
  batch = {k: jnp.asarray(v[0]) for k, v in
           benchmark.random_batch(config, 4).items()}
  params = jax.jit(task.init_params)(jax.random.key(0), batch)

  def loss_and_grad():  # traced afresh: the budget is read when tracing
    return jax.jit(jax.value_and_grad(
        lambda p: task.loss_fn(p, batch, jax.random.key(1), train=True)[0]))(
            params)

  monkeypatch.setattr(attention, "CPU_CHUNK_ELEMENTS", 1 << 62)
  want_loss, want_grad = loss_and_grad()
  tokens = int(config.data.seq_len) // int(config.model.patch_size)
  monkeypatch.setattr(attention, "CPU_CHUNK_ELEMENTS",
                      int(config.model.num_heads) * tokens * tokens)
  got_loss, got_grad = loss_and_grad()
  np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
  got, want = (jnp.concatenate([x.ravel() for x in jax.tree.leaves(t)])
               for t in (got_grad, want_grad))
  scale = float(jnp.max(jnp.abs(want)))
  assert scale > 0
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)
  assert float(jnp.linalg.norm(got - want) / jnp.linalg.norm(want)) < 1e-5


def test_chunked_mlp_is_two_denses_with_the_same_parameters():
  h = jax.random.normal(jax.random.key(1), (1, 29, 8))

  class TwoDense(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.Dense(8, name="fc2")(nn.gelu(nn.Dense(32, name="fc1")(x)))

  ref = TwoDense().init(jax.random.key(2), h)
  # 29 rows (prime) x 32 hidden in chunks of 4 rows: padded to 32 rows.
  mlp = denoiser.MLPBlock(32, max_chunk_elements=4 * 32)
  params = mlp.init(jax.random.key(2), h)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, ref)
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref)):
    np.testing.assert_array_equal(a, b)  # same init: checkpoints compatible
  want = TwoDense().apply(ref, h)
  np.testing.assert_allclose(mlp.apply(params, h), want, atol=1e-6)
  np.testing.assert_allclose(mlp.apply(params, h, train=True), want,
                             atol=1e-6)


# ------------------------------------------------------------- gpu_smoke


def test_gpu_smoke_on_a_tiny_config_writes_the_summary(tmp_path):
  config = benchmark.size_config("tiny")
  config.data.seq_len = 40
  config.model.patch_size = config.model.lstm_patch_size = 4
  out = tmp_path / "smoke.json"
  lines, print_fn = _capture()
  rec = benchmark.gpu_smoke("tiny", config=config, ddim_steps=2,
                            ddim_batch=2, repeats=1, matmul_n=64,
                            pipeline_subjects=2, pipeline_batches=2,
                            output=str(out), print_fn=print_fn)
  assert json.loads(out.read_text()) == json.loads(json.dumps(rec))
  assert not list(tmp_path.glob("*.tmp"))  # written atomically, no leftovers
  for key in bench_gpu_smoke._GPU_SMOKE_NUMBERS:  # pylint: disable=protected-access
    assert np.isfinite(rec[key]) and rec[key] > 0, key
  assert rec["verdict"] in benchmark.VERDICTS
  assert rec["pipeline_headroom"] == pytest.approx(
      rec["pipeline_pairs_per_s"] / rec["needed_pairs_per_s"])
  # On CPU the pairs/s needed are those of one H100-class GPU at 40 % MFU.
  assert rec["backend"] == "cpu" and "H100" in rec["needed_basis"]
  assert rec["needed_pairs_per_s"] == pytest.approx(
      rec["train_batch_size"] * rec["h100_estimate_steps_per_s"])
  assert rec["h100_estimate_steps_per_s"] == pytest.approx(
      0.4 * 989e12 / rec["train_flops_per_step"])
  assert rec["datasheet_flops_per_s"] is None
  assert rec["train_mfu_vs_datasheet"] is None
  assert rec["sample_num_steps"] == 2 and rec["sample_batch_size"] == 2
  assert rec["train_mfu_vs_matmul"] == pytest.approx(
      rec["train_flops_per_step"] / rec["train_seconds_per_step"]
      / rec["matmul_flops_per_s"])
  (table,) = lines
  assert "verdict" in table and rec["verdict"] in table


def test_gpu_smoke_verdict_datasheet_and_bad_flags():
  assert benchmark.pipeline_verdict(300.0, 100.0) == (
      "data_not_bottleneck", 3.0)
  assert benchmark.pipeline_verdict(150.0, 100.0)[0] == "data_marginal"
  assert benchmark.pipeline_verdict(50.0, 100.0)[0] == "data_bottleneck"
  assert benchmark.datasheet_peak("NVIDIA H100 80GB HBM3")[0] == 989e12
  assert benchmark.datasheet_peak("NVIDIA H100 PCIe")[0] == 756e12
  assert benchmark.datasheet_peak("NVIDIA H200")[0] == 989e12
  assert benchmark.datasheet_peak("NVIDIA A100-SXM4-80GB")[0] == 312e12
  assert benchmark.datasheet_peak("NVIDIA L40S")[0] == 362e12
  assert benchmark.datasheet_peak("cpu") is None
  with pytest.raises(ConfigError, match="--ddim_steps"):
    benchmark.gpu_smoke("tiny", ddim_steps=-1, print_fn=lambda _: None)
  with pytest.raises(ConfigError, match="--pipeline_batches"):
    benchmark.gpu_smoke("tiny", pipeline_batches=0, print_fn=lambda _: None)


def test_op_profile_splits_a_function_into_matmul_and_elementwise():
  a = jnp.ones((64, 64), jnp.float32)
  fn = jax.jit(lambda x: jnp.tanh(x @ x) * 2.0 + jnp.exp(x).sum(0))
  prof = benchmark.op_profile(fn, a, repeats=2)
  assert set(prof["by_kind"]) <= {"matmul", "elementwise", "loop"}
  assert prof["by_kind"].get("matmul", 0) > 0
  assert prof["top_ops"] and all(len(row) == 3 for row in prof["top_ops"])
  kinds = bench_profile._hlo_op_kinds(fn.lower(a).compile().as_text())  # pylint: disable=protected-access
  assert "matmul" in kinds.values() and "elementwise" in kinds.values()
