"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, redirect, request, url_for

from .errors import register_error_handlers
from .infra.config import Settings, load_settings
from .infra.proxies import behind_proxies
from .infra.runtime import Runtime
from .services.cookies import SessionInterface
from .web import request_limits


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime(settings)
    app = Flask("hub", static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = SessionInterface()
    if settings.proxy_hops:
        app.wsgi_app = behind_proxies(app.wsgi_app,  # type: ignore[method-assign]
                                      settings.proxy_hops)
    app.extensions["yunchu"] = runtime
    register_error_handlers(app)
    request_limits.install(app, settings)

    from .web.api import api
    from .web.callbacks import callbacks
    from .web.feeds import feeds
    from .web.oauth_pages import install_log_redaction, oauth_pages
    from .web.public import public
    from .web.wechat_component import wechat_component

    app.register_blueprint(api)
    app.register_blueprint(public)
    app.register_blueprint(feeds)
    app.register_blueprint(callbacks)
    app.register_blueprint(wechat_component)
    app.register_blueprint(oauth_pages)
    install_log_redaction()
    try:
        from admin import admin_blueprint
    except ImportError:  # the admin UI is optional in slim deployments
        admin_blueprint = None
    if admin_blueprint is not None:
        app.register_blueprint(admin_blueprint)

        @app.get("/")
        def _front_door() -> Any:
            # `yunchu up` prints the site's address: a newcomer who opens it lands on the
            # sign-in page, not on a 404.
            return redirect(url_for("admin.dashboard"), code=302)

    @app.before_request
    def _remember_source() -> None:
        g.source_ip = request.remote_addr

    logging.getLogger("yunchu").setLevel(logging.INFO)
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["yunchu"]
