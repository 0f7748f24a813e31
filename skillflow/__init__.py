"""SkillFlow: the application shell — settings, the local stack, the CLI and the roles."""
