from fastapi import APIRouter, Request

from service.api.deps import ContextDep
from service.webhooks import inbound
from service.webhooks.models import Received

router = APIRouter(prefix="/v1/providers", tags=["providers"])


@router.post("/openai/webhook", responses={
    400: {"description": "invalid_webhook_signature: the signature does not verify"},
    404: {"description": "webhook_not_configured: OPENAI_WEBHOOK_SECRET is not set"}})
async def receive_openai_webhook(request: Request, ctx: ContextDep) -> Received:
    """OpenAI's webhooks (no API key: signature-checked); fine_tuning.job.* events sync the job."""
    return inbound.receive_openai(ctx, await request.body(), request.headers)
