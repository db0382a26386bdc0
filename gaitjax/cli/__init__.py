"""The command-line entry points: one module per launch script.

``gaitjax/cli/<name>.py`` defines a script's absl flags and ``main``;
``launch/<name>.py`` and the ``gaitjax-<name>`` console scripts (setup.py)
both run it through ``<name>.run()``. This module holds what they share.

`run(main)` runs an absl main so that a user-fixable problem
(`gaitjax.errors.GaitjaxError`, a bad flag or config override) ends as one
line on stderr and exit status 2, never a traceback.
"""
import os
import sys
from typing import Callable, Sequence

from absl import app
from absl import logging

from gaitjax import config_utils
from gaitjax.errors import GaitjaxError

# The real-data fixtures sit beside the project's folder (../shared/data of
# a checkout); --shared_data or GAITJAX_SHARED_DATA point elsewhere.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_SHARED_DATA = os.environ.get(
    "GAITJAX_SHARED_DATA",
    os.path.normpath(os.path.join(REPO_ROOT, os.pardir, "shared", "data")))


def fail(message: str) -> None:
  """Prints one line and exits 2."""
  sys.stderr.write(f"error: {message}\n")
  sys.stderr.flush()
  raise SystemExit(2)


def _guarded(main: Callable[[Sequence[str]], None]):
  def wrapped(argv: Sequence[str]) -> None:
    try:
      main(argv)
    except GaitjaxError as e:
      fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except OSError as e:
      # The environment, not the code: a full disk, a path below a file, a
      # permission. --verbosity=1 shows where it happened.
      logging.debug("OSError", exc_info=True)
      fail(_os_error(e))
    except KeyboardInterrupt:
      fail("interrupted")
  return wrapped


def run(main: Callable[[Sequence[str]], None]) -> None:
  """absl.app.run with one-line errors for bad flags, configs and inputs."""
  config_utils.ensure_repo_on_path()
  argv = list(sys.argv)
  try:
    app.run(_guarded(main), argv=argv, flags_parser=_parse_flags)
  except SystemExit:
    raise


def _parse_flags(argv: Sequence[str]):
  """absl's parser, but errors (unknown key, wrong type, missing file) are one line."""
  from absl import flags
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(_first_line(str(e)))
  except (AttributeError, KeyError) as e:
    # ml_collections says only "'key'": name the flag that holds it.
    key = _first_line(str(e)).strip("\"'")
    names = [a.split("=", 1)[0] for a in argv[1:]]
    name = next((n for n in names if key and f".{key}." in n + "."), None)
    if name:
      fail(f"{name}: unknown config key {key!r}")
    fail(f"bad flag or config: {_first_line(str(e)) or type(e).__name__}")
  except (TypeError, ValueError, OSError, ImportError, SyntaxError) as e:
    fail(f"bad flag or config: {_first_line(str(e)) or type(e).__name__}")


def _os_error(e: OSError) -> str:
  reason = e.strerror or _first_line(str(e)) or type(e).__name__
  return f"{e.filename}: {reason}" if e.filename else reason


def _first_line(text: str) -> str:
  for line in text.splitlines():
    if line.strip():
      return line.strip()
  return text
