"""The embedded local stack: Temporal dev server, the Kafka-compatible broker, PostgreSQL,
and the SkillFlow roles, all on 127.0.0.1 with their data under one folder."""
