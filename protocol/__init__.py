"""lhs protocol: the pure library shared by nodes and the coordinator.

Query specs (model, YAML loading, JSON Schema, content hash), result cubes,
disclosure control (suppression and its LP audit) and signed envelopes
(Ed25519 over canonical JSON).  No I/O beyond reading
a spec file, no web framework.

Errors: every problem a user can cause raises a subclass of ``ProtocolError``::

    ProtocolError
    ├── SpecInvalid        a spec is malformed, hostile or inconsistent
    ├── SignatureInvalid   a signed envelope is malformed or its signature is wrong
    ├── DisclosureError    a cube cannot be protected as asked
    │   └── AuditFailed    a suppressed value would be derivable
    └── AggregationError   a secure-aggregation key, share or sum is wrong
"""

from ._audit import AuditResult, audit
from ._bounds import Bound, PublishedCube, suppressed_bounds
from ._cube import Cube, Key, MeasureDef
from ._disclosure import ProtectedCube, SuppressionReport, primary_suppression, protect
from ._envelope import (
    canonical_json,
    generate_private_key,
    key_id,
    load_private_key,
    public_key_from_text,
    public_key_text,
    save_private_key,
    sign,
    verify,
)
from ._errors import (
    AggregationError,
    AuditFailed,
    DisclosureError,
    ProtocolError,
    SignatureInvalid,
    SpecInvalid,
)
from ._explain import explain
from ._layout import aggregation_cells
from ._linked import LinkedResult, protect_linked
from ._loading import load_spec, parse_spec, spec_hash, spec_json_schema, spec_problems
from ._omop import EVENT_TABLES, GENDER_CONCEPTS, TABLES, EventTable
from ._recheck import check_published
from ._secagg import (
    MODULUS,
    agg_key_bytes,
    agg_key_from_bytes,
    agg_public_text,
    flatten_cells,
    generate_agg_key,
    layout_hash,
    layout_keys,
    mask_stream,
    mask_vector,
    pairwise_seeds,
    seed_info,
    unflatten_vector,
    unmask_sum,
)
from ._spec import (
    DIMENSIONS,
    AgeRange,
    Cohort,
    Disclosure,
    EndWindow,
    EventCriterion,
    Measure,
    QuerySpec,
    SumDaysMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    Window,
    normalize_code,
)

__all__ = [
    "DIMENSIONS",
    "EVENT_TABLES",
    "GENDER_CONCEPTS",
    "MODULUS",
    "TABLES",
    "AgeRange",
    "AggregationError",
    "AuditFailed",
    "AuditResult",
    "Bound",
    "Cohort",
    "Cube",
    "Disclosure",
    "DisclosureError",
    "EndWindow",
    "EventCriterion",
    "EventTable",
    "Key",
    "LinkedResult",
    "Measure",
    "MeasureDef",
    "ProtectedCube",
    "ProtocolError",
    "PublishedCube",
    "QuerySpec",
    "SignatureInvalid",
    "SpecInvalid",
    "SumDaysMeasure",
    "SuppressionReport",
    "UnitsMeasure",
    "UnitsWithMeasure",
    "Window",
    "agg_key_bytes",
    "agg_key_from_bytes",
    "agg_public_text",
    "aggregation_cells",
    "audit",
    "canonical_json",
    "check_published",
    "explain",
    "flatten_cells",
    "generate_agg_key",
    "generate_private_key",
    "key_id",
    "layout_hash",
    "layout_keys",
    "load_private_key",
    "load_spec",
    "mask_stream",
    "mask_vector",
    "normalize_code",
    "pairwise_seeds",
    "parse_spec",
    "primary_suppression",
    "protect",
    "protect_linked",
    "public_key_from_text",
    "public_key_text",
    "save_private_key",
    "seed_info",
    "sign",
    "spec_hash",
    "spec_json_schema",
    "spec_problems",
    "suppressed_bounds",
    "unflatten_vector",
    "unmask_sum",
    "verify",
]
