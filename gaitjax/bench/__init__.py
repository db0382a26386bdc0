"""What gaitjax.benchmark (launch/benchmark.py's --what=... records) is built from.

``measure``: records, timing, FLOPs, the dense-matmul reference, sizes.
``speed``: the timed rows (pipeline, train step, DDIM, request, issue 13's table).
``profile``: FLOPs per part and per-op time. ``gpu_smoke``: one accelerator check.
``pipeline``: pairs/s of PairSampler.batch per reference kind.
"""
