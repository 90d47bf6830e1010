"""Projects and their API keys. Keys are shown once and stored only as SHA-256 hashes."""

import hashlib
import hmac
import secrets

from service import clock, ids
from service.context import Context
from service.errors import KeyNotFound, ProjectNotFound, Unauthorized
from service.projects import repository
from service.projects.models import ApiKey, ApiKeyCreated, KeyCreate, Project, ProjectCreate
from service.store import records
from service.store.clients import AsyncClient

KEY_PREFIX = "ftm_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_project(ctx: Context, body: ProjectCreate) -> Project:
    project = Project(id=ids.new_id("project"), created_at=clock.now(), name=body.name,
                      budget_usd=body.budget_usd)
    ctx.store.create(project, None)
    return project


def get_project(ctx: Context, project_id: str) -> Project:
    project = ctx.store.get(Project, project_id)
    if project is None:
        raise ProjectNotFound(project_id)
    return project


def create_key(ctx: Context, project_id: str, body: KeyCreate) -> ApiKeyCreated:
    get_project(ctx, project_id)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(id=ids.new_id("key"), created_at=clock.now(), project_id=project_id,
                    name=body.name, redacted=f"{secret[:8]}…{secret[-4:]}",
                    key_hash=hash_key(secret))
    ctx.store.create(record, project_id,
                     also_write=lambda pipe: repository.index_key(pipe, record.key_hash, record.id))
    return ApiKeyCreated(**record.model_dump(exclude={"object", "revoked", "key_hash"}),
                         key=secret)


def revoke_key(ctx: Context, key_id: str) -> None:
    """Revoke a key; revoking it again is harmless."""
    record = ctx.store.get(ApiKey, key_id)
    if record is None:
        raise KeyNotFound(key_id)
    ctx.store.update(ApiKey, key_id, lambda k: k.evolve(revoked=True),
                     also_write=lambda pipe, old, new: repository.unindex_key(pipe, old.key_hash))


def authenticate(ctx: Context, secret: str) -> tuple[Project, ApiKey]:
    """The project and key behind a bearer secret, or Unauthorized."""
    key_id = repository.key_id_by_hash(ctx.redis, hash_key(secret))
    record = ctx.store.get(ApiKey, key_id) if key_id else None
    project = ctx.store.get(Project, record.project_id) if record else None
    return valid_key(project, record)


async def authenticate_on_loop(client: AsyncClient, secret: str) -> tuple[Project, ApiKey]:
    """authenticate() through an asyncio client."""
    key_id = await repository.key_id_by_hash_on_loop(client, hash_key(secret))
    record = await records.get_on_loop(client, ApiKey, key_id) if key_id else None
    project = await records.get_on_loop(client, Project, record.project_id) if record else None
    return valid_key(project, record)


def valid_key(project: Project | None, record: ApiKey | None) -> tuple[Project, ApiKey]:
    if record is None or record.revoked or project is None:
        raise Unauthorized("Invalid API key.", headers={"WWW-Authenticate": "Bearer"})
    return project, record


def is_admin(ctx: Context, secret: str) -> bool:
    return hmac.compare_digest(secret.encode(), ctx.settings.admin_key.get_secret_value().encode())
