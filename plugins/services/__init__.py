"""The `services` plugin: managed and external services at /services/NAME/.

Not built yet. It declares JupyterHub's service options so that hub.ini
files written from a JupyterHub config are understood, and refuses them with
a clear message until services land.
"""

from __future__ import annotations

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Integer, Table, Text

NOT_YET = "services are not available in this version of kernelhub yet"


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "services", Text(), "",
                "Services, as one [service:NAME] section each.", unavailable=NOT_YET)
    for key, help_text in (("url", "Where the service answers; routed at /services/NAME/."),
                           ("command", "The command that runs a managed service."),
                           ("api_token", "The token an external service uses."),
                           ("user", "The Unix user a managed service runs as."),
                           ("cwd", "The working folder of a managed service.")):
        options.add("service:*", key, Text(), "", help_text, unavailable=NOT_YET)
    options.add("hub", "service_tokens", Table(), {},
                "API tokens for externally run services, `token = service` per line.",
                unavailable=NOT_YET)
    options.add("hub", "service_check_interval", Integer(minimum=1), 60,
                "Seconds between checks that services with a URL answer.", unavailable=NOT_YET)
