"""The query spec language: model, YAML loading, JSON Schema, content hash, plain reading,
and the specs one restriction apart from another.

Also the fixed vocabulary every cube shares: the dimensions, their values (sexes, age
bands, years) and the floor of the minimum cell size k.
"""

from . import _events, _explain, _loading, _measures, _model, _neighbours, _omop, _vocabulary
from ._events import *  # noqa: F403
from ._explain import *  # noqa: F403
from ._loading import *  # noqa: F403
from ._measures import *  # noqa: F403
from ._model import *  # noqa: F403
from ._neighbours import *  # noqa: F403
from ._omop import *  # noqa: F403
from ._vocabulary import *  # noqa: F403

__all__: list[str] = []
__all__ += _events.__all__
__all__ += _explain.__all__
__all__ += _loading.__all__
__all__ += _measures.__all__
__all__ += _model.__all__
__all__ += _neighbours.__all__
__all__ += _omop.__all__
__all__ += _vocabulary.__all__
