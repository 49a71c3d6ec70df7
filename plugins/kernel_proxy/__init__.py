"""kernel-proxy: kernelhub's own proxy, a drop-in for configurable-http-proxy.

The proxy process is ``server.py`` (``python -m plugins.kernel_proxy``, or
``kernel proxy``); ``plugin.py`` is the hub's plugin that starts and drives
it. This file imports nothing, so the proxy process does not load the hub.
"""
