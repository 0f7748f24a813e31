"""One router per area of the product; ``api.app`` mounts every router listed here."""
