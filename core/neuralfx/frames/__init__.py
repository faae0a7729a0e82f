"""Frame I/O: sequences, still-image codecs, video, atomic writes and per-frame conversion."""
