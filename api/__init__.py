"""The HTTP API (FastAPI): what assessment centres, enterprises, regulators, records
officers and operators call. OpenAPI at /docs; the operator page at /operator."""
