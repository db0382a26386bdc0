"""Configs of the paper's MLP and TCN baselines [P II.G]."""
