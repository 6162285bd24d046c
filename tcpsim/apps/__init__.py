"""TCP applications for scenarios: servers, clients, bulk transfer, and misbehaving peers.

Each app is a set of SimPy processes over ``tcpsim.net.socket.Socket`` (or,
for the flood and the scan, raw segments), tied to its host's life: it stops
when the scenario kills it or the host crashes, and can be started again.
Every app reports ``results()`` for summary.json: byte counts, times,
connections made and failed, and every error as an errno name with its time.
"""

from tcpsim.apps.attack import PortScan, SynFlood, parse_ports
from tcpsim.apps.base import TcpApp
from tcpsim.apps.churn import Churn, VanishingClient
from tcpsim.apps.client import BulkSender, TcpClient
from tcpsim.apps.server import Sink, TcpServer

__all__ = [
    "BulkSender", "Churn", "PortScan", "Sink", "SynFlood", "TcpApp", "TcpClient", "TcpServer",
    "VanishingClient", "parse_ports",
]
