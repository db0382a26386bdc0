"""Training: tasks (what is trained), state, pmapped steps, checkpoints, loop.

  tasks.get_task(config) -> Task(init_params, loss_fn, predict_fn)
  state.create_train_state(rng, config, task, example_batch) -> TrainState
  step.make_train_step / make_eval_step -> pmapped steps
  checkpoint.Checkpointer, checkpoint.load_for_inference(path, which)
  loop.train_and_evaluate(config, workdir) -> final metrics

Submodules are imported where used (orbax is slow to import).
"""
