"""ArtifactStorage adapters."""
