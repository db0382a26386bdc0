"""--what=gpu_smoke: one short run on an accelerator that says whether the
data pipeline or the model limits training there, against the datasheet
peak of the device."""
import json
import time
from typing import Optional, Tuple

import jax
import ml_collections

from gaitjax.bench.measure import (PrintFn, Record, flop_utilisation,
                                   json_default, matmul_peak, model_fields,
                                   print_stdout, size_config)
from gaitjax.bench.speed import bench_pipeline, bench_sample, bench_train


# Datasheet dense (no sparsity) bf16 tensor-core FLOP/s, matched against
# jax's device_kind in this order (first substring wins: 'L40S' before 'L4',
# 'PCIe' H100 before the SXM part).
DATASHEET_BF16: Tuple[Tuple[str, float, str], ...] = (
    ("H100 PCIe", 756e12, "NVIDIA H100 PCIe datasheet, dense bf16"),
    ("H200", 989e12, "NVIDIA H200 datasheet, dense bf16"),
    ("H100", 989e12, "NVIDIA H100 SXM datasheet, dense bf16"),
    ("A100", 312e12, "NVIDIA A100 datasheet, dense bf16"),
    ("L40S", 362e12, "NVIDIA L40S datasheet, dense bf16"),
    ("L4", 121e12, "NVIDIA L4 datasheet, dense bf16"),
)
# The one-GPU reference of the CPU estimate: an H100-class part at 40 % MFU.
H100_BF16_FLOPS = 989e12
ESTIMATE_MFU = 0.4
# verdict of gpu_smoke: pipeline pairs/s over the pairs/s training needs;
# >= 2x headroom is not a bottleneck, 1-2x is marginal (the loop prefetches
# in one thread that shares the host with dispatching the step).
VERDICTS = ("data_not_bottleneck", "data_marginal", "data_bottleneck")
_GPU_SMOKE_NUMBERS = (
    "matmul_flops_per_s", "train_seconds_per_step", "train_steps_per_s",
    "train_pairs_per_s", "train_flops_per_step", "train_mfu_vs_matmul",
    "sample_seconds", "sample_sequences_per_s", "sample_flops",
    "sample_mfu_vs_matmul", "pipeline_pairs_per_s",
    "h100_estimate_steps_per_s", "needed_pairs_per_s", "pipeline_headroom")


def datasheet_peak(device_kind: str) -> Optional[Tuple[float, str]]:
  """(dense bf16 FLOP/s, source) of a known GPU, None for anything else."""
  kind = device_kind.upper()
  for key, flops, source in DATASHEET_BF16:
    if key.upper() in kind:
      return flops, source
  return None


def pipeline_verdict(pipeline_pairs_per_s: float,
                     needed_pairs_per_s: float) -> Tuple[str, float]:
  """(one of VERDICTS, headroom = pipeline / needed)."""
  headroom = pipeline_pairs_per_s / max(needed_pairs_per_s, 1e-12)
  if headroom >= 2.0:
    return VERDICTS[0], headroom
  if headroom >= 1.0:
    return VERDICTS[1], headroom
  return VERDICTS[2], headroom


def verdict_line(verdict: str, headroom: float, pipeline_pairs_per_s: float,
                 needed_pairs_per_s: float, basis: str) -> str:
  """The one-line verdict of gpu_smoke, e.g. 'data loading would not be
  the bottleneck: the pipeline gives 3.10x the pairs/s training needs
  (...)'."""
  would = "would" if verdict == VERDICTS[2] else "would not"
  marginal = " (marginal)" if verdict == VERDICTS[1] else ""
  return (f"data loading {would} be the bottleneck{marginal}: the pipeline "
          f"gives {headroom:.2f}x the pairs/s training needs "
          f"({pipeline_pairs_per_s:,.0f} vs {needed_pairs_per_s:,.0f} "
          f"pairs/s; needed = {basis})")


def gpu_smoke_config(size: str = "paper") -> ml_collections.ConfigDict:
  """size_config(size), in bf16 on GPU/TPU as configs/default.py trains
  there (size_config keeps f32, the fast dtype on CPU)."""
  config = size_config(size)
  if jax.default_backend() != "cpu":
    config.model.dtype = "bfloat16"
  return config


