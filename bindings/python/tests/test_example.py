"""examples/python/tour.py runs to the end (it asserts as it goes)."""

import subprocess
import sys
from pathlib import Path

TOUR = Path(__file__).resolve().parents[3] / "examples" / "python" / "tour.py"


def test_tour_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, str(TOUR), str(tmp_path / "tour")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "reopened read-only: 113 keys" in out.stdout


def test_tour_needs_its_argument():
    out = subprocess.run([sys.executable, str(TOUR)], capture_output=True, text=True)
    assert out.returncode != 0 and "usage" in out.stderr
