"""A plugin written for a plugin API this NeuralFX does not offer."""

import neuralfx

NEURALFX_PLUGIN_API = "2.0"


@neuralfx.hookimpl
def register_effects(register):
    pass
