"""The edges (layer 4): the front door of ``POST /messages`` and the edge rules, the answers
(verdict → status, body, ``Retry-After``), the routes and their query rules, the stream gate,
the OpenAPI document and the API docs pages, introspection, logs, what ``rockets serve`` runs
of uvicorn, and the dashboard.

It may import every layer below it (``rockets.runtime``, ``rockets.stores``, ``rockets.core``,
the contract and the vocabulary); only the composition root (``rockets.app``) and the commands
(``rockets.cli``, ``rockets.launch``) stand above it.
"""
