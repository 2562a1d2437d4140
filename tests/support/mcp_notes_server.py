"""A one-tool stdio MCP server for tests: ``write_note(text)`` appends ``text`` to the file named
by its first argument and answers ``noted``. Built on the official ``mcp`` SDK, like the servers
operators configure for codex."""

from __future__ import annotations

import sys
from pathlib import Path

from mcp.server import MCPServer

NOTES = Path(sys.argv[1])
server = MCPServer("notes")


@server.tool()
def write_note(text: str) -> str:
    """Append a note to the notes file."""
    with NOTES.open("a", encoding="utf-8") as notes:
        notes.write(text + "\n")
    return "noted"


if __name__ == "__main__":
    server.run("stdio")
