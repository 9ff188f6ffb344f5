"""The SSRF guard for outgoing webhooks: only global addresses, and connect to what was checked.

A webhook URL is typed by a user, so without a guard daypulse would POST wherever it says: the
cloud metadata service (169.254.169.254), a database on the private network, localhost. Rules
(../shared/notes/DELIVERY.md):

* ``http`` and ``https`` only;
* the host is resolved (A and AAAA) and **every** address must be allowed, else the URL is
  refused: loopback, RFC 1918, 100.64/10, fc00::/7 and every other non-global range are refused;
  IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``
  — which Python calls global —, 6to4, Teredo, IPv4-compatible) are judged by that address too;
* the connection goes to one of the addresses just validated (:class:`PinnedTransport`
  resolves inside the connect step and never resolves again), so DNS rebinding cannot swap in
  a private address between check and connect; TLS still verifies the URL's host name (SNI);
* redirects are not followed, the response is read up to a cap, every step has a timeout.

``allow_private`` (tests, local development) allows loopback and private ranges; link-local
(the metadata service), multicast, unspecified and reserved addresses stay refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import ssl
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$", re.I)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


class Refused(Exception):
    """A URL or address the guard does not allow: a permanent failure."""


@dataclass(frozen=True)
class Guard:
    allow_private: bool = False
    # What to do about a private address it refuses (a subscription's `to` on a channel that
    # allows private addresses for its own URL only is told so instead).
    private_hint: str = "allow_private: true to allow it"

    def url(self, url: str) -> tuple[str, int]:
        """The (host, port) of an allowed-looking URL; Refused for a scheme or shape we do not send to."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as err:
            raise Refused(f"not a valid URL: {err}") from None
        if parts.scheme not in ("http", "https"):
            raise Refused(f"only http and https URLs are allowed, not {parts.scheme or 'no scheme'!r}")
        if not parts.hostname:
            raise Refused("the URL has no host")
        if _NUMERIC_HOST.match(parts.hostname) and not _DOTTED_QUAD.match(parts.hostname):
            # 0177.0.0.1, 2130706433, 0x7f.1: C resolvers read them as addresses, URL parsers refuse them.
            raise Refused(f"{parts.hostname!r} is not a valid host (write an IPv4 address as four decimal numbers)")
        return parts.hostname, port or (443 if parts.scheme == "https" else 80)

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, in resolver order, when all are allowed; Refused
        naming the first one that is not. DNS failures raise OSError (socket.gaierror)."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            reason = self.refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason:
                raise Refused(f"{address} {reason}" if host.strip("[]") == address
                              else f"{host} resolves to {address}, which {reason}")
        return addresses

    def check(self, url: str) -> list[str]:
        """The addresses a URL would be sent to; Refused or OSError otherwise (for ``check``)."""
        host, port = self.url(url)
        return self.resolve(host, port)

    def refusal(self, ip: IP) -> str | None:
        """Why ``ip`` is refused, or None when it is allowed."""
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                reason = self.refusal(embedded)
                if reason:
                    return f"is an IPv6 form of {embedded}, which {reason}"
                if ip.ipv4_mapped is not None or ip in NAT64:
                    return None  # judged by the IPv4 address it reaches
        if ip.is_unspecified:
            return "is the unspecified address"
        if ip.is_multicast:
            return "is a multicast address"
        if ip.is_link_local:
            return "is link-local (e.g. the cloud metadata service): never allowed"
        if ip.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
            return None if self.allow_private else f"is a loopback address ({self.private_hint})"
        if ip.is_reserved:
            return "is a reserved address"
        if not ip.is_global:
            return None if self.allow_private else f"is not a global address ({self.private_hint})"
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's (obfuscated) address, as ipaddress decodes it
    return None


# ---- an httpx transport that connects only to validated addresses ------------------------------


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, resolving and checking the host inside connect_tcp."""

    def __init__(self, guard: Guard):
        self.guard = guard
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self.guard.resolve(host, port)
        except OSError as err:  # DNS failure: a connection error like any other
            raise httpcore.ConnectError(f"cannot resolve {host}: {err}") from err
        last: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None
        raise last

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


_EXCEPTIONS: list[tuple[type[Exception], type[httpx.TransportError]]] = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
]


@contextlib.contextmanager
def _as_httpx() -> Iterator[None]:
    """httpcore's exceptions raised as httpx's, as httpx's own transport does; others (Refused) as is."""
    try:
        yield
    except tuple(c for c, _ in _EXCEPTIONS) as err:
        ours = next(o for c, o in _EXCEPTIONS if isinstance(err, c))
        raise ours(str(err)) from err


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: typing.Iterable[bytes]):
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx():
            yield from self.stream

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close:
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport (HTTP/1.1, no proxy, no environment) whose every connection goes to an
    address the guard resolved and allowed in that same connect step; Refused propagates."""

    def __init__(self, guard: Guard, ssl_context: ssl.SSLContext | None = None):
        self.pool = httpcore.ConnectionPool(ssl_context=ssl_context or ssl.create_default_context(),
                                            network_backend=_GuardedBackend(guard), max_connections=4, retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        with _as_httpx():
            resp = self.pool.handle_request(core)
        assert isinstance(resp.stream, typing.Iterable)
        return httpx.Response(status_code=resp.status, headers=resp.headers, stream=_Body(resp.stream),
                              extensions=resp.extensions)

    def close(self) -> None:
        self.pool.close()
