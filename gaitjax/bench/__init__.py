"""Benchmark parts that gaitjax.benchmark (the --what=... records) builds on.

``bench.pipeline``: pairs/s of PairSampler.batch per reference kind.
"""
