"""Seeded synthetic district: five departments' dirty extracts plus the answer key.

    district = generate_district(2000, seed=20261120, snapshot_date="2026-11-20")
    write_district(district, "data_samples")
"""

from .district import District, generate_district
from .rates import SOURCES
from .writers import write_district

__all__ = ["District", "generate_district", "write_district", "SOURCES"]
