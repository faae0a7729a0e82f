"""The run: how ``neuralfx run`` turns an input into outputs.

``runner`` (``neuralfx.run``) makes a ``plan`` (what to read, write and skip; the resume
rules, the ``record`` journal and the ``history`` of stateful effects; the ``output_lock``),
then an executor (``executors``: ``local``, or ``ray`` across a cluster) schedules the frame
``stage`` (decode, batch, the effect, the marks) and ``encode`` writes; ``streams`` keeps
threaded work in order; ``progress`` reports it. Internal: plugins use the contract
(``neuralfx``) instead.
"""
