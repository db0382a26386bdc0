"""Gait-cycle segmentation shared by data (references) and eval (metrics)."""
