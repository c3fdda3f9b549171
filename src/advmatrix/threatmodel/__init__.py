"""Threat modelling: a system description (``system.yaml`` or a CycloneDX ML-BOM) becomes the ATLAS
techniques that apply to it.

>>> from advmatrix.threatmodel import load_system_text
>>> load_system_text("name: demo\\ncomponents: [{id: m, kind: model}]").component("m").kind
'model'
"""

from ._validate import load_system, load_system_text
from .cyclonedx import load_cyclonedx
from .paths import attack_paths
from .predict import (
    ComponentPrediction,
    MitigationAdvice,
    Prediction,
    TechniqueFinding,
    Weights,
    bundled_weights,
    learn_weights,
    predict,
)
from .rules import TIERS, Rule, RuleSet, RuleWarning, bundled_rules, load_rules, no_precondition
from .system import (
    COMPONENT_KINDS,
    Component,
    DatasetComponent,
    ExternalComponent,
    Flow,
    LlmAppComponent,
    ModelComponent,
    RetrievalStoreComponent,
    ServiceComponent,
    System,
    ToolComponent,
    component_fields,
    json_schema,
)

__all__ = [
    "COMPONENT_KINDS",
    "TIERS",
    "Component",
    "ComponentPrediction",
    "DatasetComponent",
    "ExternalComponent",
    "Flow",
    "LlmAppComponent",
    "MitigationAdvice",
    "ModelComponent",
    "Prediction",
    "RetrievalStoreComponent",
    "Rule",
    "RuleSet",
    "RuleWarning",
    "ServiceComponent",
    "System",
    "TechniqueFinding",
    "ToolComponent",
    "Weights",
    "attack_paths",
    "bundled_rules",
    "bundled_weights",
    "component_fields",
    "json_schema",
    "learn_weights",
    "load_cyclonedx",
    "load_rules",
    "load_system",
    "load_system_text",
    "no_precondition",
    "predict",
]