def gpu_smoke(size: str = "paper", *, config=None,
              ddim_steps: int = 0, ddim_batch: int = 0,
              repeats: int = 0, matmul_n: int = 0,
              pipeline_subjects: int = 13, pipeline_batches: int = 40,
              output: Optional[str] = None,
              print_fn: PrintFn = print_stdout) -> Record:
  """The short prepared GPU check (launch/benchmark.py --what=gpu_smoke).

  Measures on one device: the dense-matmul FLOP/s (bf16 n=8192 on GPU/TPU,
  f32 n=2048 on CPU), the paper-size train step (batch
  config.train.batch_size) and DDIM sampling (``ddim_steps`` steps x
  ``ddim_batch`` sequences), each with MFU against the
  matmul rate and, on a known GPU, the datasheet bf16 peak; then the data
  pipeline's pairs/s on this host against the pairs/s training needs:
  batch x the measured steps/s on an accelerator, or on CPU batch x the
  steps/s of one H100-class GPU at 40 % MFU (from the step's XLA FLOPs).

  Args:
    size: a size_config name; config: measure this config instead.
    ddim_steps, ddim_batch: the sampling run; 0 = 100 steps x
      config.sampling.batch_size on GPU/TPU, 10 steps x 16 on CPU (a
      paper-size DDIM step takes ~0.8 s per 16 sequences on 2 CPU cores).
    repeats: timed runs per measurement (0 = 20 on an accelerator, 3 on CPU).
    matmul_n: the reference matmul's size (0 = by backend, as above).
    pipeline_subjects, pipeline_batches: the synthetic cohort and the number
      of batches of the pipeline measurement.
    output: JSON file to write (atomically: temp file, then rename).
    print_fn: where the table goes (sub-records are not printed).
  Returns:
    The flat summary record written to ``output`` (see _GPU_SMOKE_NUMBERS;
    the mfu_vs_datasheet fields are None off a known GPU) with the raw
    records under 'records'.
  """
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  for flag, value in (("--pipeline_batches", pipeline_batches),
                      ("--pipeline_subjects", pipeline_subjects)):
    if value < 1:
      raise ConfigError(f"{flag} must be >= 1, got {value}")
  for flag, value in (("--ddim_steps", ddim_steps),
                      ("--ddim_batch", ddim_batch), ("--repeats", repeats),
                      ("--matmul_n", matmul_n)):
    if value < 0:
      raise ConfigError(f"{flag} must be >= 0 (0 = default), got {value}")
  t_start = time.perf_counter()
  quiet: PrintFn = lambda _: None
  on_accel = jax.default_backend() != "cpu"
  config = config if config is not None else gpu_smoke_config(size)
  repeats = repeats or (20 if on_accel else 3)
  device = str(jax.devices()[0].device_kind)
  sheet = datasheet_peak(device) if on_accel else None
  sheet_peak = sheet[0] if sheet else None

  mm = matmul_peak(n=matmul_n or (8192 if on_accel else 2048),
                   repeats=max(5, repeats),
                   dtype="bfloat16" if on_accel else "float32",
                   print_fn=quiet)
  peak = mm["flops_per_s"]
  batch = int(config.train.batch_size)
  train = bench_train(size, batch, peak=peak, repeats=repeats, config=config,
                      print_fn=quiet)
  ddim_steps = ddim_steps or (100 if on_accel else 10)
  sample_batch = ddim_batch or (int(config.sampling.batch_size) if on_accel
                                else 16)
  # Compiled ahead of time, so warmup=0 still excludes compilation; an
  # accelerator run is short enough for a warm-up and several repeats.
  (sample,) = bench_sample(size, (sample_batch,), (ddim_steps,), peak=peak,
                           repeats=repeats if on_accel else 1,
                           config=config, scaling=False,
                           warmup=1 if on_accel else 0, print_fn=quiet)
  reference = str(config.data.reference)
  # bench_pipeline fits a cycle template for any reference but 'source'; the
  # regression reference costs the same per pair (one predicted cycle).
  pipe_ref = "template" if reference == "regression" else reference
  (pipe,) = bench_pipeline(batch_size=batch, num_batches=pipeline_batches,
                           num_subjects=pipeline_subjects,
                           references=(pipe_ref,), print_fn=quiet)

  steps_per_s = 1.0 / train["seconds"]
  flops_step = train["flops"]
  est_steps = (ESTIMATE_MFU * H100_BF16_FLOPS / flops_step
               if flops_step else float("nan"))
  if on_accel:
    needed, basis = batch * steps_per_s, "measured train steps/s"
  else:
    needed = batch * est_steps
    basis = (f"one H100-class GPU at {ESTIMATE_MFU:.0%} MFU "
             f"({H100_BF16_FLOPS / 1e12:.0f} TFLOP/s bf16), from the step's "
             f"XLA FLOPs")
  verdict, headroom = pipeline_verdict(pipe["pairs_per_s"], needed)
  line = verdict_line(verdict, headroom, pipe["pairs_per_s"], needed, basis)
  record = {
      "name": "gpu_smoke", "size": size, "backend": jax.default_backend(),
      "device": device, "num_devices": jax.local_device_count(),
      "jax": jax.__version__, **model_fields(config),
      "matmul_n": mm["n"], "matmul_dtype": mm["dtype"],
      "matmul_flops_per_s": peak,
      "datasheet_flops_per_s": sheet_peak,
      "datasheet_source": sheet[1] if sheet else None,
      "train_batch_size": batch, "train_seconds_per_step": train["seconds"],
      "train_steps_per_s": steps_per_s,
      "train_pairs_per_s": train["pairs_per_s"],
      "train_flops_per_step": flops_step,
      "train_mfu_vs_matmul": train["mfu"],
      "train_mfu_vs_datasheet": flop_utilisation(flops_step, train["seconds"],
                                     sheet_peak),
      "train_compile_seconds": train["compile_seconds"],
      "sample_batch_size": sample_batch, "sample_num_steps": ddim_steps,
      "sample_seconds": sample["seconds"],
      "sample_sequences_per_s": sample["sequences_per_s"],
      "sample_flops": sample["flops"],
      "sample_mfu_vs_matmul": sample["mfu"],
      "sample_mfu_vs_datasheet": flop_utilisation(sample["flops"], sample["seconds"],
                                      sheet_peak),
      "sample_compile_seconds": sample["compile_seconds"],
      "pipeline_reference": pipe_ref,
      "pipeline_pairs_per_s": pipe["pairs_per_s"],
      "h100_estimate_steps_per_s": est_steps,
      "needed_pairs_per_s": needed, "needed_basis": basis,
      "pipeline_headroom": headroom, "verdict": verdict,
      "verdict_line": line, "repeats": repeats,
      "wall_seconds": time.perf_counter() - t_start,
      "records": [mm, train, sample, pipe]}
  if output:
    from gaitjax import files  # pylint: disable=g-import-not-at-top
    files.atomic_write_json(output, json.loads(json.dumps(
        record, default=json_default)))
  print_fn(gpu_smoke_table(record))
  return record


