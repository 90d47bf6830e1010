"""ftm: the walkthrough from a shell. Every command prints a readable summary, or with --json the
API's JSON document for scripts. Errors print the problem's code and detail and exit with 1."""

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from ftm import render
from ftm.client import DEFAULT_URL, ApiError, Client, read_key_file
from ftm.follow import follow_job, upload_with_progress
from service import __version__

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
datasets = typer.Typer(help="Upload, convert, report on and split datasets.",
                       no_args_is_help=True)
jobs = typer.Typer(help="Launch fine-tuning jobs and follow them.", no_args_is_help=True)
evals = typer.Typer(help="Compare models on held-out data.", no_args_is_help=True)
models = typer.Typer(help="Fine-tuned models.", no_args_is_help=True)
app.add_typer(datasets, name="datasets")
app.add_typer(jobs, name="jobs")
app.add_typer(evals, name="evals")
app.add_typer(models, name="models")

out = Console()
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON document")]


def key_from_data_dir() -> str | None:
    """The key `make run` left in its data directory (FTM_DATA_DIR, else ./data)."""
    return read_key_file(Path(os.environ.get("FTM_DATA_DIR") or "data"))


def print_version(value: bool) -> None:
    if value:
        out.print(__version__)
        raise typer.Exit()


@app.callback()
def connect(ctx: typer.Context,
            url: Annotated[str, typer.Option(envvar="FTM_URL", help="the API's address")]
            = DEFAULT_URL,
            api_key: Annotated[str | None, typer.Option(
                envvar="FTM_API_KEY", show_default=False,
                help="an API key (default: the one make run keeps in data/.default_key)")]
            = None,
            version: Annotated[bool, typer.Option(
                "--version", help="print the version", callback=print_version, is_eager=True)]
            = False) -> None:
    ctx.obj = Client(url.removesuffix("/v1"), api_key or key_from_data_dir())
    ctx.call_on_close(ctx.obj.close)


def emit(document: Any, as_json: bool, show: Callable[[Any], Any]) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        out.print(show(document))


def parse_json(text: str, option: str) -> Any:
    """JSON given inline or, as @FILE, in a file."""
    try:
        return orjson.loads(Path(text[1:]).read_bytes() if text.startswith("@") else text)
    except (OSError, orjson.JSONDecodeError) as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint=option) from None


# datasets
@datasets.command("upload")
def upload(ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
           name: Annotated[str | None, typer.Option(help="default: the file's name")] = None,
           format: Annotated[str, typer.Option(
               help="auto, chat, prompt_completion, preference or csv")] = "auto",
           wait: Annotated[bool, typer.Option(
               help="wait until it is validated; exit 1 if it is invalid")] = True,
           idempotency_key: str | None = None, json: Json = False) -> None:
    """Upload a CSV or JSONL file (streamed, with a progress bar on large files)."""
    client: Client = ctx.obj
    dataset = upload_with_progress(client, file, name, format, idempotency_key, show=not json)
    if wait:
        dataset = client.wait_dataset(dataset["id"])
    emit(dataset, json, render.dataset)
    if dataset["status"] == "invalid":
        raise typer.Exit(1)


@datasets.command("show")
def show_dataset(ctx: typer.Context, dataset_id: str, json: Json = False) -> None:
    """A dataset: status, rows, columns."""
    emit(ctx.obj.get_dataset(dataset_id), json, render.dataset)


