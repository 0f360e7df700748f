"""The provider's class attributes tell gpt4free the truth: each is checked against what the
provider does with the mock server, not only read back."""

from __future__ import annotations

import json
import urllib.request

import g4f
import pytest
from _g4f_checks import ME
from g4f.client.service import get_model_and_provider
from g4f.providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from g4f.providers.types import BaseProvider

import oa_g4f
from oa_g4f import MODELS, OpenAssistant
from oa_mockserver import ThreadedMockServer

pytestmark = pytest.mark.g4f


def _assistant_request(server: ThreadedMockServer) -> dict[str, object]:
    [call] = [c for c in server.journal.calls if c.step == "assistant_message"]
    assert isinstance(call.json, dict)
    return call.json


def _prompter_request(server: ThreadedMockServer) -> dict[str, object]:
    [call] = [c for c in server.journal.calls if c.step == "prompter_message"]
    assert isinstance(call.json, dict)
    return call.json


def test_it_is_a_gpt4free_provider_class() -> None:
    assert issubclass(OpenAssistant, AsyncGeneratorProvider)
    assert issubclass(OpenAssistant, ProviderModelMixin)
    assert issubclass(OpenAssistant, BaseProvider)
    assert OpenAssistant.get_dict() == {
        "name": "OpenAssistant",
        "url": "https://open-assistant.io/chat",
        "label": "OpenAssistant (oa-toolkit)",
    }


def test_working_lets_chatcompletion_pick_it_without_ignore_working() -> None:
    """working=False made g4f.ChatCompletion refuse it (ProviderNotWorkingError)."""
    assert OpenAssistant.working is True
    _model, provider = get_model_and_provider("", OpenAssistant, stream=True)
    assert provider is OpenAssistant
    assert OpenAssistant.supports_stream is True  # else stream=True raised above


def test_needs_auth_is_true_no_cookie_no_request(oa_mockserver: ThreadedMockServer) -> None:
    assert OpenAssistant.needs_auth is True
    with pytest.raises(g4f.errors.MissingAuthError):
        g4f.ChatCompletion.create(
            model="", messages=[{"role": "user", "content": "hi"}], provider=OpenAssistant,
            base_url=oa_mockserver.url,
        )
    assert oa_mockserver.journal.calls == []


def test_system_messages_go_to_the_system_prompt_field(
    oa_mockserver: ThreadedMockServer,
) -> None:
    assert OpenAssistant.supports_system_message is True
    messages = [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "hello"},
    ]
    g4f.ChatCompletion.create(
        model="", messages=messages, provider=OpenAssistant, base_url=oa_mockserver.url,
        cookies=ME,
    )
    assert _assistant_request(oa_mockserver)["system_prompt"] == "Answer in French."
    assert _prompter_request(oa_mockserver)["content"] == "hello"


def test_message_history_is_sent(oa_mockserver: ThreadedMockServer) -> None:
    assert OpenAssistant.supports_message_history is True
    messages = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    g4f.ChatCompletion.create(
        model="", messages=messages, provider=OpenAssistant, base_url=oa_mockserver.url,
        cookies=ME,
    )
    assert _prompter_request(oa_mockserver)["content"] == (
        "User: My name is Ada.\nAssistant: Hello Ada.\nUser: What is my name?\nAssistant:"
    )


def test_models_are_the_servers_model_configs(oa_mockserver: ThreadedMockServer) -> None:
    request = urllib.request.Request(
        f"{oa_mockserver.url}/api/chat/models",
        headers={"Cookie": "next-auth.session-token=g4f-user"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        served = [config["name"] for config in json.load(answer)]

    assert OpenAssistant.models == served == list(MODELS)
    assert OpenAssistant.get_models() == served
    assert OpenAssistant.default_model in served


@pytest.mark.parametrize("asked", ["", "auto", None])
def test_no_model_asks_for_the_default(oa_mockserver: ThreadedMockServer, asked: object) -> None:
    g4f.ChatCompletion.create(
        model=asked, messages=[{"role": "user", "content": "hi"}], provider=OpenAssistant,
        base_url=oa_mockserver.url, cookies=ME,
    )
    config = _assistant_request(oa_mockserver)["model_config_name"]
    assert config == OpenAssistant.default_model == "OA_SFT_Llama_30B_6"


def test_a_named_model_is_asked_for(oa_mockserver: ThreadedMockServer) -> None:
    g4f.ChatCompletion.create(
        model="OA_SFT_Llama2_70B_10", messages=[{"role": "user", "content": "hi"}],
        provider=OpenAssistant, base_url=oa_mockserver.url, cookies=ME,
    )
    assert _assistant_request(oa_mockserver)["model_config_name"] == "OA_SFT_Llama2_70B_10"


def test_a_model_name_is_sent_as_given_not_completed_by_suffix(
    oa_mockserver: ThreadedMockServer,
) -> None:
    # gpt4free's get_model would take "Llama_30B" for the listed "OA_SFT_Llama_30B"
    with pytest.raises(g4f.errors.BadRequestError):  # the mock serves no such model config
        g4f.ChatCompletion.create(
            model="Llama_30B", messages=[{"role": "user", "content": "hi"}],
            provider=OpenAssistant, base_url=oa_mockserver.url, cookies=ME,
        )  # fmt: skip
    assert _assistant_request(oa_mockserver)["model_config_name"] == "Llama_30B"


def test_gpt4free_lists_its_parameters() -> None:
    """What g4f's GUI and API show for a provider (get_parameters reads the signature)."""
    parameters = OpenAssistant.get_parameters(as_json=True)
    assert parameters["provider"] == "OpenAssistant"
    assert parameters["model"] == "OA_SFT_Llama_30B_6"
    assert parameters["stream"] is True
    for name in ("temperature", "top_p", "top_k", "max_tokens", "timeout", "api_key"):
        assert name in parameters, name
    assert "OpenAssistant supports" in OpenAssistant.get_params()


def test_public_names() -> None:
    assert oa_g4f.__all__ == sorted(oa_g4f.__all__, key=str.lower)
    assert set(oa_g4f.__all__) == {"ERROR_MAP", "MODELS", "OpenAssistant", "to_g4f_error"}
    for name in oa_g4f.__all__:
        assert getattr(oa_g4f, name) is not None
