"""`officescore serve`: a local Triton server (the one PyTriton bundles) serving a detector
through the Python backend, so several cameras or processes on one machine share one model.

PyTriton pins numpy < 2 (its stub reads numpy arrays with the 1.x layout) while OpenCV needs
numpy ≥ 2, so the server runs from its own virtual environment, made once by
`officescore serve --setup` (OFFICESCORE_TRITON_ENV, default: the user cache). The stub is
pointed at that environment's own libpython; a system libpython of another patch release
fails inside the stub.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edge.core.errors import OfficeScoreError
from edge.core.paths import user_cache_root
from edge.inference.modelcard import bundled_dir
from edge.inference.person import load_cards
from edge.scale.triton_repository import TritonRequest, write_repository

SERVER_PACKAGES = ("nvidia-pytriton==0.7.0", "numpy<2", "onnxruntime>=1.20")
READY_TIMEOUT_S = 60.0
SHM_FOLDER = Path("/dev/shm")
SHM_PREFIX = "officescore_triton_"  # + the pid of the officescore that started the server

_DESCRIBE = """
import json, pathlib, sys, sysconfig
import pytriton
root = pathlib.Path(pytriton.__file__).parent
print(json.dumps({
    "dist": str(root / "tritonserver"),
    "libs": str(root.parent / "nvidia_pytriton.libs"),
    "libdir": sysconfig.get_config_var("LIBDIR"),
    "version": f"{sys.version_info[0]}.{sys.version_info[1]}",
}))
"""


@dataclass(frozen=True)
class ServerEnvironment:
    folder: Path
    dist: Path  # pytriton's tritonserver folder: bin/, backends/, python_backend_stubs/
    libs: Path  # the shared libraries the tritonserver binary needs
    libdir: Path  # that environment's libpython
    version: str  # its Python, major.minor: picks the stub

    @property
    def stub(self) -> Path:
        return self.dist / "python_backend_stubs" / self.version / "triton_python_backend_stub"


def environment_folder(environ: Mapping[str, str] = os.environ) -> Path:
    chosen = environ.get("OFFICESCORE_TRITON_ENV")
    return Path(chosen) if chosen else user_cache_root(environ) / "triton-env"


def python_of(folder: Path) -> Path:
    return folder / "bin" / "python"


def set_up_environment(folder: Path, say: Callable[[str], None]) -> None:
    """Make the server's virtual environment (needs the package index once)."""
    say(f"making the Triton server environment in {folder} ({', '.join(SERVER_PACKAGES)})")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        pip = [str(python_of(folder)), "-m", "pip", "install", "-q", *SERVER_PACKAGES]
        subprocess.run(pip, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise OfficeScoreError(f"serve --setup failed: {error}") from None


def find_environment(folder: Path) -> ServerEnvironment:
    python = python_of(folder)
    if not python.is_file():
        raise OfficeScoreError(
            f"no Triton server environment in {folder}: run `officescore serve --setup` once"
        )
    described = subprocess.run(
        [str(python), "-c", _DESCRIBE], capture_output=True, text=True, check=False
    )
    if described.returncode != 0:
        raise OfficeScoreError(
            f"{folder} has no working nvidia-pytriton: run `officescore serve --setup` again"
        )
    found = json.loads(described.stdout)
    environment = ServerEnvironment(
        folder, Path(found["dist"]), Path(found["libs"]), Path(found["libdir"]), found["version"]
    )
    if not environment.stub.is_file():
        raise OfficeScoreError(f"PyTriton has no Python-backend stub for Python {found['version']}")
    return environment


@dataclass(frozen=True, kw_only=True)
class ServeRequest:
    model: Path
    http_port: int = 8000
    grpc_port: int = 8001
    host: str = "127.0.0.1"
    max_batch: int = 8
    instances: int = 1
    threads: int = 0


def _backends(environment: ServerEnvironment, workspace: Path) -> Path:
    """Triton's Python backend with the stub for the environment's Python beside it."""
    backends = workspace / "backends"
    python = backends / "python"
    python.mkdir(parents=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        (python / name).symlink_to(environment.dist / "backends" / "python" / name)
    (python / "triton_python_backend_stub").symlink_to(environment.stub)
    return backends


def server_command(
    environment: ServerEnvironment, request: ServeRequest, workspace: Path, shm_prefix: str
) -> list[str]:
    return [
        str(environment.dist / "bin" / "tritonserver"),
        f"--model-repository={workspace / 'models'}",
        f"--backend-directory={_backends(environment, workspace)}",
        f"--http-address={request.host}",
        f"--http-port={request.http_port}",
        f"--grpc-address={request.host}",
        f"--grpc-port={request.grpc_port}",
        "--allow-metrics=false",
        "--exit-timeout-secs=3",  # it would serve a busy client up to 30 s after Ctrl-C
        "--log-verbose=0",
        # its Python backend's shared memory under a name of ours, removed when it stops
        f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
    ]


def shm_prefix(pid: int) -> str:
    """The shared-memory name prefix of a server that process `pid` runs."""
    return f"{SHM_PREFIX}{pid}_{secrets.token_hex(4)}_"


def remove_shared_memory(prefix: str, folder: Path = SHM_FOLDER) -> None:
    """Triton's Python backend leaves its shared-memory regions behind when its stubs are
    killed: remove those named `prefix`; and any a killed officescore left (its pid is gone)."""
    for region in folder.glob(f"{SHM_PREFIX}*"):
        owner = region.name[len(SHM_PREFIX) :].split("_")[0]
        if region.name.startswith(prefix) or (owner.isdigit() and not _alive(int(owner))):
            with contextlib.suppress(OSError):
                region.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def server_environ(environment: ServerEnvironment) -> dict[str, str]:
    environ = dict(os.environ)
    libraries = [str(environment.libs), str(environment.libdir)]
    if environ.get("LD_LIBRARY_PATH"):
        libraries.append(environ["LD_LIBRARY_PATH"])
    environ["LD_LIBRARY_PATH"] = os.pathsep.join(libraries)
    # the stub's embedded Python finds its prefix (and so the venv's numpy) from PATH
    environ["PATH"] = os.pathsep.join([str(environment.folder / "bin"), environ.get("PATH", "")])
    return environ


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if officescore itself is killed (no orphaned server)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_until_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OfficeScoreError(f"the Triton server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise OfficeScoreError(f"the Triton server was not ready within {timeout_s:.0f} s")


@contextmanager
def running_server(
    environment: ServerEnvironment, request: ServeRequest, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start Triton on a repository made for `request.model` and the video-call check's person
    models; stop it (and wait) on exit."""
    with tempfile.TemporaryDirectory(prefix="officescore-serve-") as folder:
        workspace = Path(folder)
        person_models = [bundled_dir() / card["file"] for card in load_cards().values()]
        for model in [request.model, *person_models]:
            write_repository(
                TritonRequest(
                    model=model,
                    repo=workspace / "models",
                    name=model.stem,
                    max_batch=request.max_batch,
                    instances=request.instances,
                    threads=request.threads,
                    python_backend=True,
                    with_card=model == request.model,
                )
            )
        log_path = log or workspace / "tritonserver.log"
        prefix = shm_prefix(os.getpid())
        remove_shared_memory(prefix)  # and what killed runs left
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                server_command(environment, request, workspace, prefix),
                env=server_environ(environment),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                start_new_session=True,  # its stubs join its process group: killed as a whole
            )
            try:
                wait_until_ready(
                    process, f"http://{request.host}:{request.http_port}", READY_TIMEOUT_S
                )
                yield process
            except OfficeScoreError as error:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise OfficeScoreError(f"{error}: {' '.join(tail)[:200]}") from None
            finally:
                stop(process)
                remove_shared_memory(prefix)


def watch(process: subprocess.Popen[bytes], interval_s: float = 0.5) -> None:
    """Return only if interrupted; a server that dies under us is an error."""
    while True:
        try:
            code = process.wait(timeout=interval_s)
        except subprocess.TimeoutExpired:
            continue
        raise OfficeScoreError(f"the Triton server died (exit status {code}); stopped serving")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Triton, then kill what is left of its process group: the Python-backend stubs
    ignore SIGTERM and outlive a server that was killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Triton unloads its models and stops its stubs
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
