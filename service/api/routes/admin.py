from fastapi import APIRouter, Response

from service.api.deps import AdminDep, CallersDep, ContextDep
from service.deletion import Deleted
from service.projects import service as projects
from service.projects.models import ApiKeyCreated, KeyCreate, Project, ProjectCreate

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreate, response: Response, _: AdminDep,
                   ctx: ContextDep) -> Project:
    project = projects.create_project(ctx, body)
    response.headers["Location"] = f"/v1/admin/projects/{project.id}"
    return project


@router.get("/projects/{project_id}")
def get_project(project_id: str, _: AdminDep, ctx: ContextDep) -> Project:
    return projects.get_project(ctx, project_id)


@router.post("/projects/{project_id}/keys", status_code=201)
def create_api_key(project_id: str, response: Response, _: AdminDep, ctx: ContextDep,
               body: KeyCreate | None = None) -> ApiKeyCreated:
    key = projects.create_key(ctx, project_id, body or KeyCreate())
    response.headers["Location"] = f"/v1/admin/keys/{key.id}"
    return key


@router.delete("/keys/{key_id}")
def delete_api_key(key_id: str, _: AdminDep, ctx: ContextDep, callers: CallersDep) -> Deleted:
    projects.revoke_key(ctx, key_id)
    callers.keys.forget(key_id)
    return Deleted(id=key_id, object="api_key")
