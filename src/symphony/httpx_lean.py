"""``httpx``, imported without its command-line extras.

``import httpx`` also imports its ``httpx`` command (``httpx._main``), which loads rich and
pygments whenever they are installed (they are, for the terminal view and the dashboard's
diffs): about 4.5 MB of resident memory the service never uses (see ``lean_import``). Without
them httpx defines a stub command instead. Import ``httpx`` from here.
"""

from __future__ import annotations

from symphony import lean_import

with lean_import.without("rich", "pygments"):
    import httpx

__all__ = ["httpx"]
