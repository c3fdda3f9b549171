"""What happens on an alert: log, throttle, block for a time, or degrade a client's outputs; for
LLM traffic also refuse the request, stop, redact or neutralise the output, drop tool calls.

Each response is a plugin (kind ``response``, entry-point group ``advmatrix.responses``) that
names the ATLAS mitigations it implements; the :class:`Responder` keeps the measures in force
per client and applies them.

>>> from advmatrix.respond import Responder
>>> r = Responder({"volume": {"action": "block", "duration_s": 60}})
>>> r.on_alert("volume", "ip:10.0.0.9", now=1000.0)
('block', ('AML.M0004', 'AML.M0019'))
>>> r.admit("ip:10.0.0.9", now=1001.0)
(403, 'client blocked for 59 s more')
>>> r.admit("ip:10.0.0.9", now=1061.0) is None
True
"""

from ._base import EXCHANGE_EFFECTS, Measure, Response, ResponseParams
from ._responder import Responder, build_response
from .actions import AlertOnly, Block, Degrade, Throttle
from .chat import DropTools, Neutralise, Redact, Refuse, Stop

__all__ = [
           "EXCHANGE_EFFECTS",
           "AlertOnly",
           "Block",
           "Degrade",
           "DropTools",
           "Measure",
           "Neutralise",
           "Redact",
           "Refuse",
           "Responder",
           "Response",
           "ResponseParams",
           "Stop",
           "Throttle",
           "build_response",
]
