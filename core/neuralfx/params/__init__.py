"""Typed effect parameters, declared once.

An effect lists its parameters as instances of the classes below (``Float``, ``Int``,
``Bool``, ``Choice``, ``Text``, ``Path``, ``Boxes``, ``Colour``). From that one declaration
come the options of ``neuralfx run EFFECT`` (:func:`click_options`), the JSON schema printed by
``neuralfx describe EFFECT --json`` (:meth:`Param.schema`), the Blender panel (generated from
that schema) and validation (:func:`validate`) for the CLI and the Python API alike.

    >>> p = Float("strength", default=1.0, min=0.0, max=1.0, help="blend with the content")
    >>> p.convert("0.5")
    0.5
    >>> p.convert(2)
    Traceback (most recent call last):
    ...
    neuralfx.errors.ParameterError: strength: 2.0 is out of range; allowed: 0.0 to 1.0
      hint: pass --strength with a value in 0.0 to 1.0
"""

from .base import Param
from .declared import field, fields_of, from_text
from .kinds import Bool, Choice, Colour, Float, Int, Text, as_float32
from .paths import IMAGE_SUFFIXES, Boxes, Path

__all__ = [
    "IMAGE_SUFFIXES",
    "Bool",
    "Boxes",
    "Choice",
    "Colour",
    "Float",
    "Int",
    "Param",
    "Path",
    "Text",
    "as_float32",
    "field",
    "fields_of",
    "from_text",
]
