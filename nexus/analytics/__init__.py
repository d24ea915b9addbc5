"""Usage analytics over the chat store (plain Python, SQL through SQLAlchemy Core)."""

from nexus.analytics.days import AnalyticsRangeError, LocalDays
from nexus.analytics.service import ChatAnalytics

__all__ = ["AnalyticsRangeError", "ChatAnalytics", "LocalDays"]
