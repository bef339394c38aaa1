"""The house rules of the brief, kept: no module in genesel/ over 400 lines, no function over 60 (a module
that long is two jobs, a function a reader must scroll is two functions)."""

import ast
from pathlib import Path

GENESEL = Path(__file__).resolve().parents[1] / "genesel"
MAX_MODULE, MAX_FUNCTION = 400, 60


def test_no_module_over_400_lines_and_no_function_over_60():
    too_long = []
    for path in sorted(GENESEL.rglob("*.py")):
        text = path.read_text()
        name = path.relative_to(GENESEL.parent)
        if len(text.splitlines()) > MAX_MODULE:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "split by job: " + "; ".join(too_long)
