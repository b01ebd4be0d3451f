"""The project layer's error type, apart so every module of the layer can raise it without cycles."""


class ProjectError(RuntimeError):
    """A project that cannot be opened or changed as asked; the message says which and why."""
