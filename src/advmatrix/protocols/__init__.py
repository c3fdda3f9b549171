"""Wire protocols: each one in one module that encodes and decodes requests and replies.

The HTTP targets (client side), the gateway (reading traffic and rewriting replies) and the
test model servers all use the same objects, so a protocol is written once. A protocol is a
plugin (:class:`Protocol`); the registry finds the built-ins here and third-party ones in the
``advmatrix.protocols`` entry-point group::

    >>> from advmatrix.protocols import KServe
    >>> p = KServe()
    >>> p.endpoint("digits")
    '/v2/models/digits/infer'
    >>> p.decode_reply(p.encode_reply([[0.25, 0.75]])).tolist()
    [[0.25, 0.75]]
"""

from ._base import JsonPath, Protocol, ProtocolError
from .json_template import JsonTemplate
from .kserve import KServe
from .tfserving import TFServing

__all__ = ["JsonPath", "JsonTemplate", "KServe", "Protocol", "ProtocolError", "TFServing"]
