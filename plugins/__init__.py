"""kernelhub's built-in plugins, each an ordinary plugin found through its entry point."""
