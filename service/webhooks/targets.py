"""Where webhooks may be sent: public http(s) addresses, plus what the operator allows.

A URL is checked when it is registered and again before each attempt, after DNS resolution
(a name may be made to resolve elsewhere later); the attempt connects to the address checked.
"""

import ipaddress
import socket
from dataclasses import dataclass

import httpx

from service.errors import FieldError, InvalidWebhookUrl, WebhookTargetNotAllowed
from service.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


class Refused(Exception):
    """The URL may not be delivered to; str() is the class of reason a tenant may see."""


@dataclass(frozen=True)
class Target:
    """An attempt's destination: the URL with the checked address as host, and what keeps the
    original name for the receiver (Host header, TLS server name)."""

    url: httpx.URL
    host_header: str
    server_name: str


def check(settings: Settings, url: str, field: str) -> None:
    """Refuse, at registration, a URL no attempt would be allowed to reach."""
    parsed = parse(url, field)
    try:
        addresses = resolve(parsed.host)
    except Refused:
        return  # unresolvable here and now: each attempt resolves and checks again
    reason = refusal(settings, parsed.host, addresses)
    if reason:
        raise WebhookTargetNotAllowed(
            f"{field.removeprefix('body.')} points to {reason}; webhooks go to public "
            "addresses only (an operator may allow internal receivers with "
            "FTM_WEBHOOK_ALLOWED_TARGETS).", errors=[FieldError(field=field, message=reason)])


def parse(url: str, field: str) -> httpx.URL:
    def invalid(message: str) -> InvalidWebhookUrl:
        return InvalidWebhookUrl(f"{field.removeprefix('body.')}: {message}",
                                 errors=[FieldError(field=field, message=message)])

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise invalid("not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise invalid("must be an absolute http(s) URL")
    if parsed.userinfo:
        raise invalid("must not carry a user name or password")
    return parsed


def resolve(host: str) -> list[Address]:
    """Every address the host stands for, in any spelling (127.1, 2130706433, [::1], names)."""
    if host.lower().rstrip(".") in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]  # RFC 6761, whatever the resolver says
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise Refused("name not resolved") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


def plain(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (::ffff:a.b.c.d, 6to4 2002:…), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def refusal(settings: Settings, host: str, addresses: list[Address]) -> str | None:
    """Why these addresses are refused, or None when all are allowed."""
    allowed = settings.webhook_allowed_targets
    if host.lower().rstrip(".") in (entry.lower() for entry in allowed):
        return None
    networks = [ipaddress.ip_network(entry, strict=False) for entry in allowed
                if is_network(entry)]
    for address in map(plain, addresses):
        if any(address in network for network in networks):
            continue
        kind = address_kind(address)
        if kind:
            return f"a {kind} address"
    return None


def address_kind(address: Address) -> str | None:
    for kind in ("loopback", "unspecified", "link-local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return kind
    return None if address.is_global else "non-public"


def is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def for_attempt(settings: Settings, url: str) -> Target:
    """The checked destination of one attempt; Refused names the class of reason."""
    try:
        parsed = parse(url, "url")
    except InvalidWebhookUrl:
        raise Refused("invalid URL") from None
    addresses = resolve(parsed.host)
    if refusal(settings, parsed.host, addresses):
        raise Refused("refused address")
    return Target(url=parsed.copy_with(host=str(addresses[0])),
                  host_header=parsed.netloc.decode("ascii"), server_name=parsed.host)
