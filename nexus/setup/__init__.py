"""The first-run setup wizard."""

from nexus.setup.wizard import STEPS, SetupError, SetupWizard

__all__ = ["STEPS", "SetupError", "SetupWizard"]
