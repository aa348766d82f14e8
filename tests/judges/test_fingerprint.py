"""The embedded judge's fingerprint follows its files, so a rebuilt judge never reuses old scores."""

import shutil
from pathlib import Path

from emlab.judges.embedded import GUARD_FILE, METADATA_FILE, PACKAGE_DIR, WEIGHTS_FILE, judge_fingerprint
from emlab.judges.embedded.judge import FLUENCY_FILE


def test_fingerprint_changes_with_any_judge_file(tmp_path: Path) -> None:
    for name in (WEIGHTS_FILE, GUARD_FILE, METADATA_FILE, FLUENCY_FILE):
        shutil.copy(PACKAGE_DIR / name, tmp_path / name)
    shipped = judge_fingerprint()
    assert judge_fingerprint(tmp_path) == shipped  # same bytes, same fingerprint
    for name in (WEIGHTS_FILE, GUARD_FILE, METADATA_FILE, FLUENCY_FILE):
        original = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(original + b" ")
        assert judge_fingerprint(tmp_path) != shipped, name
        (tmp_path / name).write_bytes(original)
    assert judge_fingerprint(tmp_path) == shipped