@datasets.command("convert")
def convert(ctx: typer.Context, dataset_id: str,
            name: str | None = None,
            system: Annotated[str | None, typer.Option(help="template, e.g. 'Classify…'")] = None,
            user: Annotated[str | None, typer.Option(help="template, e.g. '{Question}'")] = None,
            assistant: Annotated[str | None, typer.Option(help="template, e.g. '{Final}'")]
            = None,
            value_map: Annotated[list[str] | None, typer.Option(
                help="COLUMN:VALUE=TEXT, repeatable, e.g. Final:1=No-Reflection")] = None,
            on_empty: Annotated[str | None, typer.Option(help="skip or error")] = None,
            body: Annotated[str | None, typer.Option(
                help="the whole request as JSON or @FILE; the options above override it")]
            = None,
            json: Json = False) -> None:
    """Turn a CSV's rows into chat examples (a new dataset)."""
    request = parse_json(body, "--body") if body else {}
    request.update({k: v for k, v in (("name", name), ("system", system), ("user", user),
                                      ("assistant", assistant), ("on_empty", on_empty)) if v})
    for item in value_map or []:
        column, _, rest = item.partition(":")
        value, sep, text = rest.partition("=")
        if not (column and sep):
            raise typer.BadParameter(f"{item!r} is not COLUMN:VALUE=TEXT", param_hint="--value-map")
        request.setdefault("value_maps", {}).setdefault(column, {})[value] = text
    emit(ctx.obj.convert_dataset(dataset_id, request), json, render.dataset)


@datasets.command("report")
def report(ctx: typer.Context, dataset_id: str,
           model: Annotated[str | None, typer.Option(help="the model to price for")] = None,
           json: Json = False) -> None:
    """What is wrong with a dataset, how it tokenizes and what it will cost."""
    emit(ctx.obj.report_dataset(dataset_id, model), json, render.report)


@datasets.command("split")
def split(ctx: typer.Context, dataset_id: str,
          train: float = 0.8, validation: float = 0.1, test: float = 0.1,
          strategy: Annotated[str, typer.Option(help="random or stratified")] = "random",
          seed: int = 0,
          label: Annotated[str | None, typer.Option(
              help="what stratified keeps in proportion, e.g. assistant")] = None,
          json: Json = False) -> None:
    """Split a dataset into train, validation and test parts."""
    fractions = {k: v for k, v in (("train", train), ("validation", validation), ("test", test))
                 if v > 0}
    body = {"strategy": strategy, "fractions": fractions, "seed": seed, "label": label}
    emit(ctx.obj.split_dataset(dataset_id, body), json, render.split)


# jobs
@jobs.command("create")
def create_job(ctx: typer.Context,
               model: Annotated[str, typer.Option(help="the base model")],
               training_dataset: Annotated[str, typer.Option("--training-dataset", "-t")],
               validation_dataset: Annotated[str | None, typer.Option("--validation-dataset",
                                                                       "-v")] = None,
               suffix: str | None = None, seed: int | None = None,
               n_epochs: Annotated[str | None, typer.Option(help="a number or auto")] = None,
               max_cost_usd: float | None = None,
               metadata: Annotated[list[str] | None, typer.Option(help="KEY=VALUE")] = None,
               dry_run: Annotated[bool, typer.Option(
                   help="price it and show the provider request; nothing is created")] = False,
               idempotency_key: Annotated[str | None, typer.Option(
                   help="a retry with the same key answers the same job")] = None,
               follow: Annotated[bool, typer.Option(help="then follow it to the end")] = False,
               json: Json = False) -> None:
    """Launch a fine-tuning job (exactly once with --idempotency-key)."""
    body: dict[str, Any] = {
        "model": model, "training_dataset": training_dataset,
        "validation_dataset": validation_dataset, "suffix": suffix, "seed": seed,
        "max_cost_usd": max_cost_usd, "dry_run": dry_run or None,
        "metadata": dict(item.split("=", 1) for item in metadata or [] if "=" in item) or None}
    if n_epochs is not None:
        body["hyperparameters"] = {"n_epochs": int(n_epochs) if n_epochs.isdigit() else n_epochs}
    answer = ctx.obj.create_job(body, idempotency_key)
    if dry_run:
        return emit(answer, json, render.dry_run)
    if not follow:
        return emit(answer, json, render.job)
    if not json:
        out.print(render.job(answer))
    follow_and_exit(ctx.obj, answer["id"], json)


@jobs.command("follow")
def follow(ctx: typer.Context, job_id: str, json: Json = False) -> None:
    """Follow a job to its end: status, step, losses, ETA. Exits 1 unless it succeeds."""
    follow_and_exit(ctx.obj, job_id, json)


