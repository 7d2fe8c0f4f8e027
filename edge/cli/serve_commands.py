"""`officescore serve`: share one model between cameras and processes through a local Triton
server; clients use `--engine triton --server HOST:PORT`."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from edge.cli.cli_common import ModelOption, flag, say, user_errors
from edge.inference.modelcard import bundled_model_path
from edge.inference.zoo import resolve_model


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def serve(
    model: ModelOption = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8000,
    grpc_port: Annotated[int, typer.Option(min=1, max=65535, help="gRPC port.")] = 8001,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every one).")] = (
        "127.0.0.1"
    ),
    instances: Annotated[int, typer.Option(min=1, help="Model instances.")] = 1,
    max_batch: Annotated[int, typer.Option(min=0, help="Largest batch Triton forms.")] = 8,
    threads: Annotated[
        int, typer.Option(min=0, help="ONNX Runtime threads per instance (0: its default).")
    ] = 0,
    triton_env: Annotated[
        Path | None,
        typer.Option(help="The server's environment (default: OFFICESCORE_TRITON_ENV or cache)."),
    ] = None,
    setup: Annotated[
        bool, flag(help="Make the server's environment (PyTriton, numpy<2), then exit.")
    ] = False,
    log: Annotated[Path | None, typer.Option(help="Write Triton's own log here.")] = None,
) -> None:
    """Serve a detector and the check's person models on a local Triton server.

    It runs until Ctrl-C or SIGTERM."""
    from edge.scale.triton_server import (
        ServeRequest,
        environment_folder,
        find_environment,
        running_server,
        set_up_environment,
        watch,
    )

    folder = triton_env or environment_folder()
    with user_errors():
        if setup:
            set_up_environment(folder, say)
            find_environment(folder)
            say(f"ready: officescore serve --triton-env {folder.resolve()}")
            return
        environment = find_environment(folder)
        path = resolve_model(model, say) or bundled_model_path()
        request = ServeRequest(
            model=path,
            http_port=port,
            grpc_port=grpc_port,
            host=host,
            max_batch=max_batch,
            instances=instances,
            threads=threads,
        )
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        with running_server(environment, request, log) as process:
            say(
                f"serving {path.stem} and the video-call check's person models on "
                f"http://{host}:{port} and grpc://{host}:{grpc_port}; "
                f"clients: --engine triton --server {host}:{port} (Ctrl-C stops)"
            )
            try:
                watch(process)
            except KeyboardInterrupt:
                say("stopping the Triton server")
