"""Conversions that make a new dataset file: CSV → chat, CSV → prompt_completion,
prompt_completion → chat. Each reads its source row by row and writes its output to a temporary
file beside the destination, renamed over it only when the whole file is written.

Templates: `{Column}` is the stripped (and value-mapped) value of that column, `{{` and `}}` are
literal braces. Everything between the braces is the column name (surrounding spaces ignored), so
names with spaces or punctuation work; format specs and conversions (`{x:>3}`, `{x!r}`) are not
supported: they are read as part of the column name.

Rows: a CSV row is numbered by data row (the first record after the header is row 1); a JSONL row
by its line. A row is skipped, and reported, when a templated or mapped column is empty
(on_empty "skip"; "error" refuses the whole conversion instead) or when a mapped column holds a
value its map lacks (in both modes: a value map also selects rows).
"""

import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.datasets.csvfile import open_csv
from service.errors import InvalidRequest, UnknownColumn
from service.names import Name

DEFAULT_SEPARATOR = "\n\n###\n\n"
DEFAULT_STOP = " END"
MAX_SKIPPED = 1000

_CHAT_FIELDS = ("system", "user", "assistant")
_PROMPT_FIELDS = ("prompt", "completion", "separator", "stop")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


# A template: text with `{Column}` placeholders, `{{` and `}}` for literal braces.
TemplateText = Annotated[str, Field(
    pattern=r"^(?:[^{}]|\{\{|\}\}|\{[^{}]*?[^{}\s\x1c-\x1f][^{}]*\})*$")]


def _any_of(fields: tuple[str, ...]) -> dict[str, Any]:
    return {"anyOf": [{"required": [name]} for name in fields]}


# Which fields go with which target (checked by _fit_target).
TARGET_SHAPES: dict[str, Any] = {
    "if": {"properties": {"target": {"const": "prompt_completion"}}, "required": ["target"]},
    "then": {"properties": {"prompt": {"type": "string"}, "completion": {"type": "string"}},
             "required": ["prompt", "completion"], "not": _any_of(_CHAT_FIELDS)},
    "else": {"properties": {"user": {"type": "string"}, "assistant": {"type": "string"}},
             "dependentRequired": {"user": ["assistant"], "assistant": ["user"]},
             "not": _any_of(_PROMPT_FIELDS)}}


