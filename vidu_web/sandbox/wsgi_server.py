"""A threaded stdlib WSGI server with HTTP/1.1 keep-alive, which runs the sandbox for tests and for ``manage.py vidu_sandbox``.

wsgiref alone answers one request per connection; a poller doing hundreds of queries a second
would then spend its time opening sockets. This handler loops over requests on a connection.
Every sandbox response carries a Content-Length, which keep-alive needs.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer


class _Handler(ServerHandler):
    http_version = "1.1"


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle kept-alive connection is dropped after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes: don't wait 40 ms between them

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        while not self.close_connection:
            self._handle_one()

    def _handle_one(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        if not getattr(self.server, "quiet", True):
            super().log_message(format, *args)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request hanging on purpose must not keep the process alive
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256
    quiet = True


class SandboxServer:
    """Serves a WSGI app from a background thread; ``port=0`` picks a free port."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.app = app
        self.httpd = ThreadingWSGIServer((host, port), _RequestHandler)
        self.httpd.set_app(app)
        self.httpd.quiet = quiet
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"sandbox-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if hasattr(self.app, "close"):
            self.app.close()
        self._thread.join(timeout=5)
