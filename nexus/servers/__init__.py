"""Every OpenCode server Nexus drives: the one it spawns (nexus.server.Supervisor) and any
number attached by URL, behind one registry."""
