"""Default plugins: built-in behaviour registered through the same hooks as third-party plugins.

As in datasette, each default hook is `@hookimpl(trylast=True)`, so a plugin implementing the
same hook runs first and its command of the same name replaces the default one.
"""

from __future__ import annotations

DEFAULT_PLUGINS = (
    "interplay.core.defaults.privacy",  # /forget, /optout, /optin
    "interplay.core.defaults.admin",  # /reload, /status
)
