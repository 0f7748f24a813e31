"""PostgreSQL: connection pool, ordered SQL migrations, the transactional outbox and its relay."""
