"""The `opendream` command: run the service, manage keys and models, and (from
`opendream.client.cli`) talk to a running server."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from opendream.config import Settings, load_settings

app = typer.Typer(
    help="opendream: a self-hosted Seedream 4.0 compatible image service.", no_args_is_help=True
)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
models_app = typer.Typer(help="Model directories.", no_args_is_help=True)
db_app = typer.Typer(help="The request database.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="State directory [env OPENDREAM_DATA_DIR].")
]
Config = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file [env OPENDREAM_CONFIG].")
]


def _settings(config: Path | None, **flags: object) -> Settings:
    if config is not None:
        import os

        os.environ["OPENDREAM_CONFIG"] = str(config)
    return load_settings(**flags)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address.")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="Port.")] = None,  # noqa: UP045
    data_dir: DataDir = None,
    model_dir: Annotated[Path | None, typer.Option(help="Local diffusers model directory.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="flux2-klein | flux2-dev | qwen-image.")
    ] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:N.")] = None,  # noqa: UP045
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only (fleet deployments).")
    ] = False,
    config: Config = None,
) -> None:
    """Start the API and (unless --no-worker) an in-process worker."""
    from opendream.service import configure_logging
    from opendream.service import serve as run

    settings = _settings(
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        model_dir=model_dir,
        backend=backend,
        device=device,
    )
    configure_logging()
    _run_service(run(settings, with_worker=settings.worker and not no_worker))


@app.command()
def worker(
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:N.")] = None,  # noqa: UP045
    data_dir: DataDir = None,
    model_dir: Annotated[Path | None, typer.Option(help="Local diffusers model directory.")] = None,
    config: Config = None,
) -> None:
    """Run a worker only (one per GPU)."""
    from opendream.service import configure_logging, run_worker

    settings = _settings(config, device=device, data_dir=data_dir, model_dir=model_dir)
    configure_logging()
    _run_service(run_worker(settings))


def run_on_fastest_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (it comes with uvicorn[standard]; uvicorn itself picks it the
    same way): its sockets and wake-ups cost a fraction of asyncio's on the status-poll path."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _run_service(main: Coroutine[Any, Any, None]) -> None:
    """Configuration mistakes end with one clear line, not a traceback."""
    from opendream.engine import EngineLoadError

    try:
        run_on_fastest_loop(main)
    except EngineLoadError as exc:
        typer.echo(f"opendream: cannot load the model: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


async def _with_store(settings: Settings, fn):  # type: ignore[no-untyped-def]
    from opendream.jobs.store import SqlRequestStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqlRequestStore(settings.resolved_database_url)
    await store.start()
    try:
        return await fn(store)
    finally:
        await store.close()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A label for the key.")],
    data_dir: DataDir = None,
    config: Config = None,
) -> None:
    """Create a key. The token is shown once, as the last line."""
    from opendream.api.auth import hash_token, new_token

    token = new_token()
    key = asyncio.run(
        _with_store(
            _settings(config, data_dir=data_dir), lambda s: s.create_key(name, hash_token(token))
        )
    )
    typer.echo(f"created key {key.id} ({name}); the token is shown only now:")
    typer.echo(token)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, config: Config = None) -> None:
    """List keys (never their tokens)."""
    keys = asyncio.run(_with_store(_settings(config, data_dir=data_dir), lambda s: s.list_keys()))
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        typer.echo(f"{k.id}\t{k.name}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id or name.")],
    data_dir: DataDir = None,
    config: Config = None,
) -> None:
    """Revoke a key: its token stops working at once."""
    ok = asyncio.run(_with_store(_settings(config, data_dir=data_dir), lambda s: s.revoke_key(key)))
    if not ok:
        typer.echo(f"no active key {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key}")


@models_app.command("make-tiny")
def models_make_tiny(
    directory: Annotated[Path, typer.Argument(help="Where to write the pipeline.")],
    family: Annotated[
        str, typer.Option(help="flux2-klein | flux2-klein-kv | flux2-dev | qwen-image")
    ] = "flux2-klein",
) -> None:
    """Build a tiny randomly initialised pipeline of the real classes, offline."""
    from opendream.engine.tiny import make_tiny

    path = make_tiny(directory, family=family)
    typer.echo(f"wrote a tiny {family} pipeline to {path}")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, config: Config = None) -> None:
    """Create or migrate the request tables."""
    from opendream.jobs.migrate import upgrade

    settings = _settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url))
    typer.echo("database is up to date")


def _register_client_commands() -> None:
    try:
        from opendream.client.cli import register
    except ImportError:
        return
    register(app)


_register_client_commands()


def main() -> None:
    app()
