"""Errors that carry a message meant for the user (plain Simplified Chinese).

Everything the CLI or the app shows to a person is a ``UserError``; any other
exception is a bug and is logged, never shown as a stack trace.
"""


class UserError(Exception):
    """A problem the user can understand and act on. ``str(err)`` is Chinese."""


class UnsupportedFile(UserError):
    pass


class BadDocument(UserError):
    """The file could not be read (corrupt, encrypted, empty, no text...)."""


class EmbedderMismatch(UserError):
    pass


class ModelUnavailable(UserError):
    """The LLM (or its weights) cannot be used right now."""


class PermissionDenied(UserError):
    pass
