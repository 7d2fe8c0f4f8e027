"""The one exception type for problems a user can cause (bad files, bad options)."""


class OfficeScoreError(Exception):
    """A user-facing error; its message is one readable line naming what was wrong."""
