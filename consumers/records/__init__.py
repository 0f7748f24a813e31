"""The records service: each worker's lifelong electronic training archive."""
