"""The model config names an OpenAssistant server offers, for gpt4free's ``models`` list."""

from __future__ import annotations

import oa_provider

__all__ = ["DEFAULT_MODEL", "MODELS"]

#: The model config asked for when gpt4free passes none (``""`` or ``"auto"``): the original
#: provider's.
DEFAULT_MODEL: str = oa_provider.OpenAssistant.model

#: The names of the real inference server's ``GET /configs/model_configs`` (reference exchange
#: 5, in its order; ``oa_mockserver`` serves the same list and a test keeps the two equal). A
#: self-hosted server may offer others: any name is passed on, these are what gpt4free lists.
MODELS: tuple[str, ...] = (
    "_lorem",
    "distilgpt2",
    "OA_SFT_Pythia_12B",
    "OA_SFT_Pythia_12Bq",
    "OA_SFT_Pythia_12B_4",
    "OA_SFT_Pythia_12Bq_4",
    "OA_SFT_Llama_7B",
    "OA_SFT_Llama_13B",
    "OA_SFT_Llama_13Bq",
    "OA_SFT_Llama_30B",
    "OA_SFT_Llama_30Bq",
    "OA_SFT_Llama_30B_2",
    "OA_SFT_Llama_30Bq_2",
    "OA_SFT_Llama_30B_5",
    "OA_SFT_Llama_30Bq_5",
    "OA_SFT_Llama_30B_6",
    "OA_SFT_Llama_30Bq_6",
    "OA_SFT_Llama_30B_7",
    "OA_SFT_Llama_30Bq_7",
    "OA_SFT_Llama_30B_7e3",
    "OA_RLHF_Llama_30B_2_7k",
    "Carper_RLHF_13B_1",
    "Carper_RLHF_13Bq_1",
    "OA_SFT_Llama2_70B_10",
    "OA_SFT_CodeLlama_13B_10",
)
