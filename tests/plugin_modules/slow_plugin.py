"""A test plugin: ``slow-invert`` inverts frames and sleeps, so a run can be interrupted."""

import time

import neuralfx
from neuralfx import params

NEURALFX_PLUGIN_API = "1.0"


class SlowInvert(neuralfx.Effect):
    name = "slow-invert"
    summary = "invert, slowly"
    params = (params.Float("seconds", default=0.2, min=0.0, max=5.0, help="sleep per batch"),)

    def process(self, batch):
        time.sleep(self.settings.seconds)
        return batch.replace(rgb=1.0 - batch.rgb)


@neuralfx.hookimpl
def register_effects(register):
    register(SlowInvert)
