"""Projects: the folders sessions work in, across every OpenCode server."""
