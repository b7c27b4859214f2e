"""The one error type the CLI turns into a one-line message (never a traceback)."""


class NexusError(Exception):
    """A failure the user can act on: the message says what is wrong and how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class InputError(NexusError):
    """Bad input from the caller (an unknown environment or run id, missing outputs, a corrupt journal): the
    CLI exits with 2, as for a bad flag."""


class Unreachable(NexusError):
    """A region (or the network to it) does not answer, as opposed to answering no: the DR runbooks go on
    without it where they can (an unplanned failover is for exactly the region that does not answer)."""