def follow_and_exit(client: Client, job_id: str, as_json: bool) -> None:
    job = follow_job(client, job_id, show=not as_json)
    emit(job, as_json, render.job)
    if job["status"] != "succeeded":
        raise typer.Exit(1)


@jobs.command("show")
def show_job(ctx: typer.Context, job_id: str, json: Json = False) -> None:
    """A job: status, progress, fine-tuned model, cost."""
    emit(ctx.obj.get_job(job_id), json, render.job)


def control(action: str) -> Callable[..., None]:
    def command(ctx: typer.Context, job_id: str, json: Json = False) -> None:
        emit(ctx.obj.control_job(job_id, action), json, render.job)

    command.__doc__ = f"{action.capitalize()} a job."
    return command


for _action in ("cancel", "pause", "resume"):
    jobs.command(_action)(control(_action))


# evaluations
@evals.command("create")
def create_eval(ctx: typer.Context,
                dataset: Annotated[str, typer.Option(help="a chat dataset, e.g. the test split")],
                job: Annotated[str | None, typer.Option(
                    help="its fine-tuned model against its base model")] = None,
                model: Annotated[list[str] | None, typer.Option(
                    help="a model to evaluate (repeatable), instead of --job")] = None,
                max_tokens: int | None = None, max_examples: int | None = None,
                wait: Annotated[bool, typer.Option(help="wait for the results")] = True,
                json: Json = False) -> None:
    """Evaluate models on a dataset; with --wait (the default) show the results."""
    body = {"dataset": dataset, "job": job, "models": model or None, "max_tokens": max_tokens,
            "max_examples": max_examples}
    evaluation = ctx.obj.create_evaluation(body)
    if wait:
        evaluation = ctx.obj.wait_evaluation(evaluation["id"])
    emit(evaluation, json, render.evaluation)
    if wait and evaluation["status"] != "succeeded":
        raise typer.Exit(1)


@evals.command("show")
def show_eval(ctx: typer.Context, evaluation_id: str, json: Json = False) -> None:
    """Results per model, the comparison and each model's confusion matrix."""
    emit(ctx.obj.get_evaluation(evaluation_id), json, render.evaluation)


# models and chat
@models.command("delete")
def delete_model(ctx: typer.Context, model: str, json: Json = False) -> None:
    """Delete a fine-tuned model."""
    emit(ctx.obj.delete_model(model), json, lambda d: f"deleted {d.get('id', model)}")


@app.command("chat")
def chat(ctx: typer.Context, model: str,
         message: Annotated[str | None, typer.Argument(
             help="one message; without it, read lines from the terminal (or all of stdin)")]
         = None,
         system: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, json: Json = False) -> None:
    """Chat with a model, its answer streamed as it comes."""
    history: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    settings = {"model": model, "temperature": temperature, "max_tokens": max_tokens}
    settings = {k: v for k, v in settings.items() if v is not None}
    interactive = message is None and sys.stdin.isatty()
    while True:
        text = message if message is not None else (
            prompt_line() if interactive else sys.stdin.read())
        if text is None:
            return
        history.append({"role": "user", "content": text})
        body = {**settings, "messages": history}
        if json:
            answer = ctx.obj.chat(body)
            emit(answer, True, str)
            reply = answer["choices"][0]["message"]["content"] or ""
        else:
            reply = ""
            for piece in ctx.obj.chat_stream(body):
                reply += piece
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
        if not interactive:
            return
        history.append({"role": "assistant", "content": reply})


def prompt_line() -> str | None:
    try:
        line = input("> ")
    except EOFError:
        return None
    return line or prompt_line()


def fail(error: ApiError) -> NoReturn:
    status = f" ({error.status})" if error.status else ""
    sys.stderr.write(f"error{status}: {error.code}: {error.detail}\n")
    sys.exit(1)


def main() -> None:
    try:
        app()
    except ApiError as error:
        fail(error)


if __name__ == "__main__":
    main()
