"""The README's ``python`` blocks run, and print what their ``# prints: <line>`` comments say.

Convention: a ``# prints: TEXT`` comment on a line of a README ``python`` block is one expected line of the block's
standard output, in order; the block must print exactly those lines (blocks without such comments must just run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.M | re.S)
PRINTS = re.compile(r"#\s*prints:\s*(.*?)\s*$")


def expected_lines(code: str) -> list[str]:
    """The ``# prints:`` lines of one block, in order."""
    return [m.group(1) for line in code.splitlines() if (m := PRINTS.search(line))]


def test_readme_states_the_output_of_its_quick_start() -> None:
    assert BLOCKS, "README.md has no python blocks"
    assert any(expected_lines(code) for code in BLOCKS)
    assert expected_lines("x = 1\nprint(x)  # prints: 1\nprint(2)  #prints:  2 \n") == ["1", "2"]


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_prints_what_the_readme_says(code: str, tmp_path: Path) -> None:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == expected_lines(code)
