"""pyproject's package-data: every pattern ships at least one file, and every YAML config or preset inside the
packages is shipped (an installed simreal finds ``configs/`` and ``randomization/presets/``)."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_dir(package: str) -> Path:
    return ROOT.joinpath(*package.split(".")[1:])  # package-dir: simreal = the repository root


def _shipped() -> set[Path]:
    files: set[Path] = set()
    for package, patterns in SETUPTOOLS["package-data"].items():
        for pattern in patterns:
            matched = {p for p in _package_dir(package).glob(pattern) if p.is_file()}
            assert matched, f"package-data {package!r}: {pattern!r} matches no file"
            files |= matched
    return files


def test_package_data_patterns_match_files_and_cover_every_yaml() -> None:
    shipped = _shipped()
    for package in SETUPTOOLS["packages"]:
        folder = _package_dir(package)
        yamls = [*folder.glob("*/*.yml"), *folder.glob("*/*.yaml"), *folder.glob("*/*/*.yaml")]
        for path in yamls:
            if path.relative_to(ROOT).parts[0] in ("tests", "docs", ".venv", "runs", "report"):
                continue
            assert path in shipped, f"{path.relative_to(ROOT)} is not in pyproject's package-data"
