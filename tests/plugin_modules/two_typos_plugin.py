"""Two misspelt hooks: both must be named."""

import neuralfx

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effect(register):
    pass


@neuralfx.hookimpl
def register_weight(register):
    pass
