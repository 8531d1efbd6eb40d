"""Synthetic OMOP extracts: end of life, hip fracture, births, knees, CKD and colorectal surgery.

Everything is drawn with numpy in whole arrays and written with pyarrow, so a
million persons take seconds.  The same seed gives the same extract.  Edge
cases of the contract are planted on purpose (window boundaries, events after
death, dotted/undotted/lower-case codes, decoy codes, deaths before birth,
visits that end before they start) so that tests exercise every rule.
"""

from ._command import synth_command
from ._simulate import generate
from ._tables import TABLE_COLUMNS

__all__ = ["TABLE_COLUMNS", "generate", "synth_command"]
