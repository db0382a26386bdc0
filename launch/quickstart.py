"""Thin wrapper of gaitjax/cli/quickstart.py, where its flags and main live.

  python launch/quickstart.py --help
"""
import os
import sys

if __name__ == "__main__":  # run as a script: make `gaitjax` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from gaitjax.cli import quickstart as _impl  # noqa: E402  (defines the flags)

# absl's --help prints the __main__ module's docstring: show the real one.
__doc__ = _impl.__doc__
main = _impl.main

if __name__ == "__main__":
  _impl.run()
