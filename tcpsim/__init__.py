"""tcpsim: a discrete-event TCP/IP network simulator."""

__version__ = "0.1.0"
