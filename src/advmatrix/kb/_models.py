"""Frozen, typed objects of the matrix. They hold data only; lookups live on ``Matrix``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TACTIC_ID = re.compile(r"^AML\.TA\d{4}$")
TECHNIQUE_ID = re.compile(r"^AML\.T\d{4}(\.\d{3})?$")
MITIGATION_ID = re.compile(r"^AML\.M\d{4}$")
CASE_STUDY_ID = re.compile(r"^AML\.CS\d{4}$")

Maturity = Literal["feasible", "demonstrated", "realized"]
Granularity = Literal["DATE", "MONTH", "YEAR"]
RmfFunction = Literal["GOVERN", "MAP", "MEASURE", "MANAGE"]

# OWASP Machine Learning Security Top 10 (2023) and OWASP Top 10 for LLM Applications (2025).
OWASP_ML_TOP10: dict[str, str] = {
    "ML01": "Input Manipulation Attack",
    "ML02": "Data Poisoning Attack",
    "ML03": "Model Inversion Attack",
    "ML04": "Membership Inference Attack",
    "ML05": "Model Theft",
    "ML06": "AI Supply Chain Attacks",
    "ML07": "Transfer Learning Attack",
    "ML08": "Model Skewing",
    "ML09": "Output Integrity Attack",
    "ML10": "Model Poisoning",
}
OWASP_LLM_TOP10: dict[str, str] = {
    "LLM01": "Prompt Injection",
    "LLM02": "Sensitive Information Disclosure",
    "LLM03": "Supply Chain",
    "LLM04": "Data and Model Poisoning",
    "LLM05": "Improper Output Handling",
    "LLM06": "Excessive Agency",
    "LLM07": "System Prompt Leakage",
    "LLM08": "Vector and Embedding Weaknesses",
    "LLM09": "Misinformation",
    "LLM10": "Unbounded Consumption",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Reference(_Frozen):
    """A source a case study or technique cites: its title and address."""
    title: str = ""
    url: str = ""


class AttackReference(_Frozen):
    """The ATT&CK object an ATLAS tactic, technique or mitigation adapts."""

    id: str
    url: str


class Tactic(_Frozen):
    """An adversary's goal at one stage of an attack; a column of the matrix."""
    id: str = Field(pattern=TACTIC_ID.pattern)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    attack_reference: AttackReference | None = None
    created: dt.date | None = None
    modified: dt.date | None = None
    references: tuple[Reference, ...] = ()
    nist_ai_rmf: tuple[RmfFunction, ...] = ()

    kind: Literal["tactic"] = "tactic"


class Technique(_Frozen):
    """How an adversary reaches a tactic's goal; sub-techniques name their parent."""
    """A technique, or a sub-technique when ``parent`` is set (sub-techniques take the
    parent's tactics and list none of their own, as upstream does)."""

    id: str = Field(pattern=TECHNIQUE_ID.pattern)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    tactics: tuple[str, ...] = ()
    parent: str | None = None
    maturity: Maturity | None = None
    created: dt.date | None = None
    modified: dt.date | None = None
    attack_reference: AttackReference | None = None
    references: tuple[Reference, ...] = ()
    owasp_ml: tuple[str, ...] = ()
    owasp_llm: tuple[str, ...] = ()
    nist_ai_rmf: tuple[RmfFunction, ...] = ()

    kind: Literal["technique"] = "technique"

    @property
    def is_subtechnique(self) -> bool:
        return self.parent is not None

    @field_validator("owasp_ml")
    @classmethod
    def _known_owasp_ml(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [x for x in v if x not in OWASP_ML_TOP10]
        if unknown:
            raise ValueError(f"unknown OWASP ML Top 10 entry {unknown[0]!r}")
        return v

    @field_validator("owasp_llm")
    @classmethod
    def _known_owasp_llm(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [x for x in v if x not in OWASP_LLM_TOP10]
        if unknown:
            raise ValueError(f"unknown OWASP LLM Top 10 entry {unknown[0]!r}")
        return v


class MitigationUse(_Frozen):
    """How one mitigation applies to one technique."""
    """How one mitigation addresses one technique."""

    technique: str = Field(pattern=TECHNIQUE_ID.pattern)
    use: str = ""


class Mitigation(_Frozen):
    """A defence, with the techniques it mitigates and how."""
    id: str = Field(pattern=MITIGATION_ID.pattern)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    techniques: tuple[MitigationUse, ...] = ()
    lifecycle: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    created: dt.date | None = None
    modified: dt.date | None = None
    attack_reference: AttackReference | None = None
    references: tuple[Reference, ...] = ()

    kind: Literal["mitigation"] = "mitigation"


class ProcedureStep(_Frozen):
    """One step of a case study: the tactic and technique used, and what was done."""
    tactic: str = Field(pattern=TACTIC_ID.pattern)
    technique: str = Field(pattern=TECHNIQUE_ID.pattern)
    description: str = ""


class CaseStudy(_Frozen):
    """A real incident or exercise, told as an ordered sequence of techniques."""
    id: str = Field(pattern=CASE_STUDY_ID.pattern)
    name: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    incident_date: dt.date
    incident_date_granularity: Granularity
    procedure: tuple[ProcedureStep, ...] = Field(min_length=1)
    target: str = ""
    actor: str = ""
    case_study_type: Literal["incident", "exercise"] | None = None
    reporter: str | None = None
    references: tuple[Reference, ...] = ()

    kind: Literal["case-study"] = "case-study"


KnowledgeObject = Tactic | Technique | Mitigation | CaseStudy
