"""Errors a user can act on.

Every error the engine raises for bad input derives from :class:`WinnowError`, so the CLI
(and later the web app) can show its message as one line and exit non-zero, while a genuine
bug still surfaces with its traceback.
"""


class WinnowError(Exception):
    """Base class of every error caused by the user's input or environment."""


class ConfigError(WinnowError):
    """A config key is unknown, has the wrong type, or an invalid value.

    The message always starts with the dotted key, e.g.
    ``stoping_condition.n_samples: unknown key — did you mean stopping_condition.n_samples?``
    """

    def __init__(self, key: str, message: str):
        self.key = key
        self.reason = message
        super().__init__(f"{key}: {message}" if key else message)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # pickled across processes (a Ray task's error)
        return type(self), (self.key, self.reason)


class InputError(WinnowError):
    """A file or path of the user's is missing, unreadable, unsafe or malformed.

    ``location`` names the file (and line, where one applies).
    """

    def __init__(self, location: str, message: str):
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # pickled across processes (a Ray task's error)
        return type(self), (self.location, self.reason)


class MissingFile(InputError, FileNotFoundError):
    """A file the source listed, or a user named, is not there (moved or deleted since).

    Also a ``FileNotFoundError``, so code asking "is it there?" keeps working, while a run that
    meets one fails with a message naming the file instead of an internal error.
    """


class UnsafePathError(InputError):
    """A path would leave its root (``..``, absolute path, or an escaping symlink)."""


class Canceled(WinnowError):
    """The run was stopped on request (the web app's cancel button); nothing was selected."""

    def __init__(self, message: str = "canceled by the user"):
        super().__init__(message)
