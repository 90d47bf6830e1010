from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from service.api.deps import ContextDep, ProjectDep
from service.api.openapi import problems, server_sent_events
from service.playground import chat, embeddings
from service.playground.models import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingList,
    EmbeddingRequest,
)

router = APIRouter(prefix="/v1", tags=["playground"])
JSON = "application/json"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
CHAT_ANSWER: dict[int | str, dict[str, Any]] = {200: {
    "model": ChatCompletion, "content": server_sent_events(
        "With stream: true, the provider's chunks as `data: {json}` events, then "
        "`data: [DONE]`.")}}
EMBEDDINGS_ANSWER: dict[int | str, dict[str, Any]] = {200: {"model": EmbeddingList}}


@router.post("/chat/completions", response_class=Response,
             responses={**CHAT_ANSWER, **problems(403, 404, 502)})
async def create_chat_completion(body: ChatCompletionRequest, project: ProjectDep,
                                 ctx: ContextDep) -> Response:
    if body.stream:
        chunks = await chat.open_stream(ctx, project.id, body)
        return StreamingResponse(chunks, headers=STREAM_HEADERS, media_type="text/event-stream")
    return Response(await chat.complete(ctx, project.id, body), media_type=JSON)


@router.post("/embeddings", response_class=Response,
             responses={**EMBEDDINGS_ANSWER, **problems(403, 404, 502)})
async def create_embedding(body: EmbeddingRequest, project: ProjectDep,
                            ctx: ContextDep) -> Response:
    return Response(await embeddings.create(ctx, project.id, body), media_type=JSON)
