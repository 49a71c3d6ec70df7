"""The kernel's repeated sections: [group:NAME], [role:NAME], [custom_scope:NAME], [service:NAME].

Each names one thing the hub keeps (a group, a role, a custom scope, a
service) and is declared once with ``*`` for the name; JupyterHub's list or
dict options for them (``c.JupyterHub.services``) are marked unavailable with
what to write instead.
"""

from __future__ import annotations

from kernel.config.options import OptionRegistry
from kernel.config.types import Boolean, JSONObject, Table, Text, TextList


def declare_collection_options(options: OptionRegistry) -> None:
    """Declare the kernel's repeated sections."""
    _declare_groups(options)
    _declare_roles(options)
    _declare_custom_scopes(options)
    _declare_services(options)


def _declare_groups(o: OptionRegistry) -> None:
    o.add("group:*", "users", TextList(), [],
          "Members of the group, added at start-up (existing members are kept).")
    o.add("group:*", "properties", JSONObject(), None,
          "The group's properties as a JSON object, e.g. `{\"building\": \"A\"}`, set at "
          "every start-up (as JupyterHub's load_groups does). Unset: kept as they are.")


def _declare_roles(o: OptionRegistry) -> None:
    o.add("role:*", "description", Text(), "", "What the role is for.")
    o.add("role:*", "scopes", TextList(), [],
          "The scopes the role grants, e.g. `list:users, read:users:activity, "
          "admin:servers!group=physics`.")
    o.add("role:*", "users", TextList(), [], "Users who hold the role.")
    o.add("role:*", "groups", TextList(), [], "Groups whose members hold the role.")
    o.add("role:*", "services", TextList(), [], "Services that hold the role.")


def _declare_custom_scopes(o: OptionRegistry) -> None:
    """JupyterHub's custom_scopes dict, one section per scope, named by the scope:
    ``[custom_scope:custom:grader:read]``."""
    o.add("hub", "custom_scopes", Text(), "", "Custom scopes, as one section each.",
          unavailable="write one [custom_scope:custom:NAME] section per scope, with "
          "description and subscopes")
    o.add("custom_scope:*", "description", Text(), "",
          "What the scope allows (required), shown when a service asks for it.")
    o.add("custom_scope:*", "subscopes", TextList(), [],
          "Other custom scopes that holding this one implies.")


def _declare_services(o: OptionRegistry) -> None:
    """What a service is to the hub: its URL, tokens, OAuth client and listing. Running
    managed services (command, cwd, environment, user, timeout) is the `services`
    plugin's, which declares those keys."""
    o.add("hub", "services", Text(), "", "Services, as one [service:NAME] section each.",
          unavailable="write one [service:NAME] section per service")
    o.add("hub", "service_tokens", Table(), {},
          "Further API tokens of services, `token = service name` per line.")
    o.add("service:*", "url", Text(), "",
          "Where the service answers (http://127.0.0.1:10101); the hub routes "
          "/services/NAME/ there and users can log in to it with OAuth.")
    o.add("service:*", "api_token", Text(), "",
          "The token the service uses (at least 8 characters; ${VAR} reads it from the "
          "environment). Managed services without one get a new one at each start.")
    o.add("service:*", "admin", Boolean(), False, "Give the service the admin role.",
          deprecated="list the service in a role instead: [role:NAME] services = NAME")
    o.add("service:*", "display", Boolean(), True, "List the service on the home page.")
    o.add("service:*", "info", Table(), {},
          "Anything to show with the service in the API, `key = value` per line "
          "([service:NAME.info]).")
    o.add("service:*", "oauth_client_id", Text(), "",
          "The service's OAuth client id; default service-NAME (must start with service-).")
    o.add("service:*", "oauth_redirect_uri", Text(), "",
          "Where the hub sends people back after they log in to the service; default "
          "/services/NAME/oauth_callback. Required for OAuth without a url.")
    o.add("service:*", "oauth_no_confirm", Boolean(), False,
          "Log people in to the service without asking them to confirm (for services "
          "that are part of the hub).")
    o.add("service:*", "oauth_client_allowed_scopes", TextList(), [],
          "Scopes the service may ask for on behalf of the people who log in to it.")
    o.add("service:*", "oauth_roles", TextList(), [],
          "Roles whose scopes the service may ask for on behalf of people.",
          deprecated="use oauth_client_allowed_scopes")
