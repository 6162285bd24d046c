"""SimPy adapters: the simulation, hosts, routers, links and apps.

This is the only package that imports SimPy. The TCP layer and sockets
(``tcp_layer.py``, ``socket.py``) live here too but are imported from their
own modules.
"""

from tcpsim.net.apps import App, Ping, Traceroute
from tcpsim.net.link import GilbertElliott, Link, LinkDirection, LinkParams
from tcpsim.net.node import Host, Node, Router
from tcpsim.net.sim import Simulation

__all__ = [
    "App", "Ping", "Traceroute",
    "GilbertElliott", "Link", "LinkDirection", "LinkParams",
    "Host", "Node", "Router",
    "Simulation",
]
