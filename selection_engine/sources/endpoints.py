"""Which S3 endpoints a server may connect to on a user's behalf.

A user of a shared server names an S3-compatible endpoint (``endpoint_url``) and the server opens
connections to that host and port: left open, that is a port scanner and request forger on the
server's own network (Redis, PostgreSQL, the cloud's metadata service at 169.254.169.254). An
:class:`EndpointPolicy` is the one rule deciding it; the web app builds one from its settings and
gives it to every :class:`~selection_engine.sources.S3Source` it makes, which checks the endpoint
when it is created and again right before every request it sends. The CLI makes none: whoever
runs it is the operator.

The rule: no endpoint (AWS, as boto3 finds it) is always allowed. Otherwise the endpoint must be
an ``http://`` or ``https://`` URL without user name, query or fragment, and either

- listed by the operator: a URL (same scheme, host and port) or a host name (``minio``,
  ``minio:9000``), allowed wherever it points, or
- resolved, with the same ``getaddrinfo`` call the connection makes, to addresses that are all
  public (when the operator lists ``public``) or inside one of the operator's networks.

Resolving rather than parsing is what makes ``http://2130706433/``, ``http://0x7f.1/``,
``http://[::ffff:127.0.0.1]/`` or a DNS name pointing at 127.0.0.1 count as the loopback they
lead to. A refusal never says which addresses a name resolved to, or that it did not resolve:
that would make the check itself a probe of the server's network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The entry of the allowed endpoints that admits any endpoint on public addresses only.
PUBLIC = "public"
_KEY = "datasource.endpoint_url"
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: What a host[:port] may be made of: names, IPv4, bracketed IPv6. No userinfo, no escapes.
_NETLOC = re.compile(r"^[A-Za-z0-9._\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$")
#: IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052) and the
#: deprecated IPv4-compatible form; the address is judged by the IPv4 address it leads to too.
_V4_IN_LAST_32 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::/96"))
#: Global by Python's tables, but local by definition: NAT64 for local use (RFC 8215).
_LOCAL_USE = (ipaddress.ip_network("64:ff9b:1::/48"),)


@dataclass(frozen=True)
class _Listed:
    scheme: str | None  # None: http or https
    host: str
    port: int | None  # None: any port


def _split(url: str, *, listed: bool = False) -> tuple[str | None, str, int | None]:
    """``(scheme, host, port)`` of an endpoint URL (or, with ``listed``, of a bare ``host[:port]``);
    ValueError saying what is wrong."""
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("is empty or holds spaces or control characters")
    if listed and "://" not in url:
        scheme, rest = None, url.rstrip("/")
    else:
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in _DEFAULT_PORTS:
            raise ValueError("is not a valid endpoint URL: it must start with http:// or https://")
        if re.search(r"[?#]", rest):
            raise ValueError("must not have a query or a fragment")
        rest = rest.split("/", 1)[0]
    if "@" in rest:
        raise ValueError("must not hold a user name or password (give the keys as access_key_id and secret_access_key)")
    if not _NETLOC.match(rest):
        raise ValueError(f"{rest!r} is not a host name or address with an optional :port")
    parts = urlsplit(f"//{rest}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{rest!r} has an invalid port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("has no host")
    if port is None and scheme is not None:
        port = _DEFAULT_PORTS[scheme]
    return scheme, host.lower(), port


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, 6to4, NAT64, compatible), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _V4_IN_LAST_32):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Global unicast, and so is any IPv4 address it embeds (6to4, NAT64, mapped)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)  # Python calls every mapped address non-global
    embedded = _embedded_v4(address)
    if embedded is not None and not is_public(embedded):
        return False
    if any(address in network for network in _LOCAL_USE):
        return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, as the connection resolves it; [] when it does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


@dataclass(frozen=True)
class EndpointPolicy:
    """The S3 endpoints a server may connect to for its users.

    endpoints: :data:`PUBLIC` (any endpoint whose every address is public), endpoint URLs
        (``http://minio:9000``: that scheme, host and port) and host names (``minio``, any port;
        ``minio:9000``) the operator vouches for, wherever they point.
    networks: endpoints whose every address lies in one of these are allowed too, private or not
        (``10.0.0.0/8``, ``127.0.0.1/32``).
    """

    endpoints: tuple[str, ...] = (PUBLIC,)
    networks: tuple[Network, ...] = ()
    _listed: tuple[_Listed, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        listed = []
        for entry in self.endpoints:
            if entry.strip().lower() == PUBLIC:
                continue
            try:
                listed.append(_Listed(*_split(entry.strip(), listed=True)))
            except ValueError as exc:
                raise ValueError(f"allowed endpoint {entry!r} {exc}") from None
        object.__setattr__(self, "_listed", tuple(listed))

    @classmethod
    def parse(cls, endpoints: str, networks: str = "") -> EndpointPolicy:
        """From the operator's strings: entries separated by commas or spaces. ValueError names a
        bad entry."""
        nets = []
        for entry in re.split(r"[,\s]+", networks.strip()):
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"allowed network {entry!r} is not an address or a network like 10.0.0.0/8") from None
        return cls(tuple(e for e in re.split(r"[,\s]+", endpoints.strip()) if e), tuple(nets))

    @property
    def allows_public(self) -> bool:
        return any(entry.strip().lower() == PUBLIC for entry in self.endpoints)

    def check(self, endpoint_url: str | None) -> None:
        """Raise :class:`ConfigError` (key ``datasource.endpoint_url``) unless the server may
        connect to ``endpoint_url``; None or empty means AWS and is allowed."""
        if not endpoint_url:
            return
        try:
            scheme, host, port = _split(endpoint_url)
        except ValueError as exc:
            raise ConfigError(_KEY, f"{endpoint_url} {exc}") from None
        assert scheme is not None and port is not None
        self._check(endpoint_url, scheme, host, port)

    def check_request(self, url: str) -> None:
        """The same check for the URL of one request (a path and query after the endpoint)."""
        parts = urlsplit(url)
        self.check(f"{parts.scheme}://{parts.netloc}")

    def _check(self, shown: str, scheme: str, host: str, port: int) -> None:
        for entry in self._listed:
            if entry.host == host and entry.scheme in (None, scheme) and entry.port in (None, port):
                return
        addresses = resolve(host, port)
        if addresses and all(self._address_allowed(address) for address in addresses):
            return
        raise ConfigError(
            _KEY,
            f"{shown} is not an S3 endpoint this server may connect to (it must resolve to public "
            "addresses only, or be allowed by the server's WINNOW_S3_ALLOWED_ENDPOINTS or "
            "WINNOW_S3_ALLOWED_NETWORKS); check the URL, or ask your admin to allow it",
        )

    def _address_allowed(self, address: Address) -> bool:
        embedded = _embedded_v4(address)
        for candidate in (address, embedded):
            if candidate is not None and any(candidate in network for network in self.networks):
                return True
        return self.allows_public and is_public(address)
