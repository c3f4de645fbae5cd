"""A real writer process for durability and online-backup tests.

``python acked_writer.py DB [LIMIT]`` inserts, per transaction, one entity and one
observation on it through ``Database.write()``, and after each COMMIT prints the entity
id on stdout (flushed): that line is the acknowledgement a client would get. It prints
``ready`` once the database is open.
"""

from __future__ import annotations

import sys

from memory_system.store.connection import Database


def main() -> None:
    db = Database(sys.argv[1], create=False)
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 10**9
    print("ready", flush=True)
    for i in range(limit):
        with db.write() as conn:
            entity_id = conn.execute(
                "INSERT INTO entities (namespace, name, entity_type) VALUES ('load', ?, 'load')", (f"e{i}",)
            ).lastrowid
            conn.execute(
                "INSERT INTO observations (entity_id, content) VALUES (?, ?)", (entity_id, f"obs {i}")
            )
        sys.stdout.write(f"{entity_id}\n")
        sys.stdout.flush()
    db.close()


if __name__ == "__main__":
    main()
