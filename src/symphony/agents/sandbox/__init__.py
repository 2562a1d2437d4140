"""``sandbox.kind: bwrap``: every agent process in a bubblewrap namespace (docs/sandbox.md).

``bwrap.py`` builds the command line (pure), ``egress.py`` serves the sandbox's only ways out
(loopback bridges and an allowlisting proxy on Unix sockets), ``endpoints.py`` names the model
endpoints a backend needs, ``box.py`` ties them into one ``Sandbox`` per agent and probes bwrap.
"""

from symphony.agents.sandbox.box import (
    SANDBOX_UNAVAILABLE,
    Probe,
    Sandbox,
    open_sandbox,
    probe,
)

__all__ = ["SANDBOX_UNAVAILABLE", "Probe", "Sandbox", "open_sandbox", "probe"]
