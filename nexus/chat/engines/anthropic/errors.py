"""Anthropic SDK exceptions -> one sentence saying what happened and what to do."""

from __future__ import annotations

from typing import Any


def retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def describe(exc: BaseException, base_url: str) -> tuple[str, str]:
    """(code, message for people) for an exception raised while talking to Anthropic."""
    import anthropic  # only called after a client was built, so this is already loaded

    if isinstance(exc, anthropic.AuthenticationError):
        return "invalid_key", ("Anthropic refused the API key. Copy a valid one from console.anthropic.com "
                               "(API keys) and enter it on the Agents page.")
    if isinstance(exc, anthropic.PermissionDeniedError):
        return "forbidden", "This API key may not use that model. Pick another model or check the key's workspace."
    if isinstance(exc, anthropic.RateLimitError):
        wait = retry_after(exc)
        when = f"in {wait:.0f} s" if wait is not None else "in a minute"
        return "rate_limited", f"Anthropic is rate limiting this key. Try again {when}."
    if isinstance(exc, anthropic.APIStatusError) and (exc.status_code == 529 or _error_type(exc) == "overloaded_error"):
        return "overloaded", "Anthropic is overloaded right now. Wait a moment and send the message again."
    if isinstance(exc, anthropic.APIStatusError) and _too_long(exc):
        return "context_too_long", ("The conversation is too long for the model's context window. "
                                    "Start a new session, or pick a model with a larger window.")
    if isinstance(exc, anthropic.NotFoundError):
        return "unknown_model", "Anthropic does not know that model. Pick another model for this agent."
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout", f"Anthropic ({base_url}) did not answer in time. Check the connection and try again."
    if isinstance(exc, anthropic.APIConnectionError):
        return "network", f"Could not reach Anthropic at {base_url}. Check the internet connection and try again."
    if isinstance(exc, anthropic.APIStatusError):
        detail = _error_message(exc) or f"HTTP {exc.status_code}"
        return "api_error", f"Anthropic answered with an error: {detail}"
    return "engine_error", f"The Anthropic engine failed: {exc}"


def _body_error(exc: Any) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        return inner if isinstance(inner, dict) else {}
    return {}


def _error_type(exc: Any) -> str:
    return str(_body_error(exc).get("type") or "")


def _error_message(exc: Any) -> str:
    return str(_body_error(exc).get("message") or "")[:300]


def _too_long(exc: Any) -> bool:
    if getattr(exc, "status_code", None) == 413:
        return True
    text = _error_message(exc).lower()
    return exc.status_code == 400 and ("too long" in text or ("context" in text and "exceed" in text))
