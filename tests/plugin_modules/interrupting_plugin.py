"""A test plugin that raises ``KeyboardInterrupt`` itself while it is imported (no signal):
the command must report it as a plugin that failed to load and go on."""

raise KeyboardInterrupt("raised by the plugin, not by Ctrl-C")
