"""The one exception type for problems a user can cause (bad files, bad options)."""


class OfficeScoreError(Exception):
    """A user-facing error; its message is one readable line naming what was wrong."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libraries' messages run to many lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
