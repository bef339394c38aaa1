"""`pip install -e .` alone (no test extras) must bring every module the main job and `--report` import.

The test extras hide gaps: pyHSICLasso brings `six` (which GEOparse imports without declaring it) and pytest
brings `pygments` (which `snakemake --report` imports lazily). So the check is made on declared metadata, not on
what this venv happens to hold: every module imported by genesel, by the workflow, at module level by the
dependencies known to under-declare, and lazily by the report must belong to a distribution in the closure of
genesel's own runtime requirements. CI also runs the README's main command in a venv without the extras.
"""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]

# Imports that no static scan of genesel can see: made lazily inside a dependency on the main job's path.
LAZY_RUNTIME_IMPORTS = {"pygments": "snakemake --report (snakemake/report/html_reporter)"}


def runtime_closure(name="genesel"):
    """Distributions reachable from `name`'s requirements, with markers evaluated and no extras."""
    seen, todo = set(), [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            key = canonical(req.name)
            if key not in seen:
                seen.add(key)
                todo.append(req.name)
    return seen


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(path, module_level_only=False):
    """Top-level names of the modules a file imports: everywhere, or only unconditionally at module level
    (not inside try, if or a function: what a dependency needs whenever it is imported)."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    names = set()
    for node in tree.body if module_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def third_party(modules):
    own = {"genesel"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in own and m != "__future__"}


def undeclared(modules, closure):
    providers = metadata.packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = {canonical(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(dists) or ["<not installed>"]
    return missing


def our_modules():
    modules = set()
    for path in (REPO / "genesel").rglob("*.py"):
        modules |= imported_modules(path)
    for path in (REPO / "workflow").rglob("*.smk"):
        modules |= set(re.findall(r"^\s*(?:from|import) ([A-Za-z_][A-Za-z0-9_]*)", path.read_text(), re.M))
    return third_party(modules)


def test_runtime_requirements_cover_every_import_of_the_main_job():
    closure = runtime_closure()
    modules = our_modules()
    geoparse = Path(metadata.distribution("GEOparse").locate_file("GEOparse"))
    for path in geoparse.glob("*.py"):
        modules |= third_party(imported_modules(path, module_level_only=True))
    modules |= set(LAZY_RUNTIME_IMPORTS)
    assert {"torch", "GEOparse", "snakemake", "pygments"} <= modules
    assert undeclared(modules, closure) == {}


def test_the_check_sees_a_missing_declaration():
    """Were `six` not in the closure of genesel's requirements, GEOparse's import of it is reported (issue 28)."""
    closure = runtime_closure()
    assert "six" in closure
    assert undeclared({"six"}, closure) == {}
    assert undeclared({"six"}, closure - {"six"}) == {"six": ["six"]}
