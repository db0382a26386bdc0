"""Where the time goes: FLOPs of a train step's parts (--what=profile) and
per-op XLA:CPU thunk times from jax.profiler's trace (--what=ops)."""
import json
import statistics
import time
from typing import Callable, Dict, List, Optional

import jax
import jax.numpy as jnp

from gaitjax.bench.measure import (PrintFn, Record, emit, flop_utilisation,
                                   print_stdout, random_batch, size_config)
from gaitjax.bench.speed import Sampler, sampler_inputs


_PROFILE_FLOPS_METHOD = {
    "encoder": "xla_cost_analysis",
    "denoise": "xla_cost_analysis (chunking off: same math)",
    "attention": "matmul count: q,k,v,out projections 8*L*D^2 + QK^T and "
                 "PV 4*L^2*D, per example",
    "mlp": "matmul count: 4*L*D*mlp_dim per example"}


def bench_profile(size: str, batch_size: int, *, peak: Optional[float] = None,
                  repeats: int = 5, config=None,
                  print_fn: PrintFn = print_stdout) -> List[Record]:
  """Where one forward pass spends its time: encoder, one denoise call,
  one block's attention (flax's default vs ours) and MLP (plain vs
  chunked), forward only, interleaved so load changes hit all alike."""
  # pylint: disable=g-import-not-at-top
  import flax.linen as nn
  from gaitjax.diffusion import sampling
  from gaitjax.models import attention as attention_lib
  from gaitjax.models import denoiser
  config = config or size_config(size)
  sampler = Sampler(config)
  model, params = sampler.model, sampler.params
  x_src, x_ref, v_src, v_tgt = sampler_inputs(config, batch_size)
  t = jnp.full((batch_size,), 500, jnp.int32)
  cond = sampling._encode(params, model, x_src, v_src, v_tgt)  # pylint: disable=protected-access
  m = config.model
  tokens = int(config.data.seq_len) // int(m.patch_size)
  h = jax.random.normal(jax.random.key(3), (batch_size, tokens, m.width))

  def attention(fn):
    mod = nn.MultiHeadDotProductAttention(
        num_heads=m.num_heads, deterministic=True, attention_fn=fn)
    p = mod.init(jax.random.key(4), h, h)
    f = jax.jit(lambda p, h: mod.apply(p, h, h))
    return lambda: f(p, h).block_until_ready()

  def mlp(budget):
    mod = denoiser.MLPBlock(m.mlp_dim, max_chunk_elements=budget)
    p = mod.init(jax.random.key(5), h)
    f = jax.jit(lambda p, h: mod.apply(p, h))
    return lambda: f(p, h).block_until_ready()

  enc = jax.jit(lambda p: model.apply({"params": p}, x_src, v_src, v_tgt,
                                      method=model.encode))
  den = jax.jit(lambda p: model.apply({"params": p}, x_ref, x_ref, cond, t,
                                      train=False, method=model.denoise))
  d, layer_tokens = int(m.width), batch_size * tokens
  parts = {
      "encoder": (lambda: enc(params).block_until_ready(),
                  sampler.flops(batch_size)["encode"]),
      "denoise_call": (lambda: den(params).block_until_ready(),
                       sampler.flops(batch_size)["denoise"]),
      "attention_flax_default": (attention(nn.dot_product_attention),
                                 layer_tokens * (8 * d * d + 4 * tokens * d)),
      "attention_chunked": (attention(attention_lib.chunked_attention),
                            layer_tokens * (8 * d * d + 4 * tokens * d)),
      "mlp_plain": (mlp(1 << 62), layer_tokens * 4 * d * m.mlp_dim),
      "mlp_chunked": (mlp(None), layer_tokens * 4 * d * m.mlp_dim),
  }
  times: Dict[str, List[float]] = {k: [] for k in parts}
  for fn, _ in parts.values():
    fn()
  for _ in range(max(1, repeats)):
    for k, (fn, _) in parts.items():
      t0 = time.perf_counter()
      fn()
      times[k].append(time.perf_counter() - t0)
  out = []
  for k, (_, flops) in parts.items():
    sec = statistics.median(times[k])
    out.append(emit({"name": "profile", "size": size, "part": k,
                     "batch_size": batch_size, "seconds": sec,
                     "min_seconds": min(times[k]), "repeats": len(times[k]),
                     "flops": flops,
                     "flops_method": _PROFILE_FLOPS_METHOD[k.split("_")[0]],
                     "flops_per_s": flops / sec if flops else None,
                     "mfu": flop_utilisation(flops, sec, peak)}, print_fn))
  return out


# ------------------------------------------------------- per-op profile


