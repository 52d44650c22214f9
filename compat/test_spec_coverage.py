"""Keeps the spec (spec/http.md, spec/websocket.md, spec/sse.md) and this suite in step. Needs no server.

Checks that every clause of the spec is named by some test's @pytest.mark.clause marker, that every
marker names a real clause, that test names start with one of their clause ids, and that a test
carries @pytest.mark.extension exactly when it checks an extension clause (EXT, WSX or SSE), so
`-m "not extension"` is the reference-compatible subset.

Run as a script to print which tests check which clause:  python3 compat/test_spec_coverage.py
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC_DIR = HERE.parent / "spec"
# Each spec file and the clause groups it may define.
SPECS = {
    "http.md": ("FR", "PUB", "LP", "MTH", "CORS", "MUX", "ENC", "EXT"),
    "websocket.md": ("WS", "WSM", "WSX"),
    "sse.md": ("SSE",),
    "auth.md": ("AUTH",),
    "operations.md": ("OPS",),
    "limits.md": ("LIM",),
}
GROUPS = tuple(group for groups in SPECS.values() for group in groups)
EXTENSION_GROUPS = ("EXT", "WSX", "SSE", "AUTH", "OPS", "LIM")
CLAUSE_LINE = re.compile(r"^\*\*(?P<id>[A-Z]+-\d+)\*\* \((?P<kind>reference|extension)\)\.", re.M)
CLAUSE_ID = re.compile(r"^(?P<group>[A-Z]+)-(?P<n>\d+)$")


def spec_clauses_by_file() -> dict:
    """{spec file name: {clause id: "reference" | "extension"} in spec order}."""
    found = {}
    for name in SPECS:
        text = (SPEC_DIR / name).read_text(encoding="utf-8")
        clauses = {}
        for match in CLAUSE_LINE.finditer(text):
            cid = match["id"]
            assert cid not in clauses, f"clause {cid} is defined twice in spec/{name}"
            clauses[cid] = match["kind"]
        found[name] = clauses
    return found


def spec_clauses() -> dict:
    """{clause id: "reference" | "extension"} over all spec files, in spec order."""
    clauses = {}
    for name, own in spec_clauses_by_file().items():
        for cid, kind in own.items():
            assert cid not in clauses, f"clause {cid} of spec/{name} is also defined in another spec file"
            clauses[cid] = kind
    return clauses


def is_extension_clause(cid: str) -> bool:
    return cid.split("-")[0] in EXTENSION_GROUPS


def _is_mark(node: ast.AST, name: str) -> bool:
    """`pytest.mark.<name>` or `pytest.mark.<name>(...)`."""
    if isinstance(node, ast.Call):
        node = node.func
    return (isinstance(node, ast.Attribute) and node.attr == name
            and isinstance(node.value, ast.Attribute) and node.value.attr == "mark"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "pytest")


def _marks(nodes) -> tuple:
    """(clause ids, has extension mark) among decorator-like expressions."""
    clauses, extension = [], False
    for node in nodes:
        if _is_mark(node, "clause"):
            assert isinstance(node, ast.Call) and node.args, "clause marker without ids"
            for arg in node.args:
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), "clause ids must be literals"
                clauses.append(arg.value)
        elif _is_mark(node, "extension"):
            extension = True
    return clauses, extension


def collected_tests() -> list:
    """[(file, function name, clause ids, has extension mark)] for every test in compat/test_*.py
    other than this file."""
    found = []
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module_marks = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
                value = node.value
                module_marks += value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
        module_clauses, module_extension = _marks(module_marks)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                clauses, extension = _marks(node.decorator_list)
                found.append((path.name, node.name, module_clauses + clauses, extension or module_extension))
    return found


def coverage() -> dict:
    """{clause id: [test names]} for every clause in the spec."""
    table = {cid: [] for cid in spec_clauses()}
    for file, name, clauses, _ in collected_tests():
        for cid in clauses:
            table.setdefault(cid, []).append(f"{file}::{name}")
    return table


# ---------------------------------------------------------------------------------------------


def test_spec_clauses_are_well_formed():
    by_file = spec_clauses_by_file()
    assert len(by_file["http.md"]) > 50, (
        f"only {len(by_file['http.md'])} clauses parsed from spec/http.md: has the clause format changed?")
    assert len(by_file["websocket.md"]) > 30, (
        f"only {len(by_file['websocket.md'])} clauses parsed from spec/websocket.md: has the clause format changed?")
    assert len(by_file["sse.md"]) > 10, (
        f"only {len(by_file['sse.md'])} clauses parsed from spec/sse.md: has the clause format changed?")
    spec_clauses()  # no id is defined in two files
    numbers = defaultdict(list)
    for name, clauses in by_file.items():
        for cid, kind in clauses.items():
            match = CLAUSE_ID.match(cid)
            assert match and match["group"] in GROUPS, f"unknown clause group in {cid} (spec/{name})"
            assert match["group"] in SPECS[name], f"{cid} belongs in another spec file than spec/{name}"
            numbers[match["group"]].append(int(match["n"]))
            expected_kind = "extension" if is_extension_clause(cid) else "reference"
            assert kind == expected_kind, f"{cid} is marked ({kind}); clauses of its group are ({expected_kind})"
    for group, ns in numbers.items():
        assert ns == list(range(1, len(ns) + 1)), f"{group} clauses are not numbered 1..n in order: {ns}"


def test_every_spec_file_is_read():
    """A new spec file must be added to SPECS, or its clauses would go unchecked."""
    # README.md explains the spec and reference-observations.md records what the clauses rest on:
    # neither holds clauses. redis-ha.md's clauses need a Sentinel cluster: Tests/ha checks them
    # (make test-redis-ha), not this suite.
    files = {path.name for path in SPEC_DIR.glob("*.md")} - {"README.md", "reference-observations.md", "redis-ha.md"}
    assert files == set(SPECS), f"spec files {sorted(files - set(SPECS))} are missing from SPECS"


def test_every_clause_is_checked_by_a_test():
    unchecked = [cid for cid, tests in coverage().items() if not tests]
    assert not unchecked, f"spec clauses that no test names in a clause marker: {unchecked}"


def test_every_marker_names_a_real_clause():
    known = spec_clauses()
    unknown = [(f"{file}::{name}", cid) for file, name, clauses, _ in collected_tests()
               for cid in clauses if cid not in known]
    assert not unknown, f"clause markers naming clauses that no spec file defines: {unknown}"


def test_every_test_names_its_clause():
    problems = []
    for file, name, clauses, _ in collected_tests():
        if not clauses:
            problems.append(f"{file}::{name} has no clause marker")
            continue
        prefixes = {"test_" + cid.lower().replace("-", "_") + "_" for cid in clauses}
        if not any(name.startswith(prefix) for prefix in prefixes):
            problems.append(f"{file}::{name} does not start with one of {sorted(prefixes)}")
    assert not problems, "\n".join(problems)


def test_extension_marker_matches_ext_clauses():
    problems = []
    for file, name, clauses, extension in collected_tests():
        checks_ext = any(is_extension_clause(cid) for cid in clauses)
        if checks_ext and not extension:
            problems.append(f"{file}::{name} checks an extension clause but lacks @pytest.mark.extension")
        if extension and not checks_ext:
            problems.append(f"{file}::{name} is marked extension but names no extension clause")
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    for cid, tests in coverage().items():
        print(f"{cid:8} {len(tests):3}  " + (", ".join(t.split('::')[1] for t in tests) or "-- NOT CHECKED --"))
