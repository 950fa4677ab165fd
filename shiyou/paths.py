"""Where the project's own data files live (code tables, contracts, the standard)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
CODES_DIR = SCHEMAS_DIR / "codes"
