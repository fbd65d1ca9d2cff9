"""Loopback HTTP and HTTPS servers that serve images, and misbehave on request.

Each server runs in its own threads, so it works with any event loop (the test's, uvicorn's, none):

    tls = make_tls(tmp_path)                      # a CA and a localhost certificate signed by it
    with ImageServer(tls=tls) as server:          # HTTPS on 127.0.0.1, a free port
        server.image("/a.png", png_bytes)
        server.redirect("/r", "/a.png")
        url = server.url("/r")                    # https://localhost:<port>/r
        policy = FetchPolicy(allow_list=LOOPBACK, ca_file=tls.ca_file)

Routes: `image`, `route` (any status/headers/body), `redirect`, `slow` (a byte at a time),
`endless` (never ends), `lying_length` (Content-Length that the body does not keep), `chunked`,
`together` (answers only when N requests wait at once).
`server.requests` records (path, headers) of every request, e.g. to check the Host header."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The allow-list a test policy needs to reach these servers.
LOOPBACK = ("127.0.0.0/8", "::1/128")

# Misbehaving routes stop on their own after this long, so no thread outlives a test run for long.
_GIVE_UP_S = 60.0


@dataclass(frozen=True)
class TLSFiles:
    ca_file: str
    cert_file: str
    key_file: str


def make_tls(directory: Path, names: tuple[str, ...] = ("localhost",)) -> TLSFiles:
    """A throwaway CA and a server certificate for `names`, 127.0.0.1 and ::1, signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opendream test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TLSFiles(str(ca_file), str(cert_file), str(key_file))


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # "exact": a true Content-Length; an int: announce that many bytes whatever the body;
    # None: no Content-Length, the body ends when the connection closes.
    content_length: int | str | None = "exact"
    chunked: bool = False
    byte_interval_s: float = 0.0  # > 0: send the body one byte at a time, this far apart
    endless: bool = False  # send zeros until the client goes away
    # Answer only once this many requests wait together: proves requests arrive concurrently.
    barrier: threading.Barrier | None = None


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


class ImageServer:
    def __init__(self, *, tls: TLSFiles | None = None, host: str = "127.0.0.1") -> None:
        self.tls = tls
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ImageServer:
        base = _tls_server_class(self.tls) if self.tls else _PlainServer
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("Server", (base,), {"address_family": family})
        handler = type("Handler", (_Handler,), {"server_owner": self})
        self._httpd = server_class((self.host, 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ImageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """A URL of this server; by default named `localhost` for HTTPS (the certificate's name)
        and by its IP for HTTP."""
        if host is None:
            host = "localhost" if self.tls and self.host == "127.0.0.1" else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}{path}"

    # routes ------------------------------------------------------------------------------------
    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def image(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        return self.route(path, Route(body=data, headers=[("Content-Type", content_type)]))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Route(status=status, headers=[("Location", location)]))

    def redirect_chain(self, prefix: str, hops: int, final: str) -> str:
        """`hops` redirects in a row ending at `final`; returns the URL of the first."""
        for i in range(hops):
            target = final if i == hops - 1 else f"{prefix}{i + 1}"
            self.redirect(f"{prefix}{i}", target)
        return self.url(f"{prefix}0")

    def slow(self, path: str, data: bytes, byte_interval_s: float = 0.2) -> str:
        return self.route(path, Route(body=data, byte_interval_s=byte_interval_s))

    def endless(self, path: str, *, with_length: int | None = None) -> str:
        return self.route(path, Route(endless=True, content_length=with_length))

    def lying_length(self, path: str, data: bytes, announced: int) -> str:
        return self.route(path, Route(body=data, content_length=announced))

    def together(self, path: str, data: bytes, parties: int) -> str:
        """Serve `data` only when `parties` requests for it are in flight at the same time."""
        return self.route(path, Route(body=data, barrier=threading.Barrier(parties)))

    def chunked(self, path: str, data: bytes) -> str:
        return self.route(path, Route(body=data, chunked=True, content_length=None))


class _PlainServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


def _tls_server_class(tls: TLSFiles) -> type[_PlainServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_file, tls.key_file)

    class _TLSServer(_PlainServer):
        def finish_request(self, request: socket.socket, client_address: Any) -> None:
            # The handshake happens here, in the request's own thread, so a client that never
            # finishes one cannot stall the accept loop.
            try:
                request.settimeout(10)
                wrapped = context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            super().finish_request(wrapped, client_address)

    return _TLSServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: ImageServer
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        owner = self.server_owner
        owner.requests.append(
            SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()})
        )
        route = owner.routes.get(self.path.split("?", 1)[0])
        if route is None:
            route = Route(status=404, body=b"not found", headers=[("Content-Type", "text/plain")])
        # The client may go away mid-body, as clients refusing a body do.
        with contextlib.suppress(OSError, ssl.SSLError):
            self._answer(route)
        self.close_connection = True

    def _answer(self, route: Route) -> None:
        if route.barrier is not None:
            try:
                route.barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                route = Route(status=503, body=b"requests did not arrive together")
        self.send_response(route.status)
        for name, value in route.headers:
            self.send_header(name, value)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif route.content_length == "exact" and not route.endless:
            self.send_header("Content-Length", str(len(route.body)))
        elif isinstance(route.content_length, int):
            self.send_header("Content-Length", str(route.content_length))
        self.send_header("Connection", "close")
        self.end_headers()
        if route.endless:
            self._send_forever()
        elif route.chunked:
            for piece in _pieces(route.body, 1000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif route.byte_interval_s > 0:
            give_up = time.monotonic() + _GIVE_UP_S
            for i in range(len(route.body)):
                if time.monotonic() > give_up:
                    break
                self.wfile.write(route.body[i : i + 1])
                self.wfile.flush()
                time.sleep(route.byte_interval_s)
        else:
            self.wfile.write(route.body)
        self.wfile.flush()

    def _send_forever(self) -> None:
        block = bytes(64 * 1024)
        give_up = time.monotonic() + _GIVE_UP_S
        while time.monotonic() < give_up:
            self.wfile.write(block)


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
