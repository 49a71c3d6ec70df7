"""Run kernel-proxy: ``python -m plugins.kernel_proxy [configurable-http-proxy flags]``."""

from __future__ import annotations

from plugins.kernel_proxy.server import main

if __name__ == "__main__":
    main()
