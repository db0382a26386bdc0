"""One-change ablations of configs/default.py (one file per experiment)."""
