r"""The paper's configuration (Dinesh et al., ../shared/paper.md), for GPU/TPU.

Every value cites where it comes from: [P x] = the paper, section x;
[GD] = the GaitDynamics small transformer the paper builds on; [ours] = a
choice the paper leaves open, explained beside it.

Train:
  python launch/build_data.py --dataset=synthetic_able_bodied --data_dir=data
  python launch/train.py --config=configs/default.py --workdir=runs/paper \
      --config.data.data_dir=data
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  # ---------------------------------------------------------------- data
  config.data = data = ml_collections.ConfigDict()
  # A tfds config of gaitjax's builder: synthetic_able_bodied,
  # synthetic_stroke, camargo (manual_dir) or folder (manual_dir).
  data.dataset = "synthetic_able_bodied"
  data.data_dir = "data"                 # where build_data.py wrote it
  data.eval_dataset = "synthetic_stroke"  # second cohort in evaluation
  data.seq_len = 600                     # [P II.A] 30 s at 20 Hz
  data.rate_hz = 20.0                    # [P II.C]
  data.num_train_subjects = 13           # [P II.E]
  data.num_val_subjects = 4              # [P II.E]
  data.num_test_subjects = 5             # [P II.E]
  data.split_seed = 0
  data.num_train_pairs = 100_000         # [P II.E] balanced pair budget
  # Balance of training pairs [P II.C]: identity (same trial), near
  # (0 < |dv| < 0.1 m/s) and cross-speed pairs drawn uniformly over |dv|.
  data.pair_fractions = (1 / 3, 1 / 3, 1 / 3)
  data.near_threshold_mps = 0.1          # [P II.D.3]
  data.swap_sides_prob = 0.0             # [ours] augmentation, off in paper
  # Source speeds a training pair may start from; () = any. The MLP/TCN
  # baselines use the paper's six fixed source speeds [P II.G].
  data.source_speeds = ()
  # Residual reference [ours; 'source' is the paper]: r = x_tgt - x_ref with
  # x_ref = 'source' (raw x_src), 'warped' (x_src time-warped to the
  # expected target cadence) or 'template' (subject's mean source cycle +
  # population change of mean cycle, tiled at the expected cadence).
  data.reference = "source"
  # Channels the denoiser sees beside r_t [P II.D.1]: x_src. With another
  # reference the conditioning sequence is x_ref (x_src still feeds the
  # subject encoder).

  # --------------------------------------------------------------- model
  config.model = model = ml_collections.ConfigDict()
  model.name = "diffusion"               # diffusion | mlp | tcn
  model.width = 256                      # [GD] small transformer
  model.num_layers = 4                   # [P II.E]
  model.num_heads = 4                    # [GD]
  model.mlp_dim = 1024                   # [GD]
  model.dropout = 0.1                    # [GD]
  model.patch_size = 1                   # frames per token; 1 = paper
  model.cond_dim = 64                    # [P II.E] conditioning dimension
  model.time_embed_dim = 128             # [P II.E] timestep embedding
  model.subject_embed_dim = 64           # [ours] BiLSTM output, L2-normed
  model.lstm_hidden = 64                 # [ours] per direction
  model.lstm_patch_size = 1              # frames per BiLSTM step; 1 = paper
  model.speed_hidden = 64                # [ours] speed MLP width
  model.use_subject_encoder = True       # ablation: no subject encoder
  model.use_film = True                  # ablation: cond added to input
  model.dtype = "bfloat16"               # [P II.E] mixed precision

  # ----------------------------------------------------------- diffusion
  config.diffusion = diffusion = ml_collections.ConfigDict()
  diffusion.num_timesteps = 1000         # [P II.D.3]
  # Cosine VP schedule (Nichol & Dhariwal 2021) [ours: the paper says VP
  # only]; 'linear' = DDPM's 1e-4..0.02 betas.
  diffusion.schedule = "cosine"
  diffusion.prediction = "eps"           # [P II.D.1] eps | v | x0
  diffusion.residual = True              # False: generate x_tgt directly

  # ---------------------------------------------------------------- loss
  config.loss = loss = ml_collections.ConfigDict()
  loss.knee_weight = 2.0                 # [P II.D.3]
  loss.lambda_residual = 1.0             # lambdas: [ours], paper gives none
  loss.lambda_identity = 1.0
  loss.lambda_subject = 0.1
  loss.identity_threshold_mps = 0.1      # [P II.D.3]
  loss.contrastive_temperature = 0.1
  # |dv| weighting [P II.D.3, form ours]: w = exp(-|dv| / dv_scale) scales
  # the identity and subject terms, (1 - w) + w_floor the residual term.
  loss.dv_scale_mps = 0.5
  loss.residual_floor = 0.25
  # [ours] the r0-space terms (residual, identity, subject) are weighted by
  # alpha_t^2: with eps prediction r0_hat divides by alpha_t, which would
  # blow those terms up at the noisiest steps. 'none' = unweighted.
  loss.x0_weighting = "alpha2"

  # ------------------------------------------------------------ optimiser
  config.optim = optim = ml_collections.ConfigDict()
  optim.learning_rate = 5e-4             # [P II.E] AdamW
  optim.weight_decay = 1e-3              # [P II.E]
  optim.grad_clip_norm = 1.0             # [P II.E]
  optim.warmup_steps = 500               # [ours]
  optim.schedule = "cosine"              # constant | cosine (after warmup)

  # --------------------------------------------------------------- train
  config.train = train = ml_collections.ConfigDict()
  train.batch_size = 16                  # [P II.E] global batch
  train.num_steps = 100_000 // 16 * 20   # [ours] ~20 passes over 100k pairs
  train.max_minutes = 0.0                # 0 = no wall-clock limit
  train.log_every = 100
  train.eval_every = 1000
  train.checkpoint_every = 1000
  train.num_val_batches = 16             # fixed validation pairs per eval
  train.num_hosts = 1                    # > 1 calls jax.distributed.initialize
  # Fine-tuning: start from the parameters (not the optimiser state or
  # step) of another run's best checkpoint (latest if none is ranked); a
  # workdir, its checkpoints/ folder or a step folder. '' = random init.
  train.init_from = ""
  # Normalisation statistics and template model when init_from is set:
  # 'finetune' (this run's dataset) or 'pretrained' (init_from's checkpoint).
  train.init_from_stats = "finetune"

  # ------------------------------------------------------------- sampling
  config.sampling = sampling = ml_collections.ConfigDict()
  sampling.num_steps = 100               # [P II.E] DDIM steps
  sampling.eta = 0.0                     # DDIM eta: 0 = deterministic
  sampling.num_samples = 1               # K samples per condition
  sampling.batch_size = 64

  # ----------------------------------------------------------- evaluation
  config.eval = ev = ml_collections.ConfigDict()
  ev.split = "test"
  ev.max_pairs = 0                       # 0 = all within-subject pairs
  ev.baseline_source_speeds = (0.55, 0.80, 1.05, 1.30, 1.55, 1.80)  # [P II.G]
  return config
