"""The one exception type for problems a user can cause (bad files, bad options), and the one
table of install hints its messages give for missing optional packages."""


class OfficeScoreError(Exception):
    """A user-facing error; its message is one readable line naming what was wrong."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libraries' messages run to many lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# Optional package (its import name) -> the extra that installs it.
EXTRA_OF: dict[str, str] = {
    "torch": "export",
    "torchvision": "export",
    "onnxslim": "export",
    "pycocotools": "eval",
    "matplotlib": "bench",
    "streamlit": "web",
    "openvino": "openvino",
    "ray": "ray",
    "tritonclient": "triton",
    "onnx2torch": "train",
    "yaml": "train",
    "PIL": "train",
}


def install_hint(module: str) -> str:
    """The pip command that installs an optional package, for an error message."""
    extra = EXTRA_OF.get(module.split(".")[0])
    return f"pip install {module.split('.')[0]}" if extra is None else extra_hint(extra)


def extra_hint(extra: str) -> str:
    """The pip command that installs one of officescore's extras."""
    return f"pip install 'officescore[{extra}]'"
