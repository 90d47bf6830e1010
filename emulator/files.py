"""/v1/files and /v1/uploads (the large-file path: parts, then complete)."""

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import invalid, missing, not_found
from emulator.parse import limit, read_form, read_json, required_str
from emulator.state import FileRecord, State, list_body, new_id, now, of, page

router = APIRouter(prefix="/v1")
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_UPLOAD_BYTES = 8 * 2**30
UPLOAD_TTL = 3600


@dataclass
class Upload:
    id: str
    filename: str
    purpose: str
    size: int
    mime_type: str
    created_at: int
    status: str = "pending"
    parts: dict[str, bytes] = field(default_factory=dict)
    file_id: str | None = None

    def render(self, state: State) -> dict[str, Any]:
        status = self.status
        if status == "pending" and now() > self.created_at + UPLOAD_TTL:
            status = "expired"
        file = state.files.get(self.file_id) if self.file_id else None
        return {"id": self.id, "object": "upload", "bytes": self.size,
                "created_at": self.created_at, "expires_at": self.created_at + UPLOAD_TTL,
                "filename": self.filename, "purpose": self.purpose, "status": status,
                "file": file.render() if file else None}


def check_purpose(purpose: object) -> str:
    if not purpose:
        raise missing("purpose")
    if purpose not in PURPOSES:
        raise invalid(f"{purpose!r} is not one of {list(PURPOSES)} - 'purpose'", "purpose",
                      "invalid_value")
    return str(purpose)


@router.post("/files")
async def create_file(request: Request) -> dict[str, Any]:
    state = of(request)
    form = await read_form(request)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise missing("file")
        purpose = check_purpose(form.get("purpose"))
        content = await upload.read()
        return state.add_file(upload.filename or "file", purpose, content).render()
    finally:
        await form.close()


@router.get("/files")
async def list_files(request: Request) -> dict[str, Any]:
    state = of(request)
    purpose = request.query_params.get("purpose")
    records = [f for f in state.files.values() if purpose is None or f.purpose == purpose]
    if request.query_params.get("order", "desc") == "desc":
        records.reverse()
    chosen, more = page([f.id for f in records], request.query_params.get("after"),
                        limit(request, 10_000, 10_000))
    return list_body([state.files[i].render() for i in chosen], more)


@router.get("/files/{file_id}")
async def retrieve_file(file_id: str, request: Request) -> dict[str, Any]:
    return find_file(of(request), file_id).render()


@router.delete("/files/{file_id}")
async def delete_file(file_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    find_file(state, file_id)
    del state.files[file_id]
    return {"id": file_id, "object": "file", "deleted": True}


@router.get("/files/{file_id}/content")
async def file_content(file_id: str, request: Request) -> Response:
    record = find_file(of(request), file_id)
    if record.purpose == "fine-tune":
        raise invalid("Not allowed to download files of purpose: fine-tune", "file_id")
    media = "text/csv" if record.filename.endswith(".csv") else "application/octet-stream"
    return Response(record.content, media_type=media)


def find_file(state: State, file_id: str) -> FileRecord:
    record = state.files.get(file_id)
    if record is None:
        raise not_found(f"No such File object: {file_id}", "id", "file_not_found")
    return record


@router.post("/uploads")
async def create_upload(request: Request) -> dict[str, Any]:
    state, body = of(request), await read_json(request)
    filename = required_str(body, "filename")
    purpose = check_purpose(body.get("purpose"))
    size = body.get("bytes")
    if size is None:
        raise missing("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_UPLOAD_BYTES:
        raise invalid("Invalid 'bytes': expected a positive integer of at most 8 GB.", "bytes",
                      "invalid_value")
    mime_type = required_str(body, "mime_type")
    upload = Upload(new_id("upload_"), filename, purpose, size, mime_type, int(now()))
    state.uploads[upload.id] = upload
    return upload.render(state)


@router.post("/uploads/{upload_id}/parts")
async def add_part(upload_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    upload = pending_upload(state, upload_id)
    form = await read_form(request)
    try:
        data = form.get("data")
        if not isinstance(data, UploadFile):
            raise missing("data")
        part_id = new_id("part_")
        upload.parts[part_id] = await data.read()
    finally:
        await form.close()
    return {"id": part_id, "object": "upload.part", "created_at": int(now()),
            "upload_id": upload.id}


@router.post("/uploads/{upload_id}/complete")
async def complete_upload(upload_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    upload = pending_upload(state, upload_id)
    part_ids = (await read_json(request)).get("part_ids")
    if not isinstance(part_ids, list) or not part_ids:
        raise missing("part_ids")
    unknown = [p for p in part_ids if p not in upload.parts]
    if unknown:
        raise invalid(f"Part {unknown[0]} does not belong to upload {upload_id}.", "part_ids",
                      "invalid_value")
    content = b"".join(upload.parts[p] for p in part_ids)
    if len(content) != upload.size:
        raise invalid(f"The upload was created with bytes={upload.size}, but the parts add up "
                      f"to {len(content)} bytes.", "bytes", "upload_size_mismatch")
    upload.file_id = state.add_file(upload.filename, upload.purpose, content).id
    upload.status, upload.parts = "completed", {}
    return upload.render(state)


@router.post("/uploads/{upload_id}/cancel")
async def cancel_upload(upload_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    upload = pending_upload(state, upload_id)
    upload.status, upload.parts = "cancelled", {}
    return upload.render(state)


def pending_upload(state: State, upload_id: str) -> Upload:
    upload = state.uploads.get(upload_id)
    if upload is None:
        raise not_found(f"No such Upload object: {upload_id}", "upload_id", "upload_not_found")
    status = upload.render(state)["status"]
    if status != "pending":
        raise invalid(f"Upload {upload_id} is {status}; it is no longer accepting changes.",
                      "upload_id", "invalid_upload_state")
    return upload
