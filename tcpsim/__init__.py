"""tcpsim: a discrete-event TCP/IP network simulator.

The Python API (reference: ``tcpsim.api``)::

    import tcpsim
    run = tcpsim.run("handshake-and-close")   # a built-in name, a .yaml path, a dict or a Scenario
    run.ok, run.packets, run.states, run.netstat(at=1.0), run.plot("ladder")
    tcpsim.sweep("scenarios/sweeps/flood-backlog.yaml").results   # the sweep package, callable
    tcpsim.scenarios()

The names are imported on first use, so ``import tcpsim`` stays cheap for the command line.
"""

__version__ = "0.1.0"

# Not ``from typing import TYPE_CHECKING``: importing typing would double the cost of
# ``import tcpsim``; type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from tcpsim.api import (
        Expectation,
        OutputError,
        Run,
        Scenario,
        ScenarioError,
        Sweep,
        check,
        load,
        run,
        scenarios,
    )
    from tcpsim.frames import Netstat

__all__ = [
    "Expectation", "Netstat", "OutputError", "Run", "Scenario", "ScenarioError", "Sweep",
    "__version__", "check", "load", "run", "scenarios", "sweep",
]

# Where each public name lives; the module is imported when the name is first used (PEP 562).
_LAZY = {
    "Scenario": "tcpsim.scenario.model",
    "ScenarioError": "tcpsim.scenario.errors",
    "OutputError": "tcpsim.scenario.run",
    "Netstat": "tcpsim.frames",
    **{name: "tcpsim.api" for name in ("Expectation", "Run", "Sweep", "check", "load", "run",
                                       "scenarios")},
}
# ``tcpsim.sweep`` is the sweep package, which is callable as ``tcpsim.api.sweep``
# (a function of that name here would be replaced by the package once it is imported).


def __getattr__(name: str) -> object:
    if name == "sweep":
        from importlib import import_module

        return import_module("tcpsim.sweep")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tcpsim' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
