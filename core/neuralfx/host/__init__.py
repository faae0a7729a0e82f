"""The plugin host: ``plugins`` (discovery, loading, the hooks; ``plugin_checks`` what a plugin
must be), the ``catalog`` of architectures and official weights, ``weights`` (the cache,
reading and checking checkpoints), ``download`` and ``archives`` (fetching them)."""
