"""Analytic FLOP model of the diffusion model (forward, per example).

Matrix products only, from config.model's sizes alone (no JAX, nothing is
compiled), so a size can be costed before it is built; tests/test_models.py
checks it against XLA's cost analysis of a denoise call.
"""
from typing import Dict

from gaitjax import constants


def model_flops_breakdown(model_cfg, seq_len: int = constants.SEQ_LEN,
                          num_features: int = constants.NUM_CHANNELS
                          ) -> Dict[str, int]:
  """Approximate forward FLOPs per example (2 x multiply-adds), by part.

  Counts matrix products only (the rest is O(L*D), < 2% here):
    denoiser, per token (L = T/p tokens, D width, M mlp_dim):
      embed 2*(2pF)*D, per layer qkv+out 8*D^2 + attention 4*L*D + mlp 4*D*M
      (+ FiLM 8*C*D per example), head 2*D*pF.
    encoder, per LSTM step (T/q steps, q lstm patch, H hidden), 2 directions:
      2 * 2*4H*(qF + H); + the small conditioning MLPs.
  'sampling_step' = one denoise call (what each DDIM step costs);
  'train_forward' = encoder + conditioning + denoiser.
  """
  get = model_cfg.get
  d, m = get("width"), get("mlp_dim")
  layers, p = get("num_layers"), get("patch_size")
  c, te = get("cond_dim"), get("time_embed_dim")
  q, hid, emb = get("lstm_patch_size"), get("lstm_hidden"),\
      get("subject_embed_dim")
  sh = get("speed_hidden")
  f = num_features
  tokens = seq_len // p
  per_layer = tokens * (8 * d * d + 4 * tokens * d + 4 * d * m)
  if get("use_film", True):
    per_layer += 2 * 2 * (2 * c * d)
  denoiser = (tokens * 2 * (2 * p * f) * d + layers * per_layer
              + tokens * 2 * d * p * f)
  if not get("use_film", True):
    denoiser += 2 * c * d
  time = 2 * (te * te + te * c)
  encoder = 0
  cond_in = sh
  if get("use_subject_encoder", True):
    encoder = 2 * (seq_len // q) * 2 * 4 * hid * (q * f + hid) \
        + 2 * 2 * hid * emb
    cond_in += emb
  conditioning = 2 * (4 * sh + sh * sh + cond_in * c)
  return {"denoiser": int(denoiser), "time_embedding": int(time),
          "encoder": int(encoder), "conditioning": int(conditioning),
          "sampling_step": int(denoiser + time),
          "train_forward": int(denoiser + time + encoder + conditioning)}


def model_flops_per_example(model_cfg, seq_len: int = constants.SEQ_LEN
                            ) -> int:
  """Approximate forward FLOPs of encoder + conditioning + denoiser for one
  example of seq_len frames (see model_flops_breakdown for the formula).

  A training step costs about 3x this (forward + backward) plus one more
  encoder pass per generated sequence for the subject loss; a DDIM sample
  costs encoder + num_steps * breakdown['sampling_step'].
  """
  return model_flops_breakdown(model_cfg, seq_len)["train_forward"]
