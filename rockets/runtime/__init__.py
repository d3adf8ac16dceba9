"""The application (layer 3): plugin loading and the one hook façade, the worker pool, the
engine, the service, the log follower and the stream hub, the projections, the metrics, the
ingest summary and maintenance.

It speaks no HTTP: the service returns verdicts and raises domain errors (``rockets.errors``),
and ``rockets.http`` turns them into answers. It imports the vocabulary, the contract
(``rockets.hookspecs``, ``rockets.view``), ``rockets.core`` and ``rockets.stores``; never
``rockets.http``, the SDK or the composition root.
"""
