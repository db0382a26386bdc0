r"""The paper's configuration (Dinesh et al., ../shared/paper.md), for GPU/TPU.

This file is the paper as written. Every value cites where it comes from:
[P x] = the paper, section x; [GD] = the GaitDynamics transformer the
paper's denoiser is built on; [DDPM] = Ho et al. 2020, which the paper cites
for its diffusion set-up; [ours] = a value the paper does not give, with one
line of why. Each improvement of ours is a named config beside this one
(configs/variants/, one change each; configs/ablations/ remove a part of
the method), and configs/cpu_small.py combines the ones that work on CPU.

Train (Camargo 2021 + a stroke folder: see the README's "Reproducing the
paper"):
  python launch/build_data.py --dataset=synthetic_able_bodied --data_dir=data
  python launch/train.py --config=configs/default.py --workdir=runs/paper \
      --config.data.data_dir=data
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  # ---------------------------------------------------------------- data
  # The subject split (13 train / 4 validation / 5 test [P II.E]) is fixed
  # when the dataset is built (launch/build_data.py, tfds_builders
  # num_*_subjects / split_seed), so it is not a training option.
  config.data = data = ml_collections.ConfigDict()
  # A tfds config of gaitjax's builder: synthetic_able_bodied,
  # synthetic_stroke, camargo (manual_dir) or folder (manual_dir).
  data.dataset = "synthetic_able_bodied"
  data.data_dir = "data"                 # where build_data.py wrote it
  data.eval_dataset = "synthetic_stroke"  # second cohort in evaluation
  data.seq_len = 600                     # [P II.A] 30 s at 20 Hz
  data.rate_hz = 20.0                    # [P II.C]
  data.num_train_pairs = 100_000         # [P II.E] "up to 100,000" pairs
  # Training pairs: 'sample' = drawn here from the balance below; 'tfds' =
  # read from the gaitjax_pairs build of `dataset` (build_data.py --pairs;
  # the same draw for the same seed and balance) [ours].
  data.pairs = "sample"
  # Shares of identity (same trial), near (0 < |dv| < 0.1 m/s) and cross
  # pairs, cross ones uniform over |dv| [ours: II.C says only "randomly
  # sample across identity/same-speed pairs and cross-speed pairs"; thirds
  # give every regime of the loss weighting equal weight].
  data.pair_fractions = (1 / 3, 1 / 3, 1 / 3)
  data.near_threshold_mps = 0.1          # [P II.D.3] strict |dv| < 0.1
  data.swap_sides_prob = 0.0             # [ours] L/R swap; off = paper
  # Source speeds a training pair may start from; () = any [P II.C]. The
  # MLP/TCN baselines use the paper's six fixed source speeds [P II.G].
  data.source_speeds = ()
  # Residual reference: 'source' = x_src [P II.A eq. 1]; 'warped' and
  # 'template' are ours (configs/ablations/reference_*.py, cpu_small).
  data.reference = "source"
  # Whose cycle timing a warped/template reference follows in training and
  # validation: 'target' (x_tgt's cycles) | 'inference' (source phase and
  # predicted cadence, as at generation) [ours; no effect with 'source'].
  # 'target' measured better on CPU (README, "Reproducing the paper").
  data.reference_timing = "target"

  # --------------------------------------------------------------- model
  config.model = model = ml_collections.ConfigDict()
  model.name = "diffusion"               # diffusion | mlp | tcn
  model.width = 256                      # [GD] small transformer
  model.num_layers = 4                   # [P II.E]
  model.num_heads = 4                    # [GD]
  model.mlp_dim = 1024                   # [GD]
  model.dropout = 0.1                    # [GD]
  model.patch_size = 1                   # [P II.D.1] one token per frame
  model.cond_dim = 64                    # [P II.E] conditioning dimension
  model.time_embed_dim = 128             # [P II.E] timestep embedding
  # [ours] sizes the paper does not give; all = cond_dim, its one stated
  # embedding size.
  model.subject_embed_dim = 64           # BiLSTM output, L2-normalised
  model.lstm_hidden = 64                 # per direction
  model.lstm_patch_size = 1              # [P II.D.2] BiLSTM over frames
  model.speed_hidden = 64                # speed MLP width
  model.use_subject_encoder = True       # [P II.D.2]
  model.use_film = True                  # [P II.D.2 eq. 5]
  # Where FiLM modulates: 'input' = each sublayer's LayerNorm output
  # [ours: the adaLN form of DiT; the paper gives only eq. 5] | 'output' =
  # each sublayer's output [GD] (configs/variants/gaitdynamics_film.py).
  model.film_placement = "input"
  # 'learned' absolute positions [ours: T is fixed at 600] | 'rotary' [GD].
  model.pos_embedding = "learned"
  model.final_norm = True                # [ours] closing LayerNorm; GD: none
  # [ours] inputs minus their own time mean: offsets (angle conventions)
  # pass straight through (configs/variants/center_inputs.py).
  model.center_inputs = False
  # [P II.E] mixed precision: bf16 compute, f32 parameters; the final norm
  # and the output head always f32 (denoiser.py: eps-prediction divides
  # the output by alpha, up to x160 at t = 999).
  model.dtype = "bfloat16"

  # ----------------------------------------------------------- diffusion
  config.diffusion = diffusion = ml_collections.ConfigDict()
  diffusion.num_timesteps = 1000         # [P II.D.3, II.E]
  # [P II.E] "standard variance-preserving" schedule citing [DDPM]; DDPM's
  # (and [GD]'s) linear betas 1e-4..0.02. 'cosine': variants/.
  diffusion.schedule = "linear"
  diffusion.prediction = "eps"           # [P II.D.1] eps | v | x0
  diffusion.residual = True              # [P II.A] False: diffuse x_tgt

  # ---------------------------------------------------------------- loss
  config.loss = loss = ml_collections.ConfigDict()
  loss.knee_weight = 2.0                 # [P II.D.3] knee x2 in L_noise
  # Lambdas [ours: the paper names them but gives no values]: the residual
  # and identity terms at the noise term's weight; the contrastive term
  # ~log(B) at init, so 0.1 keeps it from dominating.
  loss.lambda_residual = 1.0
  loss.lambda_identity = 1.0
  loss.lambda_subject = 0.1
  loss.identity_threshold_mps = 0.1      # [P II.D.3] strict |dv| < 0.1
  # [ours] InfoNCE temperature: the usual value for unit-norm embeddings
  # (SimCLR / supervised contrastive); the paper gives none.
  loss.contrastive_temperature = 0.1
  # |dv| weighting [P II.D.3: "small differences prioritised the identity
  # and subject terms, larger cases residual reconstruction"; the form is
  # ours]: w = exp(-|dv| / dv_scale) scales the identity and subject terms,
  # (1 - w) + residual_floor the residual term. dv_scale = 0.5 m/s: w
  # falls to 0.07 across the 1.35 m/s range; the floor keeps some residual
  # signal on identity pairs.
  loss.dv_scale_mps = 0.5
  loss.residual_floor = 0.25
  # [P II.D.3 eq. 7] the clean-residual terms unweighted. 'alpha2' (ours)
  # weights them by alpha_t^2: configs/variants/x0_weighting.py.
  loss.x0_weighting = "none"
  # [ours, speed; same function] the contrastive term reuses the subject
  # embedding of x_src computed for the conditioning (one BiLSTM pass less
  # per step); False = a second pass over x_src, as first written.
  loss.reuse_subject_embedding = True

  # ------------------------------------------------------------ optimiser
  config.optim = optim = ml_collections.ConfigDict()
  optim.learning_rate = 5e-4             # [P II.E] AdamW
  optim.weight_decay = 1e-3              # [P II.E]
  optim.grad_clip_norm = 1.0             # [P II.E]
  optim.schedule = "constant"            # [P II.E] (cosine: variants/)
  optim.warmup_steps = 0                 # [P II.E] none stated

  # --------------------------------------------------------------- train
  config.train = train = ml_collections.ConfigDict()
  train.batch_size = 16                  # [P II.E] global batch
  # [ours] the paper gives no step count: ~20 passes over the 100k pairs.
  train.num_steps = 100_000 // 16 * 20
  train.max_minutes = 0.0                # 0 = no wall-clock limit
  train.log_every = 100
  train.eval_every = 1000                # [P II.E] best val loss is kept
  train.checkpoint_every = 1000
  train.num_val_batches = 16             # [ours] 256 fixed validation pairs
  train.num_hosts = 1                    # > 1 calls jax.distributed.initialize
  # Fine-tuning: start from the parameters (not the optimiser state or
  # step) of another run's best checkpoint (latest if none is ranked); a
  # workdir, its checkpoints/ folder or a step folder. '' = random init.
  train.init_from = ""
  # Normalisation statistics and template model when init_from is set:
  # 'finetune' (this run's dataset) or 'pretrained' (init_from's checkpoint).
  train.init_from_stats = "finetune"
  train.ema_decay = 0.0                  # [P II.E] no EMA; GD: variants/

  # ------------------------------------------------------------- sampling
  config.sampling = sampling = ml_collections.ConfigDict()
  sampling.num_steps = 100               # [P II.E] DDIM steps
  # [P II.E] "starting from Gaussian noise": the first step at t = 999
  # ('trailing'); 'leading' starts at t = 990 (needed by the cosine
  # schedule, see diffusion/sampling.py).
  sampling.timestep_spacing = "trailing"
  sampling.eta = 0.0                     # [P II.E] DDIM, deterministic
  # [ours] initial-noise scale: 1 = a draw from the learned distribution;
  # < 1 trades diversity for a sample nearer the conditional mean (0 = one
  # deterministic point estimate). Bands need 1.
  sampling.temperature = 1.0
  sampling.num_samples = 1               # [P] one sample per condition
  sampling.batch_size = 64

  # ----------------------------------------------------------- evaluation
  config.eval = ev = ml_collections.ConfigDict()
  ev.split = "test"
  ev.max_pairs = 0                       # 0 = all within-subject pairs
  ev.baseline_source_speeds = (0.55, 0.80, 1.05, 1.30, 1.55, 1.80)  # [P II.G]
  return config
