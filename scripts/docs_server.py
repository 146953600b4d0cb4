"""The API docs page and the API on one origin, for `make dev` and the page's browser test.

    python3 scripts/docs_server.py --page target/docs/index.html [--api URL] [--port PORT]

Serves the page at /docs and forwards every other request (method, headers, body) to the API and
its answer (status, headers, body) back, so the page's "Try it out" calls the API on the page's own
origin: the functions answer no CORS preflight, and a browser refuses a cross-origin call without
one. The API is API_URL (default http://localhost:9000), the port DOCS_PORT (default 9001).
For local development only: it binds 127.0.0.1 and adds nothing to what it forwards.
"""

import argparse
import http.client
import http.server
import json
import os
import sys
import threading
import urllib.parse

# Headers of one connection, not of the message (RFC 9110 section 7.6.1): not forwarded.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# A function compiles on its first invocation under cargo lambda watch, which takes minutes.
API_TIMEOUT_SECONDS = 600


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    page_path = ""
    api = urllib.parse.urlsplit("http://localhost:9000")

    def do_GET(self):
        if self.path.split("?", 1)[0] in ("/docs", "/docs/"):
            self.serve_page()
        else:
            self.forward()

    do_HEAD = do_GET

    def serve_page(self):
        try:
            with open(self.page_path, "rb") as f:
                body = f.read()
        except OSError as error:
            self.answer(500, "text/plain; charset=utf-8", f"cannot read the page: {error}; run make docs\n".encode())
            return
        self.answer(200, "text/html; charset=utf-8", body, {"Cache-Control": "no-cache"})

    def forward(self):
        body = self.read_body()
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("host", "content-length")
        }
        if body is not None:
            headers["Content-Length"] = str(len(body))
        connection_class = http.client.HTTPSConnection if self.api.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(self.api.netloc, timeout=API_TIMEOUT_SECONDS)
        try:
            connection.request(self.command, self.api.path.rstrip("/") + self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            problem = {
                "type": "about:blank",
                "title": "Bad Gateway",
                "status": 502,
                "detail": f"the docs server could not reach the API at {self.api.geturl()}: {error}",
            }
            self.answer(502, "application/problem+json", json.dumps(problem).encode())
            return
        finally:
            connection.close()
        # Not send_response: the API's own Server and Date headers are forwarded instead of ours.
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = forward

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields, not forwarded
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length is not None else None

    def answer(self, status, content_type, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        sys.stderr.write(f"docs-server: {self.address_string()} {format % args}\n")


def make_server(page, api_url, port, host="127.0.0.1"):
    """A server for the page and the API, bound (port 0: a free one) but not yet serving."""
    handler = type("DocsHandler", (Handler,), {"page_path": page, "api": urllib.parse.urlsplit(api_url)})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_background(page, api_url, port=0):
    """Starts a server on a thread; returns it (its port is server.server_address[1])."""
    server = make_server(page, api_url, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="target/docs/index.html")
    parser.add_argument("--api", default=os.environ.get("API_URL", "http://localhost:9000"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DOCS_PORT", "9001")))
    args = parser.parse_args()
    server = make_server(args.page, args.api, args.port)
    print(f"docs-server: http://localhost:{server.server_address[1]}/docs, forwarding to {args.api}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
