"""A service for the tests, written as JupyterHub's documentation shows: tornado, with
``jupyterhub.services.auth.HubOAuthenticated`` for logging people in.

Run with a Python that has jupyterhub installed. It listens on
``$JUPYTERHUB_SERVICE_URL`` under ``$JUPYTERHUB_SERVICE_PREFIX`` (over HTTPS,
requiring client certificates, when given JUPYTERHUB_SSL_*) and answers:

- ``PREFIX``: the logged-in person's model, as the hub gave it (OAuth login first);
- ``PREFIX/env``: its JUPYTERHUB_* environment and pid (no login, for the tests);
- ``PREFIX/me``: what the hub's ``GET /user`` says about the service's own token;
- ``PREFIX/crash``: exits at once with status 3.
"""

import json
import os
import ssl
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import httpclient, ioloop, web


class WhoAmI(HubOAuthenticated, web.RequestHandler):
    @web.authenticated
    def get(self):
        self.write(self.get_current_user())


class Environment(web.RequestHandler):
    def get(self):
        env = {k: v for k, v in os.environ.items() if k.startswith(("JUPYTERHUB_", "JPY_"))}
        env.update(pid=str(os.getpid()), USER=os.environ.get("USER", ""),
                   HOME=os.environ.get("HOME", ""), cwd=os.getcwd())
        self.write(env)


class Me(web.RequestHandler):
    async def get(self):
        response = await httpclient.AsyncHTTPClient().fetch(
            url_path_join(os.environ["JUPYTERHUB_API_URL"], "user"),
            headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"})
        self.write(json.loads(response.body))


class Crash(web.RequestHandler):
    def get(self):
        os._exit(3)


def main():
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    app = web.Application([
        (prefix, WhoAmI),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        (url_path_join(prefix, "env"), Environment),
        (url_path_join(prefix, "me"), Me),
        (url_path_join(prefix, "crash"), Crash),
    ], cookie_secret=os.urandom(32))
    url = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(url.port, url.hostname, ssl_options=tls_context())
    ioloop.IOLoop.current().start()


def tls_context():
    """With internal TLS: HTTPS, and only clients the hub's authorities vouch for."""
    if not os.environ.get("JUPYTERHUB_SSL_KEYFILE"):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH,
                                         cafile=os.environ["JUPYTERHUB_SSL_CLIENT_CA"])
    context.load_cert_chain(os.environ["JUPYTERHUB_SSL_CERTFILE"],
                            os.environ["JUPYTERHUB_SSL_KEYFILE"])
    context.verify_mode = ssl.CERT_REQUIRED
    return context


if __name__ == "__main__":
    main()
