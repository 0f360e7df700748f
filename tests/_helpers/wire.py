"""Events as the wire carries them, for the parser's unit tests and the provider's over HTTP."""

from __future__ import annotations

from typing import Any

# a plugin step's event: PluginIntermediateEvent("t", "a", "i", "r") once parsed
PLUGIN_INTERMEDIATE: dict[str, Any] = {
    "event_type": "plugin_intermediate",
    "current_plugin_thought": "t",
    "current_plugin_action_taken": "a",
    "current_plugin_action_input": "i",
    "current_plugin_action_response": "r",
    "message": None,
}
