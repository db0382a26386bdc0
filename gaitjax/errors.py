"""User-facing errors.

Anything raised as a ``GaitjaxError`` is a problem with the user's input
(a file, a field, a flag, a config value, a checkpoint): entry points print its
message on one line and exit non-zero, without a traceback. The message names
the input and what was expected.
"""


class GaitjaxError(Exception):
  """Base class of the errors a user can fix."""


class DataError(GaitjaxError, ValueError):
  """A data file, folder or field is missing, malformed or implausible."""


class ConfigError(GaitjaxError, ValueError):
  """A config key or value, or a command-line flag, is wrong."""


class CheckpointError(GaitjaxError, ValueError):
  """A checkpoint is missing, damaged or incompatible with the config."""


class TrainingError(GaitjaxError, RuntimeError):
  """Training cannot go on (e.g. a non-finite loss)."""
