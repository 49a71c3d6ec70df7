"""The marker of kernelhub's hook specifications (``@hookspec``)."""

import pluggy

from kernel import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
