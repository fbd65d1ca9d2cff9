"""`opendream generate | status | result | cancel`: the SDK from a shell. `register(app)` adds the
commands to the top-level `opendream` app; `client_app` holds them on their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from opendream.client.display import ProgressView
from opendream.client.errors import (
    AuthenticationError,
    OpendreamError,
    RequestTimeout,
    TransportError,
    ValidationError,
)
from opendream.client.generate import GenerateArgs, GenerateArgumentError, build_input, choose_model
from opendream.client.protocol import DEFAULT_BASE_URL, ENV_TOKEN, ENV_URL
from opendream.client.sync import Client
from opendream.client.types import RequestResult, RequestStatus

# Typer reads these annotations at run time, so they stay in the Optional spelling it documents.
Url = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--url", envvar=ENV_URL, help=f"Server base URL (default {DEFAULT_BASE_URL})."),
]
Token = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--token", envvar=ENV_TOKEN, help="API token.", show_default=False),
]
RequestId = Annotated[str, typer.Argument(help="The request id that generate or submit printed.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]

err = Console(stderr=True)


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    """Errors become one readable message and exit status 1 (2 for bad arguments), never a
    traceback."""
    try:
        yield
    except GenerateArgumentError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except RequestTimeout as exc:
        err.print(f"[red]timeout:[/red] {exc.error_message}")
        raise typer.Exit(1) from None
    except ValidationError as exc:
        err.print(f"[red]invalid input:[/red] {exc.error_message}")
        for problem in exc.problems:
            loc = ".".join(str(part) for part in problem.get("loc", []) if part != "body")
            err.print(f"  {loc or 'input'}: {problem.get('msg', '')}")
        raise typer.Exit(1) from None
    except OpendreamError as exc:
        hint = f"  (request {exc.request_id})" if exc.request_id else ""
        err.print(f"[red]error:[/red] {exc}{hint}")
        raise typer.Exit(1) from None


def _client(url: str | None, token: str | None) -> Client:
    return Client(url, token)


def _is_remote(value: str) -> bool:
    return value.startswith(("http://", "https://", "data:"))


def _image_uris(client: Client, images: list[str]) -> list[str]:
    """URLs and data URIs go as they are; local files are uploaded first."""
    uris: list[str] = []
    for value in images:
        if _is_remote(value):
            uris.append(value)
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise GenerateArgumentError(f"--image {value!r} is neither a URL nor a readable file")
        err.print(f"uploading {path} …")
        uris.append(client.upload(path))
    return uris


def _schema_properties(client: Client, model: str) -> dict[str, Any] | None:
    """The model's published input properties, or None where the server has no schema endpoint
    (RunComfy itself), in which case the built-in copy is used."""
    try:
        return client.schema(model).input.get("properties") or None
    except (AuthenticationError, TransportError):
        raise
    except OpendreamError:
        return None


def _describe(status: RequestStatus) -> str:
    if status.status == "in_queue" and status.queue_position is not None:
        return f"in_queue (position {status.queue_position})"
    p = status.progress
    if status.status == "in_progress" and p is not None and p.images:
        return f"in_progress (image {p.image}/{p.images}, step {p.step}/{p.steps})"
    return status.status


def generate(
    prompt: Annotated[
        str, typer.Argument(help='What to make, e.g. "Generate 3 images of a red fox".')
    ],
    image: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--image", "-i", help="Reference image: a local path (uploaded) or a URL. Repeatable."
        ),
    ] = None,
    max_images: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--max-images", "-n", help="Most images to make (1..15); the prompt says how many."
        ),
    ] = None,
    size: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--size", help="Aspect ratio (16:9) or pixels (2560x1440) from the model's sizes."
        ),
    ] = None,
    resolution: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--resolution", help="1K, 2K or 4K (--edit; aspect ratio of the first image)."
        ),
    ] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Same seed, same images.")] = None,  # noqa: UP045
    optimize: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--optimize", help="Prompt optimisation: fast or standard."),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="One edited image instead of a series.")
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to save the images.")
    ] = Path("."),
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--timeout", help="Give up after this many seconds (and cancel if still queued)."
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Make images and save them; prints each file's path."""
    with _errors_to_exit(), _client(url, token) as client:
        images = list(image or [])
        model = choose_model(bool(images), edit)
        args = GenerateArgs(
            prompt=prompt,
            images=tuple(_image_uris(client, images)),
            max_images=max_images,
            size=size,
            resolution=resolution,
            seed=seed,
            optimize=optimize,
            edit=edit,
        )
        model, body = build_input(args, _schema_properties(client, model))
        submitted = client.submit(model, body)
        request_id = submitted.request_id
        err.print(f"request [bold]{request_id}[/bold] ({model})")
        try:
            with ProgressView(err) as view:
                result = client.wait(
                    request_id, timeout=timeout, on_update=view.update, cancel_on_timeout=True
                )
                view.finish(result.status)
        except KeyboardInterrupt:
            err.print(
                f"\ninterrupted; the request goes on. Cancel it with: opendream cancel {request_id}"
            )
            raise typer.Exit(130) from None
        for path in client.download(result, output):
            typer.echo(str(path))


def status(
    request_id: RequestId, as_json: AsJson = False, url: Url = None, token: Token = None
) -> None:
    """Show a request's status (queue position or progress)."""
    with _errors_to_exit(), _client(url, token) as client:
        current = client.status(request_id)
        typer.echo(json.dumps(current.raw, indent=2) if as_json else _describe(current))


def result(
    request_id: RequestId,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Also download the images into this directory."),
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show a request's result: its output URLs, or its error."""
    with _errors_to_exit(), _client(url, token) as client:
        res = client.result(request_id)
        if as_json:
            typer.echo(json.dumps(res.raw, indent=2))
        else:
            _print_result(res)
        if output is not None and res.status == "succeeded":
            for path in client.download(res, output):
                typer.echo(str(path))
        if res.status == "failed":
            raise typer.Exit(1)


def _print_result(res: RequestResult) -> None:
    typer.echo(res.status)
    if res.error:
        typer.echo(f"error: {res.error}")
    for link in res.urls:
        typer.echo(link)
    if res.seed is not None:
        err.print(f"seed {res.seed}")


def cancel(request_id: RequestId, url: Url = None, token: Token = None) -> None:
    """Cancel a request that is still queued."""
    with _errors_to_exit(), _client(url, token) as client:
        answer = client.cancel(request_id)
        if answer.cancelled:
            typer.echo("cancelled")
        else:
            typer.echo(f"not cancelled: {answer.outcome or 'unknown'} (status {answer.status})")
            raise typer.Exit(1)


_COMMANDS = {"generate": generate, "status": status, "result": result, "cancel": cancel}


def register(app: typer.Typer) -> None:
    """Adds generate, status, result and cancel to the top-level `opendream` app."""
    for name, fn in _COMMANDS.items():
        app.command(name)(fn)


client_app = typer.Typer(help="Talk to an opendream (or RunComfy) server.", no_args_is_help=True)
register(client_app)