class ConvertRequest(BaseModel):
    """The body of POST /v1/datasets/{id}/convert."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={**TARGET_SHAPES, "examples": [
        {"name": "reflections-chat", "system": "Classify the reflection: {Question}",
         "user": "{Answers}", "assistant": "{Final}", "on_empty": "skip",
         "value_maps": {"Final": {"1": "No-Reflection", "2": "Understanding",
                                  "3": "Simple Reflection", "4": "Critical Reflection"}}}]})
    name: Name | None = Field(default=None, min_length=1, max_length=256)
    target: Literal["chat", "prompt_completion"] = "chat"
    system: TemplateText | None = None
    user: TemplateText | None = None
    assistant: TemplateText | None = None
    prompt: TemplateText | None = None
    completion: TemplateText | None = None
    separator: str = DEFAULT_SEPARATOR
    stop: str = DEFAULT_STOP
    value_maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    on_empty: Literal["skip", "error"] = "skip"

    @field_validator("system", "user", "assistant", "prompt", "completion")
    @classmethod
    def _parse(cls, text: str | None) -> str | None:
        if text is not None:
            parse_template(text)
        return text

    @model_validator(mode="after")
    def _fit_target(self) -> "ConvertRequest":
        others = _PROMPT_FIELDS if self.target == "chat" else _CHAT_FIELDS
        given = [name for name in others if name in self.model_fields_set]
        if given:
            verb = "does" if len(given) == 1 else "do"
            raise ValueError(f"{', '.join(given)} {verb} not apply to target {self.target!r}")
        if self.target == "chat" and (self.user is None) != (self.assistant is None):
            raise ValueError("target 'chat' needs both user and assistant templates")
        if self.target == "prompt_completion" and (self.prompt is None or self.completion is None):
            raise ValueError("target 'prompt_completion' needs prompt and completion templates")
        return self


class SkippedRow(BaseModel):
    row: int
    reason: str


class ConversionResult(BaseModel):
    converted: int
    skipped: list[SkippedRow] = Field(default_factory=list)
    skipped_count: int = 0

    def skip(self, row: int, reason: str) -> None:
        """Record a skipped row; the list keeps the first MAX_SKIPPED, the count all."""
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIPPED:
            self.skipped.append(SkippedRow(row=row, reason=reason))


@dataclass(frozen=True)
class Template:
    """A parsed template: literals[0] field[0] literals[1] … field[n-1] literals[n]."""

    literals: tuple[str, ...]
    fields: tuple[str, ...]

    def render(self, values: Mapping[str, str]) -> str:
        parts = [self.literals[0]]
        for name, literal in zip(self.fields, self.literals[1:], strict=True):
            parts += (values[name], literal)
        return "".join(parts)


def parse_template(text: str) -> Template:
    """Parse `{Column}` placeholders and `{{`/`}}` escapes; ValueError says what is wrong."""
    literals, fields, literal, end = [], [], [], 0
    for match in _TOKEN.finditer(text):
        literal.append(text[end:match.start()])
        end, token = match.end(), match.group()
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif token == "{":
            raise ValueError(f"'{{' at position {match.start()} is not closed; "
                             "write '{{' for a literal brace")
        elif token == "}":
            raise ValueError(f"single '}}' at position {match.start()}; "
                             "write '}}' for a literal brace")
        elif not (name := match.group(1).strip()):
            raise ValueError(f"empty placeholder '{token}' at position {match.start()}")
        else:
            literals.append("".join(literal))
            fields.append(name)
            literal = []
    literal.append(text[end:])
    literals.append("".join(literal))
    return Template(tuple(literals), tuple(fields))


def check_fields(template: Template, field: str, columns: list[str]) -> None:
    """Raise UnknownColumn when the template names a column that is not in columns."""
    for name in template.fields:
        if name not in columns:
            hint = " (format specs and conversions are not supported)" if (
                ":" in name or "!" in name) else ""
            raise _unknown_column(f"The template {field}", field, f"{name!r}{hint}", columns)


def _unknown_column(subject: str, field: str, name: str, columns: list[str]) -> UnknownColumn:
    message = f"names column {name}, which is not one of: {', '.join(columns)}"
    return UnknownColumn(f"{subject} {message}.", errors=[{"field": field, "message": message}])


def convert_file(src: Path, src_format: str, dst: Path, request: ConvertRequest
                 ) -> ConversionResult:
    """Convert a dataset file of src_format as the request says, or explain why not."""
    if src_format == "csv":
        return csv_to_chat(src, dst, request)
    if src_format == "prompt_completion" and request.target == "chat":
        given = [name for name in ("user", "assistant", "value_maps", "on_empty")
                 if name in request.model_fields_set]
        if given:
            raise InvalidRequest(
                "A prompt_completion dataset converts to chat with at most a system template.",
                errors=[{"field": f"body.{name}", "message": "not used for prompt_completion"}
                        for name in given])
        return prompt_completion_to_chat(src, dst, request.system)
    raise InvalidRequest(
        f"A {src_format} dataset cannot be converted to {request.target}: convert a CSV to chat "
        "or prompt_completion, or a prompt_completion dataset to chat.",
        errors=[{"field": "body.target", "message": f"not available for {src_format}"}])


def csv_to_chat(src: Path, dst: Path, request: ConvertRequest) -> ConversionResult:
    """Fill the request's templates from each CSV row; write one example per line to dst."""
    templates = _templates(request)
    with open_csv(src) as table, write_atomically(dst) as out:
        for field, template in templates.items():
            check_fields(template, f"body.{field}", table.header)
        for column in request.value_maps:
            if column not in table.header:
                field = f"body.value_maps.{column}"
                raise _unknown_column("value_maps", field, repr(column), table.header)
        used = sorted({name for t in templates.values() for name in t.fields}
                      | set(request.value_maps), key=table.header.index)
        used_at = [(name, table.header.index(name)) for name in used]
        result = ConversionResult(converted=0)
        for row, fields in table.records():
            values = _values(row, fields, used_at, request)
            if isinstance(values, str):
                result.skip(row, values)
                continue
            example = _example(templates, values, request)
            if isinstance(example, str):
                result.skip(row, example)
                continue
            out.write(orjson.dumps(example) + b"\n")
            result.converted += 1
        _refuse_empty_output(result)
    return result


