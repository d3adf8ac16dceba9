"""Test helpers for code built on rockets, such as out-of-tree store backends.

``rockets.testing.store_contract.StoreContract`` is the store contract suite: subclass it in a
pytest module and provide a ``store_factory`` fixture to run every contract test against a store.
"""
