"""AffectWatch: facial-expression monitoring for care homes (shared package)."""

__version__ = "0.1.0"