def prompt_completion_to_chat(src: Path, dst: Path, system_template: str | None = None, *,
                              separator: str | None = None, stop: str | None = None
                              ) -> ConversionResult:
    """Turn legacy examples into chat ones, without the separator, stop and leading space.

    Unless given, the separator is the longest ending all prompts share that is made of
    whitespace and `#-=>|*~` only; the stop is the same for completions, where `END` also counts.
    """
    system = _system_template(system_template)
    if separator is None or stop is None:
        common = _common_endings(src)
        separator = common[0] if separator is None else separator
        stop = common[1] if stop is None else stop
    result = ConversionResult(converted=0)
    with write_atomically(dst) as out:
        for line, pair in _read_pairs(src):
            if isinstance(pair, str):
                result.skip(line, pair)
                continue
            prompt = _without_ending(pair[0], separator).strip()
            completion = _without_ending(pair[1], stop).strip()
            if not prompt or not completion:
                result.skip(line, "empty prompt" if not prompt else "empty completion")
                continue
            messages = [{"role": "user", "content": prompt},
                        {"role": "assistant", "content": completion}]
            if system is not None:
                content = system.render({"prompt": prompt, "completion": completion})
                messages.insert(0, {"role": "system", "content": content})
            out.write(orjson.dumps({"messages": messages}) + b"\n")
            result.converted += 1
        _refuse_empty_output(result)
    return result


