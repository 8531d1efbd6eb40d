"""The codes the extract is drawn from: cohort source codes, their near misses, visit kinds."""

from __future__ import annotations

import numpy as np

__all__ = [
    "ANTICANCER",
    "CANCER",
    "DECOY_CONDITIONS",
    "DECOY_DRUGS",
    "EMERGENCY",
    "EMERGENCY_VISIT",
    "HIP",
    "HIP_DECOYS",
    "HOSPITAL_STAY",
    "INPATIENT",
    "INTENSIVE_CARE",
    "OPIOIDS",
    "OSTEOPOROSIS",
    "OUTPATIENT",
    "PROCEDURES",
]

# Each code list mixes dotted, undotted and lower-case spellings, so that every
# reader of the extract has to normalise codes the way the contract says.
CANCER = [
    "C34.1",
    "C341",
    "c34.1",
    "C18.7",
    "C50.9",
    "C50.4",
    "C61",
    "C25.0",
    "C16.9",
    "C00.0",
    "C97",
    "C91.1",
    "C71.9",
    "C79.5",
]
# Diagnoses outside C00-C97 however they are read, some of them only just.
DECOY_CONDITIONS = [
    "C98",
    "C7A",
    "D00.0",
    "CC34",
    "I10",
    "E11.9",
    "J44.1",
    "I50.9",
    "F03",
    "N18.3",
    "X34C",
]
ANTICANCER = ["L01XC02", "L01BC06", "L01XE01", "l01.ca04", "L01AA01"]
OPIOIDS = ["N02AA01", "N02AB03", "N02AE01", "n02a.a05", "N02AX02"]
# Near misses of L01, N02A and M05B, and everyday drugs.
DECOY_DRUGS = ["N02BE01", "L10", "L1", "M05A", "A10BA02", "C09AA05", "XL01", "B01AC06"]
OSTEOPOROSIS = ["M05BA04", "M05BA07", "M05B.A08", "m05bx04"]
HIP = ["S72.00", "S7200", "s72.0", "S72.10", "S721", "S72.21", "S722"]
# Near misses of S72.0-S72.2.
HIP_DECOYS = ["S72.3", "S72", "S73.0", "T84.0"]
PROCEDURES = ["0SR9019", "5A1955Z", "BW28ZZZ", "3E0336Z"]

# Visit concepts.  An emergency visit that leads to admission (262) counts both as
# a hospital stay and as an emergency visit.
INPATIENT, OUTPATIENT, EMERGENCY, EMERGENCY_AND_INPATIENT = 9201, 9202, 9203, 262
INTENSIVE_CARE = 32037  # a visit detail
HOSPITAL_STAY = np.array([INPATIENT, EMERGENCY_AND_INPATIENT])
EMERGENCY_VISIT = np.array([EMERGENCY, EMERGENCY_AND_INPATIENT])
