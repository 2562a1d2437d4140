"""The generic Agent Client Protocol backend (``agent.kind: acp``; docs/agents/acp.md).

Symphony is the ACP client: it launches any ACP agent (``acp.command``), runs one ACP session
per worker session in the issue's workspace, and serves the agent's client requests (permission,
files, terminals) inside that workspace. Tracker tools reach the agent through the session's
MCP server (``agents/mcp_tools.py``).
"""

from symphony.agents.acp.backend import BACKEND, AcpBackend
from symphony.agents.acp.session import AcpSession

__all__ = ["BACKEND", "AcpBackend", "AcpSession"]