@contextmanager
def write_atomically(dst: Path, *, text: bool = False) -> Iterator[IO[Any]]:
    """Write dst through a temporary file in its folder; dst appears only if the body succeeds."""
    fd, temp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with (os.fdopen(fd, "w", encoding="utf-8", newline="") if text
              else os.fdopen(fd, "wb")) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, dst)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, line without its line break) for each non-blank line."""
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield number, line


def _templates(request: ConvertRequest) -> dict[str, Template]:
    if request.target == "prompt_completion":
        names: tuple[str, ...] = ("prompt", "completion")
    elif request.user is None or request.assistant is None:
        raise InvalidRequest(
            "Converting a CSV to chat needs user and assistant templates.",
            errors=[{"field": f"body.{name}", "message": "required to convert a CSV"}
                    for name in ("user", "assistant") if getattr(request, name) is None])
    else:
        names = ("system", "user", "assistant") if request.system is not None else (
            "user", "assistant")
    return {name: parse_template(getattr(request, name)) for name in names}


def _values(row: int, fields: list[str], used_at: list[tuple[str, int]],
            request: ConvertRequest) -> dict[str, str] | str:
    """The prepared value of each used column, or why the row is skipped."""
    values: dict[str, str] = {}
    empty, unmapped = [], []
    for name, i in used_at:
        value = fields[i].strip()
        mapping = request.value_maps.get(name)
        if mapping is not None and value in mapping:
            value = mapping[value]
        elif not value:
            empty.append(name)
        elif mapping is not None:
            shown = value if len(value) <= 40 else value[:39] + "…"
            unmapped.append(f"no value_maps entry for {name}={shown!r}")
        values[name] = value
    if empty and request.on_empty == "error":
        raise InvalidRequest(
            f"Row {row} has no value for {', '.join(empty)} and on_empty is 'error': fill it "
            "in or convert with on_empty 'skip'. Nothing was written.",
            errors=[{"field": "body.on_empty", "message": f"row {row}: {name} is empty"}
                    for name in empty])
    if empty:
        return f"empty {', '.join(empty)}"
    return "; ".join(unmapped) if unmapped else values


def _example(templates: dict[str, Template], values: dict[str, str],
             request: ConvertRequest) -> dict[str, Any] | str:
    text = {name: template.render(values) for name, template in templates.items()}
    if request.target == "prompt_completion":
        completion = text["completion"]
        if not completion.startswith(" "):
            completion = " " + completion
        return {"prompt": text["prompt"] + request.separator,
                "completion": completion + request.stop}
    for role in ("user", "assistant"):
        if not text[role].strip():
            return f"the {role} template gives an empty message"
    return {"messages": [{"role": role, "content": content} for role, content in text.items()]}


def _refuse_empty_output(result: ConversionResult) -> None:
    if result.converted == 0 and result.skipped_count == 0:
        raise InvalidRequest("The file has no rows to convert.",
                             errors=[{"field": "file", "message": "no rows"}])
    if result.converted == 0:
        first = "; ".join(f"row {s.row}: {s.reason}" for s in result.skipped[:3])
        raise InvalidRequest(
            f"No row could be converted ({result.skipped_count} skipped"
            f"{': ' + first if first else ''}).",
            errors=[{"field": "body", "message": "every row was skipped"}])


def _system_template(text: str | None) -> Template | None:
    if text is None:
        return None
    try:
        template = parse_template(text)
    except ValueError as exc:
        raise InvalidRequest(f"The system template is malformed: {exc}.",
                             errors=[{"field": "body.system", "message": str(exc)}]) from None
    check_fields(template, "body.system", ["prompt", "completion"])
    return template


def _read_pairs(src: Path) -> Iterator[tuple[int, tuple[str, str] | str]]:
    for line, raw in read_lines(src):
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield line, "invalid JSON"
            continue
        if not isinstance(obj, dict):
            yield line, "not a JSON object"
        elif not isinstance(obj.get("prompt"), str) or not isinstance(obj.get("completion"), str):
            yield line, "prompt and completion must both be strings"
        else:
            yield line, (obj["prompt"], obj["completion"])


def _common_endings(src: Path) -> tuple[str, str]:
    """The separator and stop sequence every prompt and every completion ends with."""
    separator: str | None = None
    stop: str | None = None
    for _, pair in _read_pairs(src):
        if not isinstance(pair, str):
            separator = _shared_ending(separator, pair[0], words=False)
            stop = _shared_ending(stop, pair[1], words=True)
    return separator or "", stop or ""


def common_ending(texts: Iterable[str], *, words: bool) -> str:
    """The longest ending all texts share made of whitespace and `#-=>|*~` (and `END` when
    words): the legacy separator (prompts) or stop sequence (completions)."""
    common: str | None = None
    for text in texts:
        common = _shared_ending(common, text, words=words)
    return common or ""


def _shared_ending(common: str | None, text: str, *, words: bool) -> str:
    tail = _marker_tail(text, words=words)
    return tail if common is None else _common_suffix(common, tail)


_MARKS = frozenset("#-=>|*~")


def _marker_tail(text: str, *, words: bool) -> str:
    """The longest ending of whitespace and marks (and whole-word END when words)."""
    i = len(text)
    while i > 0:
        if text[i - 1].isspace() or text[i - 1] in _MARKS:
            i -= 1
        elif words and text.endswith("END", 0, i) and (i == 3 or not _is_word(text[i - 4])):
            i -= 3
        else:
            break
    return text[i:]


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _common_suffix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return a[len(a) - n:]


def _without_ending(text: str, ending: str) -> str:
    return text[:-len(ending)] if ending and text.endswith(ending) else text
