"""What operators see and repair: the console's figures (processes, late work, event flow,
roles) and the repairs, each recorded in the audit log. The API serves them; the CLI and
``skillflow status`` read them from the API."""
