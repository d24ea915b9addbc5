"""Notifications for the owner: what happened to the server, the tunnel and the sessions."""

from nexus.notifications.center import NotificationCenter
from nexus.notifications.kinds import KINDS, setting_key
from nexus.notifications.repository import NotificationRepository

__all__ = ["KINDS", "NotificationCenter", "NotificationRepository", "setting_key"]
