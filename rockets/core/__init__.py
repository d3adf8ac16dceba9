"""The pure core (layer 1): the registry of message types, the state schema, the naming rule,
the codec, the sequencer, the aggregate and the rocket index.

No I/O, no pluggy, no framework: it imports the vocabulary (the top-level modules ``records``,
``state``, ``wire``, ``errors``, ``settings``, ``scenario``, ``words``) and its own modules, and
nothing of ``rockets.stores``, ``rockets.runtime`` or ``rockets.http``.
"""
