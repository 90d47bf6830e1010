"""Every Redis key the service uses, built here and nowhere else: ftm:<kind>:<id>[:<part>]."""

PREFIX = "ftm"


def record(kind: str, record_id: str) -> str:
    return f"{PREFIX}:{kind}:{record_id}"


def project_index(kind: str, project_id: str) -> str:
    """Sorted set of a project's records of one kind, scored by creation time."""
    return f"{PREFIX}:{kind}:by_project:{project_id}"


def all_index(kind: str) -> str:
    return f"{PREFIX}:{kind}:all"


def api_key_hash(key_hash: str) -> str:
    return f"{PREFIX}:key_hash:{key_hash}"


def idempotency(scope: str, key: str) -> str:
    return f"{PREFIX}:idem:{scope}:{key}"


def bucket(name: str) -> str:
    return f"{PREFIX}:bucket:{name}"


def lock(name: str, resource_id: str) -> str:
    return f"{PREFIX}:lock:{name}:{resource_id}"


def setting(name: str) -> str:
    return f"{PREFIX}:setting:{name}"
