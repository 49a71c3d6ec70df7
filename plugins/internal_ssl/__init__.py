"""The `internal-ssl` plugin: mutual TLS between the hub, the proxy, servers and services.

Not built yet. It declares JupyterHub's internal_ssl options so that hub.ini
files written from a JupyterHub config are understood, and refuses them with
a clear message rather than silently running without encryption.
"""

from __future__ import annotations

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Table, Text, TextList

NOT_YET = "internal_ssl is not available in this version of kernelhub yet"


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "internal_ssl", Boolean(), False,
                "Encrypt and mutually authenticate every internal connection.",
                unavailable=NOT_YET)
    options.add("hub", "internal_certs_location", Text(), "internal-ssl",
                "Where the internal certificate authorities and certificates are kept.",
                unavailable=NOT_YET)
    options.add("hub", "generate_certs", Boolean(), False,
                "Create the internal certificates and exit.", unavailable=NOT_YET)
    options.add("hub", "recreate_internal_certs", Boolean(), False,
                "Replace every internal certificate at start-up.", unavailable=NOT_YET)
    options.add("hub", "trusted_alt_names", TextList(), [],
                "Extra names (DNS:host, IP:addr) in the hub's certificate.", unavailable=NOT_YET)
    options.add("hub", "external_ssl_authorities", Table(), {},
                "Certificate authorities managed outside the hub, for an external proxy.",
                unavailable=NOT_YET)
