"""A webhook receiver for trying subscriptions with the demo: prints each delivery, answers 204.

    python -m gateway.demo.receiver [--port 8765]

It listens on 127.0.0.1 only, on the prefix `make demo` allows (GATEWAY_WEBHOOK_ALLOWED_URLS). It does
not verify signatures: docs/integrating.md shows how a real receiver does.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gateway.demo.envfile import RECEIVER_PORT


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        """Print the delivery's id, event type and record; answer 204."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
            what = f"{body.get('type')} {body.get('data', {}).get('id')}"
        except (ValueError, AttributeError):
            what = f"{len(raw)} bytes (not JSON)"
        print(f"{self.path} {self.headers.get('webhook-id')} {what}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the terminal to one line per delivery."""


def main() -> None:
    """Serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Demo webhook receiver on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=RECEIVER_PORT)
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    print(f"receiving webhooks on http://127.0.0.1:{port}/hooks/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