def _hlo_op_kinds(hlo_text: str) -> Dict[str, str]:
  """{instruction name: kind} of a compiled HLO module's text, kind one of
  'matmul' (a dot/convolution, or a fusion holding one), 'loop' (a while:
  its time includes its body's ops), 'elementwise' (any other fusion or op:
  softmax, norms, activations, the optimiser update, copies)."""
  import re  # pylint: disable=g-import-not-at-top
  comps: Dict[str, List[str]] = {}
  cur = None
  for line in hlo_text.splitlines():
    head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
    if head and "(" in line:
      cur = head.group(1)
      comps[cur] = []
    elif cur is not None:
      comps[cur].append(line.strip())
  kinds = {}
  for lines in comps.values():
    for line in lines:
      # The opcode is the first word followed by '(' after the shape, which
      # may be a tuple: '%while.3 = (s32[], f32[2,8]{1,0}) while(...)'.
      m = re.match(r"^(?:ROOT )?%?([\w.\-]+) = (.*?)\s?([a-z][\w\-]*)\(",
                   line)
      if not m:
        continue
      name, op = m.group(1), m.group(3)
      called = re.search(r"calls=%?([\w.\-]+)", line)
      body = " ".join(comps.get(called.group(1), [])) if called else ""
      if op in ("dot", "convolution") or " dot(" in body or (
          " convolution(" in body):
        kinds[name] = "matmul"
      elif op == "while" or name.startswith("while"):
        kinds[name] = "loop"
      else:
        kinds[name] = "elementwise"
  return kinds


def op_profile(fn: Callable, *args, repeats: int = 3,
               top: int = 12) -> Record:
  """Where a jitted fn(*args) spends its time, op by op (XLA:CPU thunks
  from jax.profiler's trace, named as in the compiled HLO).

  Returns {'seconds_per_call', 'by_kind': {kind: seconds per call},
  'top_ops': [[name, kind, seconds per call], ...]} with kinds from
  _hlo_op_kinds. 'loop' time contains the matmul/elementwise time of its
  body, which is also listed under those kinds; the other kinds do not
  overlap.
  """
  # pylint: disable=g-import-not-at-top
  import collections
  import glob
  import gzip
  import tempfile
  kinds = _hlo_op_kinds(fn.lower(*args).compile().as_text())
  jax.block_until_ready(fn(*args))
  with tempfile.TemporaryDirectory() as d:
    t0 = time.perf_counter()
    with jax.profiler.trace(d, create_perfetto_trace=True):
      for _ in range(repeats):
        jax.block_until_ready(fn(*args))
    wall = (time.perf_counter() - t0) / repeats
    (path,) = glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)
    with gzip.open(path) as f:
      events = json.load(f)["traceEvents"]
  per_op: Dict[str, float] = collections.Counter()
  for e in events:
    if e.get("ph") == "X" and e.get("name") in kinds:
      per_op[e["name"]] += e["dur"] * 1e-6 / repeats
  by_kind: Dict[str, float] = collections.Counter()
  for name, sec in per_op.items():
    by_kind[kinds[name]] += sec
  return {"seconds_per_call_traced": wall, "by_kind": dict(by_kind),
          "top_ops": [[n, kinds[n], s] for n, s in
                      sorted(per_op.items(), key=lambda x: -x[1])[:top]]}


def bench_op_profile(size: str, batch_size: int, *, repeats: int = 3,
                     config=None, print_fn: PrintFn = print_stdout
                     ) -> List[Record]:
  """op_profile of a size's value_and_grad of the training loss (what the
  train step differentiates; the optimiser update is the 'update' part)
  and of one denoise call (a DDIM step), one record each."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.train import state as state_lib
  from gaitjax.train import tasks
  config = config or size_config(size)
  task = tasks.get_task(config)
  example = {k: jnp.asarray(v[0]) for k, v in
             random_batch(config, batch_size).items()}
  state = jax.jit(lambda rng: state_lib.create_train_state(
      rng, config, task, example))(jax.random.key(0))
  rng = jax.random.key(1)
  grad = jax.jit(jax.value_and_grad(
      lambda p, b: task.loss_fn(p, b, rng, train=True), has_aux=True))
  grads = grad(state.params, example)[1]
  update = jax.jit(lambda s, g: s.apply_gradients(g))
  sampler = Sampler(config)
  x_src, x_ref, v_src, v_tgt = sampler_inputs(config, batch_size)
  from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
  cond = sampling._encode(sampler.params, sampler.model, x_src, v_src, v_tgt)  # pylint: disable=protected-access
  t = jnp.full((batch_size,), 500, jnp.int32)
  denoise = jax.jit(lambda p, z: sampler.model.apply(
      {"params": p}, z, x_ref, cond, t, train=False,
      method=sampler.model.denoise))
  parts = {"loss_value_and_grad": (grad, (state.params, example)),
           "optimizer_update": (update, (state, grads)),
           "denoise_call": (denoise, (sampler.params, x_ref))}
  out = []
  for part, (fn, args) in parts.items():
    prof = op_profile(fn, *args, repeats=repeats)
    out.append(emit({"name": "op_profile", "size": size, "part": part,
                     "batch_size": batch_size, **prof}, print_fn))
  return out
