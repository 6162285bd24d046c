"""Scenarios: YAML -> validated model -> built ``Simulation`` + apps -> run outputs.

Typical use::

    from tcpsim.scenario import load, run_scenario
    result = run_scenario(load("scenarios/ping-ttl.yaml"))
    result.write("runs/ping-ttl")

``run_scenario`` also checks the scenario's ``expect:`` block:
``result.built.outcomes`` holds one ``Outcome`` per expectation and
``result.built.passed`` says whether all held.

Everything wrong with a scenario file raises ``ScenarioError``, whose text
is one line: ``FILE:LINE: YAML.PATH: what was expected``.
"""

from tcpsim.scenario.build import Built, build
from tcpsim.scenario.errors import ScenarioError
from tcpsim.scenario.library import builtin_scenarios, resolve
from tcpsim.scenario.loader import load, load_document, load_text
from tcpsim.scenario.model import Scenario
from tcpsim.scenario.run import OutputError, RunResult, run_scenario

__all__ = [
    "Built", "OutputError", "RunResult", "Scenario", "ScenarioError",
    "build", "builtin_scenarios", "load", "load_document", "load_text", "resolve", "run_scenario",
]
