"""Text PostgreSQL cannot store is refused at the door.

A NUL character is valid in a URL (``%00``) and in JSON (``"\\u0000"``) but no PostgreSQL
text value can hold one: it failed deep in a query as a server error. This middleware
answers 422 (``request.nul_character``) before any route runs, for the path, the query
and JSON bodies. CSV bodies are left to their reader, which refuses such a row by itself
(csv.nul) and reads the others.
"""

from __future__ import annotations

import json
import re
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware

# A JSON escape of NUL not itself escaped: an even run of backslashes, then \u0000.
_JSON_NUL: Final = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _refusal(field: str) -> bytes:
    return json.dumps(
        {
            "errors": [
                {
                    "field": field,
                    "rule": "request.nul_character",
                    "message": "text may not contain a NUL character",
                }
            ]
        }
    ).encode()


class RefuseNulCharacters(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "\x00" in scope["path"]:
            await self._refuse(send, "path")
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if any("\x00" in k or "\x00" in v for k, v in parse_qsl(query, keep_blank_values=True)):
            await self._refuse(send, "query")
            return
        headers = dict(scope.get("headers", []))
        if b"json" not in headers.get(b"content-type", b"application/json"):
            await self.app(scope, receive, send)
            return
        # A JSON body is read whole here (FastAPI would read it whole too) and replayed.
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if b"\x00" in body or _JSON_NUL.search(body):
            await self._refuse(send, "body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, field: str) -> None:
        body = _refusal(field)
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
