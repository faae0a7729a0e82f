"""A test plugin: ``die-once`` inverts frames, and the first process to reach frame ``at``
kills itself (SIGKILL, as the OOM killer or a lost node would) before processing it. A marker
file beside ``marker`` makes the next process go on; with ``always``, every process dies."""

import os
import signal

import neuralfx
from neuralfx import params

NEURALFX_PLUGIN_API = "1.0"


class DieOnce(neuralfx.Effect):
    name = "die-once"
    summary = "invert; the first process to reach a frame dies"
    params = (
        params.Int("at", default=1, min=1, max=100000, help="frame to die on"),
        params.Text("marker", default="", help="a file created when dying"),
        params.Bool("always", default=False, help="die every time"),
    )

    def process(self, batch):
        marker = self.settings.marker
        if (
            self.settings.at in batch.frames
            and marker
            and (self.settings.always or not os.path.exists(marker))
        ):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return batch.replace(rgb=1.0 - batch.rgb)


@neuralfx.hookimpl
def register_effects(register):
    register(DieOnce)
