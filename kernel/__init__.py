"""kernelhub's microkernel: hook specs, plugin manager, config, data and orchestration.

Plugin authors import from ``kernel.api``, the plugin API, and nothing else of
the kernel; ``hookimpl`` is defined here and exported there.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: The JupyterHub release whose contracts kernelhub serves; clients (jupyterhub-singleuser,
#: the idle culler) read it from the API and the X-JupyterHub-Version header.
JUPYTERHUB_VERSION = "6.1.1"

#: The pluggy project name; also the entry-point group plugins register under.
PROJECT_NAME = "kernelhub"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
