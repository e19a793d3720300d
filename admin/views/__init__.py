"""Page modules; importing one registers its routes on the admin blueprint."""

from __future__ import annotations


def register_views() -> None:
    """Import the error handlers and route modules (Python imports each module once)."""
    from .. import errors  # noqa: F401
    from . import (  # noqa: F401
        account_edit,
        accounts,
        audit,
        auth,
        authorize,
        compose,
        dashboard,
        failures,
        imports,
        inbox,
        items,
        library,
        matrices,
        password,
        progress,
        reach,
        safety,
        tasks,
        users,
    )
