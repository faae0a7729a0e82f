"""What a run adds to its outputs to say how they were made: the visible ``label``, the
invisible ``watermark`` (and its detector), C2PA Content ``credentials``, and ``marking``,
which applies them to each frame and writes the provenance record."""
