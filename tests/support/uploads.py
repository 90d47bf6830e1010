"""Raw dataset uploads (multipart bodies written by hand) and what a refused one leaves behind."""

from pathlib import Path
from typing import Any

BOUNDARY = "ftm-bad-input-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(content: bytes, filename: str = "data.jsonl", **fields: str) -> bytes:
    """A complete multipart/form-data body: the text fields, then the file part."""
    head = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in fields.items())
    head += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n')
    return head.encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_raw(client: Any, headers: dict[str, str], body: bytes) -> Any:
    return client.post("/v1/datasets", headers={**headers, "Content-Type": MULTIPART},
                       content=body)


def stored_files(settings: Any) -> list[Path]:
    return sorted(p for p in (settings.data_dir / "files").rglob("*") if p.is_file())


def service_keys(redis_client: Any) -> set[bytes]:
    """Redis keys a request may leave; the rate limiter's buckets come and go on their own."""
    return {key for key in redis_client.scan_iter("*") if not key.startswith(b"ftm:bucket:")}


CSV = b"prompt,completion\n" + b"".join(b"question %d,answer %d\n" % (n, n) for n in range(30))


def part(disposition: bytes, content: bytes) -> bytes:
    return (b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; " + disposition
            + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + b"\r\n")


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"
