"""The papers' flows as library code: each module holds one model's parameters (declared once, with their
hypotheses), initialisation, phase events, observables and the sweep over the init scale, for the
checks in :mod:`theory_checks`, the notebooks and the benchmarks.

* :mod:`gflow.flows.plateau` — Model H (the plateau paper's homogeneous model), Proposition 1's events.
* :mod:`gflow.flows.deep` — Model F (deep fully-connected, identity or ReLU), trained to a margin.
* :mod:`gflow.flows.orthogonal` — Model R on orthogonal inputs, the lemmas' phase events.
* :mod:`gflow.flows.simplicity` — Model R on a linear teacher with noise: training to a stable loss.
"""
