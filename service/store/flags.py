"""Flags: keys whose being there is all they say."""

from service.store.clients import Client


def raise_once(client: Client, key: str) -> bool:
    """Set the flag; True only for the caller that set it first."""
    return bool(client.set(key, "1", nx=True))
