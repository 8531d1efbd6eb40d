"""The wire format: every message between node and coordinator, built and checked here.

Each message is a payload signed in an envelope (``protocol.crypto``).  Its type string,
its fields and their checks live in this package, once, for both sides:

=================  ===========================  ======================================
type               sent by                      built by / checked by
=================  ===========================  ======================================
``lhs.poll/1``     node                         ``poll_payload`` / ``check_poll``
``lhs.task/1``     coordinator                  ``task_payload`` / ``check_task``
``lhs.result/1``   node                         ``result_payload`` /
                                                ``check_result_message``, ``check_result``
``lhs.aggrequest/1`` coordinator                ``agg_request_payload`` /
                                                ``check_agg_request``
``lhs.aggkey/1``,  node                         ``agg_key_payload``, ``agg_share_payload``,
``lhs.aggshare/1``,                             ``agg_decline_payload`` /
``lhs.aggdecline/1``                            ``check_agg_message``
=================  ===========================  ======================================

A check raises ``MessageInvalid`` whose ``code`` is the refusal's stable reason.  Times are
UTC ISO 8601 with a ``Z`` (``write_time``, ``parse_time``); ``MESSAGE_SCHEMAS`` are the
JSON Schemas the coordinator's OpenAPI document publishes.
"""

from . import _aggregation, _layout, _poll, _result, _schemas, _task, _time, _types
from ._aggregation import *  # noqa: F403
from ._checks import is_whole
from ._layout import *  # noqa: F403
from ._poll import *  # noqa: F403
from ._result import *  # noqa: F403
from ._schemas import *  # noqa: F403
from ._task import *  # noqa: F403
from ._time import *  # noqa: F403
from ._types import *  # noqa: F403

__all__: list[str] = ["is_whole"]
__all__ += _aggregation.__all__
__all__ += _layout.__all__
__all__ += _poll.__all__
__all__ += _result.__all__
__all__ += _schemas.__all__
__all__ += _task.__all__
__all__ += _time.__all__
__all__ += _types.__all__
