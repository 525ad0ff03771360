"""A local HTTP server on 127.0.0.1 that speaks the Anthropic Messages API's shape and replays
scripted assistant turns. Each script entry is a list of content blocks, or a function of the
request body that returns one."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def text(t: str) -> dict:
    return {"type": "text", "text": t}


_ids = itertools.count(1)


def tool_use(name: str, args: dict) -> dict:
    return {"type": "tool_use", "id": f"toolu_{next(_ids):04d}", "name": name, "input": args}


def last_tool_results(body: dict) -> list[dict]:
    content = body["messages"][-1]["content"]
    return [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"]


def last_result_data(body: dict) -> dict:
    """The structured result of the previous tool call, as the agent fed it back."""
    result = last_tool_results(body)[-1]
    first = result["content"][0] if isinstance(result["content"], list) else {"text": result["content"]}
    return json.loads(first["text"])


class FakeMessagesAPI:
    def __init__(self, script, repeat_last: bool = False):
        self.script = list(script)
        self.repeat_last = repeat_last
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                api.requests.append(body)
                if not self.path.startswith("/v1/messages"):
                    self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                    return
                given = self.headers.get("x-api-key") or self.headers.get("authorization", "").removeprefix("Bearer ")
                if given != "test-key":
                    self._send(401, {"type": "error", "error": {"type": "authentication_error",
                                                                "message": "invalid x-api-key"}})
                    return
                index = len(api.requests) - 1
                if index < len(api.script):
                    entry = api.script[index]
                elif api.repeat_last:
                    entry = api.script[-1]
                else:
                    entry = [text("All done.")]
                blocks = entry(body) if callable(entry) else entry
                stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
                self._send(200, {"id": f"msg_{index}", "type": "message", "role": "assistant",
                                 "model": body["model"], "content": blocks, "stop_reason": stop,
                                 "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10}})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