def gpu_smoke_table(r: Record) -> str:
  """The gpu_smoke record as a plain-text table."""
  def tf(x):
    return "-" if x is None else f"{x / 1e12:.3g} TFLOP/s"

  def pct(x):
    return "-" if x is None else f"{100 * x:.1f} %"

  def gflop(x):
    return "? GFLOP" if x is None else f"{x / 1e9:.4g} GFLOP"

  rows = [
      ("device", f"{r['device']} ({r['backend']}), model dtype {r['dtype']}"),
      ("peak: dense matmul (this run)",
       f"{tf(r['matmul_flops_per_s'])} ({r['matmul_dtype']}, "
       f"n={r['matmul_n']})"),
      ("peak: datasheet bf16", tf(r["datasheet_flops_per_s"])),
      (f"train step (B={r['train_batch_size']})",
       f"{r['train_steps_per_s']:.3g} steps/s, "
       f"{r['train_seconds_per_step'] * 1e3:.4g} ms/step, "
       f"{r['train_pairs_per_s']:,.0f} pairs/s"),
      ("  MFU vs matmul / datasheet",
       f"{pct(r['train_mfu_vs_matmul'])} / "
       f"{pct(r['train_mfu_vs_datasheet'])} "
       f"({gflop(r['train_flops_per_step'])}/step)"),
      (f"DDIM {r['sample_num_steps']} steps (B={r['sample_batch_size']})",
       f"{r['sample_sequences_per_s']:.3g} sequences/s, "
       f"{r['sample_seconds']:.3g} s per batch"),
      ("  MFU vs matmul / datasheet",
       f"{pct(r['sample_mfu_vs_matmul'])} / "
       f"{pct(r['sample_mfu_vs_datasheet'])} "
       f"({gflop(r['sample_flops'])}/batch)"),
      (f"data pipeline ({r['pipeline_reference']} reference)",
       f"{r['pipeline_pairs_per_s']:,.0f} pairs/s on this host"),
      ("pairs/s training needs",
       f"{r['needed_pairs_per_s']:,.0f} ({r['needed_basis']})"),
      ("verdict", f"{r['verdict']} (pipeline / needed = "
                  f"{r['pipeline_headroom']:.2f}x)"),
  ]
  width = max(len(k) for k, _ in rows)
  lines = [f"gpu_smoke, size {r['size']} ({r['wall_seconds']:.0f} s)"]
  lines += [f"{k:<{width}}  {v}" for k, v in rows]
  lines.append(r["verdict_line"])
  return "\n".join(lines)
