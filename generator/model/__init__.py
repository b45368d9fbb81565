"""The model every stage imports: the spec (`spec`), the case IR (`case`),
spec files (`specio`), the reviewed vocabulary (`vocab`) and the registry
of concepts and levers it is checked against (`concepts`).

The spec model's names are re-exported here (`from generator.model import
Spec, Check, Errno`); the case IR is imported from `generator.model.case`.
"""
from generator.model.spec import *  # noqa: F401,F403
from generator.model.spec import errno_from_name, errno_from_number  # noqa: F401
