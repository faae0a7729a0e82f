"""A plugin with a misspelt hook name: it must be refused, loudly."""

import neuralfx

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effect(register):  # the hook is register_effects
    pass
