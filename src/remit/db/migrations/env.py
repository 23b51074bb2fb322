"""Alembic environment: runs migrations on the engine remit hands over in config.attributes."""

from alembic import context

from remit.db.models import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
