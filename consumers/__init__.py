"""FastStream Kafka applications: the records service and the incentive service."""
