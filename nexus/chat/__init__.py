"""Chat sessions: the normalized event model, the engines that produce it, the live hub
that relays it with sequence numbers, and the transcript store that keeps it."""
