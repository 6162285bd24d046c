"""Property: over any impaired link, the receiver reads exactly a prefix of what was written,
all of it when no side reports an error, and both sides end closed or with an error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpsim.net import LinkParams
from tests.tcpnet.transfer import transfer

impairment = st.fixed_dictionaries({
    "loss": st.floats(0.0, 0.3),
    "duplicate": st.floats(0.0, 0.1),
    "reorder": st.floats(0.0, 0.2),
    "jitter": st.floats(0.0, 0.005),
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fwd=impairment, back=impairment, size=st.integers(1, 40_000), seed=st.integers(0, 2**32 - 1),
       profile=st.sampled_from(["linux", "linux-classic", "windows-xp", "rfc9293"]))
def test_byte_stream_survives_the_network(fwd: dict[str, float], back: dict[str, float], size: int,
                                          seed: int, profile: str) -> None:
    data = bytes((seed + i * 7) & 0xFF for i in range(size))
    r = transfer(data, LinkParams(delay=0.01, bandwidth=10e6, **fwd), LinkParams(delay=0.01, bandwidth=10e6, **back),
                 profile=profile, until=8000.0, seed=seed, server_keepalive=(120.0, 10.0, 5))
    assert data.startswith(r.got)
    if r.client_error is None and r.server_error is None:
        assert r.got == data
    assert r.client_final in ("CLOSED", "") or r.client_error is not None, r.client_final
    assert r.server_final in ("CLOSED", "") or r.server_error is not None, r.server_final
