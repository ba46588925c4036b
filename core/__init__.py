"""What the web app, the worker and the seed script all need: no layer of its own above it."""
