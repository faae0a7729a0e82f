"""A plugin that does slow work at import (as one that imports torch at module level does):
`neuralfx plugins` must say so, with the fix."""

import time

import neuralfx

NEURALFX_PLUGIN_API = "1.0"
time.sleep(0.5)


@neuralfx.hookimpl
def register_effects(register):
    pass
