"""Several processes (hosts) with JAX's multi-process runtime.

One process per host (or per accelerator), all running the same command;
process 0 also runs the coordinator service. Where the cluster tells JAX
who is who (SLURM, Open MPI, Cloud TPU pods) ``jax.distributed.initialize()``
needs no arguments. Elsewhere, including N processes on one machine, every
process gets the coordinator's address, the number of processes and its own
id, from flags or the environment::

  --coordinator_address=10.0.0.1:1234 --num_processes=2 --process_id=0
  JAX_COORDINATOR_ADDRESS=10.0.0.1:1234 GAITJAX_NUM_PROCESSES=2 \\
      GAITJAX_PROCESS_ID=0

(``JAX_COORDINATOR_ADDRESS`` is read by JAX itself; JAX reads no variable for
the other two.) On CPU the cross-process collectives are gloo, JAX's default.
"""
import os
from typing import Optional

from absl import flags
from absl import logging

from gaitjax.errors import ConfigError

NUM_PROCESSES_ENV = "GAITJAX_NUM_PROCESSES"
PROCESS_ID_ENV = "GAITJAX_PROCESS_ID"
COORDINATOR_ENV = "JAX_COORDINATOR_ADDRESS"


def define_flags() -> None:
  """--coordinator_address, --num_processes, --process_id (launch/*.py)."""
  flags.DEFINE_string(
      "coordinator_address", None,
      "host:port of process 0's coordinator for multi-process runs (default:"
      f" ${COORDINATOR_ENV}; SLURM / Open MPI / TPU pods need none).")
  flags.DEFINE_integer(
      "num_processes", None,
      f"Number of processes of a multi-process run (default: "
      f"${NUM_PROCESSES_ENV}; 1 = a single process).")
  flags.DEFINE_integer(
      "process_id", None,
      f"This process's id, 0..num_processes-1 (default: ${PROCESS_ID_ENV}).")


def _env_int(name: str) -> Optional[int]:
  value = os.environ.get(name, "").strip()
  if not value:
    return None
  try:
    return int(value)
  except ValueError:
    raise ConfigError(f"${name}={value!r}: expected an integer") from None


def is_initialized() -> bool:
  """Whether jax.distributed.initialize has run (without starting JAX's
  backends, which would make it too late to run it)."""
  try:
    # pylint: disable-next=g-import-not-at-top
    from jax._src import distributed as jax_distributed
    return jax_distributed.global_state.client is not None
  except (ImportError, AttributeError):  # a JAX without this internal
    import jax  # pylint: disable=g-import-not-at-top
    return jax.process_count() > 1


def initialize(coordinator_address: Optional[str] = None,
               num_processes: Optional[int] = None,
               process_id: Optional[int] = None, *,
               auto: bool = False) -> bool:
  """Joins a multi-process run when one is asked for; True if it did.

  Arguments default to the environment (see the module docstring). Nothing
  happens for a single process (num_processes None or 1) unless ``auto``
  (config.train.num_hosts > 1): then JAX detects the cluster (SLURM, Open
  MPI, TPU pods). Must run before anything else touches JAX's devices.

  Raises:
    ConfigError: inconsistent arguments (one line).
  """
  if is_initialized():
    return True
  coordinator_address = (coordinator_address
                         or os.environ.get(COORDINATOR_ENV) or None)
  if num_processes is None:
    num_processes = _env_int(NUM_PROCESSES_ENV)
  if process_id is None:
    process_id = _env_int(PROCESS_ID_ENV)
  if num_processes is not None and num_processes < 1:
    raise ConfigError(f"--num_processes={num_processes}: expected >= 1")
  if (num_processes or 1) == 1 and not auto:
    return False
  if num_processes is not None and num_processes > 1:
    if process_id is None or not 0 <= process_id < num_processes:
      raise ConfigError(f"--process_id={process_id}: expected 0.."
                        f"{num_processes - 1} with --num_processes="
                        f"{num_processes}")
    if not coordinator_address:
      raise ConfigError(f"--num_processes={num_processes} needs "
                        f"--coordinator_address=host:port (or "
                        f"${COORDINATOR_ENV})")
  import jax  # pylint: disable=g-import-not-at-top
  kwargs = {}
  if num_processes is not None and num_processes > 1:
    kwargs = dict(coordinator_address=coordinator_address,
                  num_processes=num_processes, process_id=process_id)
  try:
    jax.distributed.initialize(**kwargs)
  except (ValueError, RuntimeError) as e:
    lines = [l for l in str(e).splitlines() if l.strip()]
    raise ConfigError(f"jax.distributed.initialize failed: "
                      f"{lines[0] if lines else type(e).__name__}") from None
  logging.info("process %d of %d (coordinator %s); %d local / %d global "
               "devices", jax.process_index(), jax.process_count(),
               coordinator_address or "auto-detected",
               jax.local_device_count(), jax.device_count())
  return True


def initialize_from_flags(flag_values=None) -> bool:
  """initialize() from --coordinator_address/--num_processes/--process_id."""
  fv = flag_values or flags.FLAGS
  return initialize(fv.coordinator_address, fv.num_processes, fv.process_id)
