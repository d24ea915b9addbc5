"""A session's workspace folder: confined path access and commands run inside it.

Shared by the Anthropic engine's tools and the workspace pane, so both refuse the same
escapes and cap commands the same way.
"""
