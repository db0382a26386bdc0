"""Our departures from the paper's configuration, one named file each.

Each file imports configs/default.py (the paper as written) and changes one
thing, through ``apply(config)``; ``CHANGES`` lists the fields that one
thing touches (tests/test_config.py checks that exactly those differ from
default). configs/cpu_small.py applies the ones that work on CPU.
"""
