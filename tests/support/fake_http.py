"""HTTP plumbing the fake GraphQL trackers (``fake_linear``, ``fake_github``) share: a
``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread, a handler base that answers with JSON
(or bytes) in one response, and the operation name of a GraphQL request body."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

from graphql import GraphQLError, OperationDefinitionNode, parse

FakeT = TypeVar("FakeT")


def operation_name(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
        document = parse(payload["query"])
    except (ValueError, KeyError, TypeError, GraphQLError):
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    return None


class FakeHandler(BaseHTTPRequestHandler, Generic[FakeT]):
    """One request to a fake; subclasses add ``do_GET``/``do_POST``."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the client's delayed ACK held every
    # response back ~40 ms.
    disable_nagle_algorithm = True

    def __init__(self, fake: FakeT, *args: Any) -> None:
        self.fake = fake
        super().__init__(*args)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def read_body(self) -> bytes | None:
        """The request's body; None when the connection closed before all of it arrived (a
        client cancelled mid-request, as a stopping service does): no server would answer or
        judge such a request, so the handler drops the connection instead."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _send(
        self, status: int, payload: Any, content_type: str, headers: Mapping[str, str]
    ) -> None:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class ServedHttp:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 (any free port), serving in a daemon thread."""

    def __init__(self, handler: Any) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
