"""The internal-ssl plugin's options: typed keys, declared by the plugin, read by it and by
``kernel generate-certs``.

JupyterHub keeps them on the hub, so most are in ``[hub]``; the per-server
alt names are in ``[spawner]``, and each external authority is one
``[external_ssl_authority:NAME]`` section.
"""

from __future__ import annotations

from kernel.config import Option
from kernel.config.types import Boolean, Table, Text, TextList

#: The ``[KIND:NAME]`` sections that hold ``external_ssl_authorities``.
AUTHORITY_SECTION = "external_ssl_authority"

INTERNAL_SSL = Option("hub", "internal_ssl", Boolean(), False,
                      "Encrypt and mutually authenticate every internal connection: the hub, "
                      "the proxy's API and its connections, servers and managed services.")
CERTS_LOCATION = Option("hub", "internal_certs_location", Text(), "internal-ssl",
                        "Where the internal certificate authorities and certificates are kept.")
GENERATE_CERTS = Option("hub", "generate_certs", Boolean(), False,
                        "Create (or renew) the internal certificates, then exit instead of "
                        "serving (as `kernel generate-certs`).")
RECREATE_CERTS = Option("hub", "recreate_internal_certs", Boolean(), False,
                        "Issue every internal certificate anew at start-up. The authorities "
                        "keep their keys, so servers started before keep working until they "
                        "restart; delete internal_certs_location to replace the authorities "
                        "too.")
TRUSTED_ALT_NAMES = Option("hub", "trusted_alt_names", TextList(), [],
                           "Extra names in the hub's and the proxy's certificates (DNS:host, "
                           "IP:addr), for a hub reached by another name.")
# Declared so that setting it explains what to write instead.
EXTERNAL_AUTHORITIES = Option("hub", "external_ssl_authorities", Table(), {},
                              "Certificate authorities managed outside the hub.",
                              unavailable=f"write one [{AUTHORITY_SECTION}:NAME] section per "
                                          "authority")

AUTHORITY_CERT = Option(f"{AUTHORITY_SECTION}:*", "cert", Text(), "",
                        "The authority's certificate (PEM), for NAME one of hub-ca, "
                        "notebooks-ca, proxy-api-ca, proxy-client-ca, services-ca (or another, "
                        "trusted by the hub).")
AUTHORITY_KEY = Option(f"{AUTHORITY_SECTION}:*", "key", Text(), "",
                       "Its private key, when the hub should sign with it; without it, the "
                       "authority is trusted but signs nothing.")
AUTHORITY_CA = Option(f"{AUTHORITY_SECTION}:*", "ca", Text(), "",
                      "The authority that signed it, if any.")

SERVER_ALT_NAMES = Option("spawner", "ssl_alt_names", TextList(), [],
                          "Extra names in each server's certificate (DNS:host, IP:addr), for "
                          "servers reached by another name than their address.")
SERVER_ALT_NAMES_INCLUDE_LOCAL = Option("spawner", "ssl_alt_names_include_local", Boolean(),
                                        True,
                                        "Also put localhost and 127.0.0.1 in each server's "
                                        "certificate.")

#: In the order they are declared (and listed by ``kernel generate-config``).
OPTIONS = (INTERNAL_SSL, CERTS_LOCATION, GENERATE_CERTS, RECREATE_CERTS, TRUSTED_ALT_NAMES,
           EXTERNAL_AUTHORITIES, AUTHORITY_CERT, AUTHORITY_KEY, AUTHORITY_CA, SERVER_ALT_NAMES,
           SERVER_ALT_NAMES_INCLUDE_LOCAL)
