"""Figures of a run, each a pure function of its trace records (DESIGN.md §4).

``views.write_views`` writes them all; the modules hold one kind of figure each:
``timeline`` (states per endpoint), ``ladder`` (packets between nodes),
``counts`` (state counts, listen queues, cwnd, time-sequence graph),
``statediagram`` (the RFC state machine with this run's path) and
``gallery`` (the figures in plots/).
"""
