"""A platform module whose own import fails: the sandbox must report it, not hide it."""

import yunchu_dependency_that_is_not_installed  # noqa: F401
