"""Helpers several plugins share; not itself a plugin (it has no entry point).

``chp_client`` drives configurable-http-proxy's REST API, ``proxy_process``
supervises a proxy process the hub runs (both proxy plugins build on them),
and ``process`` runs the child processes of local spawners and managed
services.
"""
