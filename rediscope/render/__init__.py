"""Pure renderers: a report in, a Rich renderable or JSON text out. Never talks to Redis."""
