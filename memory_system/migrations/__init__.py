"""SQL migrations, numbered, each with a rollback script (read by ``store/migrations.py``)."""
