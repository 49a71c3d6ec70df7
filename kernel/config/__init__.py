"""hub.ini: option declarations, strict parsing, and the typed config a hub runs on."""

from kernel.config.errors import ConfigError
from kernel.config.options import Option, OptionRegistry
from kernel.config.values import Config

__all__ = ["Config", "ConfigError", "Option", "OptionRegistry"]
