"""A third party's stateful effect: ``echo`` leaves a decaying trail of earlier frames.

Each output is ``lerp(frame, previous output, decay)``: it depends on every earlier frame, so
a resumed run or a run over a sub-range is exact only if the host keeps the contract for
stateful effects. ``--snapshots off`` leaves ``state_dict`` unimplemented, so the host has to
replay the clip from its start.
"""

import time

import neuralfx
from neuralfx import params

NEURALFX_PLUGIN_API = "1.0"

ECHO = neuralfx.EffectSpec(
    name="echo",
    summary="a trail of earlier frames",
    params=(
        params.Float("decay", default=0.8, min=0.0, max=1.0, help="trail strength"),
        params.Bool("snapshots", default=True, help="let the host save the state"),
        params.Float("seconds", default=0.0, min=0.0, max=5.0, help="sleep per frame"),
    ),
    stateful=True,
    implementation="echo_plugin:Echo",
)


class Echo(neuralfx.Effect):
    spec = ECHO

    def load(self, ctx):
        self.previous = None

    def process(self, batch):
        out = []
        previous = self.previous
        for i in range(len(batch)):
            time.sleep(self.settings.seconds)
            frame = batch.rgb[i : i + 1]
            if previous is not None:
                frame = frame + self.settings.decay * (previous - frame)
            out.append(frame)
            previous = frame
        self.previous = previous
        import torch

        return batch.replace(rgb=torch.cat(out))

    def state_dict(self):
        if not self.settings.snapshots:
            return None
        return {} if self.previous is None else {"previous": self.previous}

    def load_state_dict(self, state):
        self.previous = state.get("previous")


@neuralfx.hookimpl
def register_effects(register):
    register(ECHO)
