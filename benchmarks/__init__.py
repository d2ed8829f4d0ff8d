"""Side-by-side benchmarks of arborist against the trio floor and its peers.

Every ``benchmarks/w<N>_<topic>.py`` module defines ``run(quick: bool) -> list[Row]``; see
``benchmarks/_harness.py`` for the convention and ``python -m benchmarks --help`` to run them.
"""
