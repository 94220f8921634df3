"""Every ``simreal.<module>[.<name>]`` named in the code's docstrings and comments, the Markdown docs and the configs
resolves: a module that moved or a name that was deleted leaves no stale pointer behind (docs/results/ is a record
of past runs and is not checked)."""

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", ".git", "runs", "report", "results", "node_modules", "__pycache__"}
REFERENCE = re.compile(r"\bsimreal(?:\.[A-Za-z_]\w*)+(?![\w/])")  # not "simreal.cyclegan/1" (a format id)


def _files() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*")
        if p.suffix in (".py", ".md", ".yml", ".yaml")
        and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        and p.name != Path(__file__).name  # its own examples of stale references
    ]


def _resolves(reference: str) -> bool:
    parts = reference.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_the_reference_pattern_and_resolver() -> None:
    text = "see simreal.envs.base.MujocoEnv, ``simreal.cyclegan/1`` and simreal.nowhere.Thing."
    found = REFERENCE.findall(text)
    assert found == ["simreal.envs.base.MujocoEnv", "simreal.nowhere.Thing"]
    assert _resolves(found[0]) and not _resolves(found[1]) and not _resolves("simreal.envs.base.Nothing")


def test_every_dotted_reference_resolves() -> None:
    stale = {}
    for path in _files():
        references = set(REFERENCE.findall(path.read_text(encoding="utf-8", errors="replace")))
        missing = sorted(r for r in references if not _resolves(r))
        if missing:
            stale[str(path.relative_to(ROOT))] = missing
    assert not stale, f"names that do not exist (moved or deleted?): {stale}"


def test_contributing_names_files_tests_and_constants_that_exist() -> None:
    """docs/CONTRIBUTING.md's checklists name files, test functions and registry constants: each must exist."""
    text = (ROOT / "docs" / "CONTRIBUTING.md").read_text(encoding="utf-8")
    quoted = re.findall(r"`([^`]+)`", text)
    sources = {p: p.read_text(encoding="utf-8") for p in _files() if p.suffix == ".py"}
    tests = "\n".join(t for p, t in sources.items() if p.parts[-2] == "tests")
    code = "\n".join(t for p, t in sources.items() if p.parts[-2] != "tests")
    missing = []
    for item in quoted:
        if "<" in item or "{" in item or " " in item:
            continue  # a placeholder (envs/<family>/) or an expression
        if re.fullmatch(r"[\w./-]+\.(py|yaml|yml|md|toml)", item) or item.endswith("/"):
            if not (ROOT / item).exists() and not any(str(p).endswith("/" + item) for p in _files()):
                missing.append(item)
        elif re.fullmatch(r"test_\w+", item) and not re.search(rf"def {item}\(", tests):
            missing.append(item)
        elif re.fullmatch(r"[A-Z][A-Z_]{3,}", item) and not re.search(rf"^{item}\b.*[:=]", code, re.MULTILINE):
            missing.append(item)
    assert not missing, f"docs/CONTRIBUTING.md names what does not exist: {missing}"
