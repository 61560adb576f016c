"""A local server that speaks Vidu's API (docs/vidu-api.md), so the app and its tests run with no key and no internet.

Start it with ``python manage.py vidu_sandbox`` or, in tests, ``testing.running_sandbox()``.
What it does, its options and its prompt markers are described at the top of ``server.py``.
"""

from .config import Config
from .server import SandboxApp
from .wsgi_server import SandboxServer

__all__ = ["Config", "SandboxApp", "SandboxServer"]
