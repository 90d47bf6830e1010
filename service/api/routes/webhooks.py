from fastapi import APIRouter, Response

from service.api.deps import ContextDep, ProjectDep
from service.api.pagination import After, Limit
from service.deletion import Deleted
from service.pagination import Page
from service.webhooks import service as webhooks
from service.webhooks.models import Delivery, JobSecret, Webhook, WebhookCreate, WebhookCreated

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201)
def create_webhook(body: WebhookCreate, response: Response, project: ProjectDep,
                   ctx: ContextDep) -> WebhookCreated:
    """Register an endpoint; the answer is the only one that shows its signing secret."""
    webhook = webhooks.create(ctx, project.id, body)
    response.headers["Location"] = f"/v1/webhooks/{webhook.id}"
    return webhook


@router.get("")
def list_webhooks(project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
                  after: After = None) -> Page[Webhook]:
    return webhooks.page(ctx, project.id, limit, after)


@router.post("/job-secret")
def rotate_job_webhook_secret(project: ProjectDep, ctx: ContextDep) -> JobSecret:
    # The docstring is the operation's description in the committed spec: kept on one line.
    """A new secret signing deliveries to jobs' own webhook_url, shown once; it replaces the last."""  # noqa: E501
    return webhooks.rotate_job_secret(ctx, project.id)


@router.get("/{webhook_id}")
def get_webhook(webhook_id: str, project: ProjectDep, ctx: ContextDep) -> Webhook:
    return webhooks.get(ctx, project.id, webhook_id)


@router.delete("/{webhook_id}")
def delete_webhook(webhook_id: str, project: ProjectDep, ctx: ContextDep) -> Deleted:
    return webhooks.delete(ctx, project.id, webhook_id)


@router.get("/{webhook_id}/deliveries")
def list_webhook_deliveries(webhook_id: str, project: ProjectDep, ctx: ContextDep,
                            limit: Limit = 20, after: After = None) -> Page[Delivery]:
    return webhooks.page_deliveries(ctx, project.id, webhook_id, limit, after)
