"""Contracts shared by workflows, activities, consumers and the API (pydantic, strict)."""
