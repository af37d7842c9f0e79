"""Errors that the CLI reports as one clean line (exit code 2), never as a traceback."""


class SclcError(Exception):
    """Base class of user-facing errors."""


class SpecError(SclcError):
    """A spec file or override is malformed."""


class UnknownComponentError(SpecError):
    """A spec names a component that no installed plugin registers."""
