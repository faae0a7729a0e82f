"""A plugin that fails to import."""

import neuralfx_dependency_that_is_not_installed  # noqa: F401
