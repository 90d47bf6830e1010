"""Named counts kept in one Redis hash."""

from service.store.clients import Client, text


def read(client: Client, key: str) -> dict[str, int]:
    """Every count in the hash by name."""
    return {text(name): int(count) for name, count in client.hgetall(key).items()}
