"""The services of memory, one room per idea; below ``runtime``, above ``flags``, ``auth`` and ``store``.

``records`` (what a memory is; writes and reads) is the floor and ``sessions`` stands on it;
``graph``, ``typed``, ``tiers``, ``sharing`` and ``retrieval`` are independent of each other;
``injection`` packs all of them into a prompt. The import contracts in pyproject.toml keep it so.
"""
