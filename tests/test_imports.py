"""What each path imports, checked in a fresh interpreter, and that walkforward never writes `sys.modules`.

Model libraries are imported as any user would import them, so a LightGBM run loads what `import lightgbm` loads
(scikit-learn and pandas too, when installed: lightgbm's `compat` module imports them eagerly). What stays light:
importing the CLI (and `wf --help`) loads no model library, pandas, matplotlib or engine; a Polars run never imports
the legacy engine or matplotlib; a random-forest run does not import LightGBM.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "sklearn", "lightgbm")
ENGINES = ("walkforward.engine", "walkforward.legacy.engine")

RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tests.small import make_small_data, small_config
    from walkforward.runner import execute

    tmp, kind = Path(sys.argv[1]), sys.argv[2]
    params = {"n_estimators": 5} if kind == "lightgbm" else {"n_estimators": 5, "max_depth": 3}
    config = small_config(make_small_data(tmp / "data"), tmp / "out", annualization=252, n_jobs=1)
    result, info = execute(config.replace(**{"model.kind": kind, "model.params": params}))
    assert len(result.folds) >= 2 and info["engine"] == "polars"
    print(json.dumps({m: m in sys.modules for m in sys.argv[3:]}))
    """
)


def loaded_after(code: str, *args: str, modules: tuple[str, ...] = HEAVY, cwd: Path = ROOT) -> dict[str, bool]:
    """Run `code` in a fresh interpreter; return which of `modules` it left in sys.modules (its last line of output)."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args, *modules], capture_output=True, text=True, cwd=cwd, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def forest_loaded(tmp_path_factory) -> dict[str, bool]:
    tmp = tmp_path_factory.mktemp("forest")
    return loaded_after(RUN, str(tmp), "random_forest", modules=(*HEAVY, *ENGINES, "matplotlib"))


def test_polars_run_with_lightgbm_loads_lightgbm_but_neither_the_legacy_engine_nor_matplotlib(tmp_path):
    loaded = loaded_after(RUN, str(tmp_path), "lightgbm", modules=("lightgbm", *ENGINES, "matplotlib"))
    assert loaded == {
        "lightgbm": True,
        "walkforward.engine": True,
        "walkforward.legacy.engine": False,
        "matplotlib": False,
    }


def test_polars_run_with_random_forest_loads_sklearn_and_not_lightgbm(forest_loaded):
    assert forest_loaded["sklearn"] and forest_loaded["walkforward.engine"]
    assert not forest_loaded["lightgbm"]
    assert not forest_loaded["walkforward.legacy.engine"] and not forest_loaded["matplotlib"]


def test_importing_the_cli_loads_no_model_library_no_pandas_no_engine():
    code = "import json, sys\nimport cli.main\nprint(json.dumps({m: m in sys.modules for m in sys.argv[1:]}))"
    loaded = loaded_after(code, modules=(*HEAVY, *ENGINES, "matplotlib"))
    assert not any(loaded.values()), loaded


def test_the_legacy_engine_imports_nothing_of_the_polars_path():
    """The oracle shares no code with what it checks (STYLE.md): walkforward/legacy/ imports, of walkforward, only
    itself, the config, the errors and the output schema, and never Polars (its own reading of methodology §7 too),
    but in legacy/custom.py: a custom feature is a Polars expression, which only Polars can evaluate (methodology §2;
    the oracle evaluates it itself, on each asset's own rows)."""
    allowed = (
        "walkforward.legacy",
        "walkforward.config",
        "walkforward.errors",
        "walkforward.outputs",
        "walkforward.timing",
    )
    for path in sorted((ROOT / "walkforward" / "legacy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = (
                    [node.module or ""]
                    if node.module != "walkforward"
                    else [f"walkforward.{a.name}" for a in node.names]
                )
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "polars" or path.name == "custom.py", (path.name, name)
                if name.split(".")[0] == "walkforward":
                    assert name.startswith(allowed), (path.name, name)


def test_wf_help_stays_light():
    code = textwrap.dedent(
        """
        import json, sys
        from cli.main import main
        modules, sys.argv = sys.argv[1:], ["wf", "--help"]
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        print(json.dumps({m: m in sys.modules for m in modules}))
        """
    )
    loaded = loaded_after(code, modules=(*HEAVY, *ENGINES, "matplotlib"))
    assert not any(loaded.values()), loaded


# --- walkforward never writes sys.modules -----------------------------------------------------------------------

# what reading `sys.modules` looks like: `sys.modules.get(name)`, `.keys()`, `.items()`, `.values()`
READERS = {"get", "keys", "items", "values"}


def _reads_only(node: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether this `sys.modules` is read: `sys.modules[name]` (load), `name in sys.modules`, `sys.modules.get(...)`.
    Anything else (assigning, deleting, `.pop`, `.update`, passing it on, binding it to a name) counts as a write."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.Compare) and node in parent.comparators:
        return all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops)
    return isinstance(parent, ast.Attribute) and parent.attr in READERS and isinstance(parents.get(parent), ast.Call)


def sys_modules_writes(source: str) -> list[int]:
    """The lines of `source` that write (or may write) `sys.modules`."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sys_names = {"sys"} | {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "sys" and alias.asname
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "modules" for a in node.names):
            lines.append(node.lineno)  # `from sys import modules`: a second name for it
        is_sys_modules = (
            isinstance(node, ast.Attribute)
            and node.attr == "modules"
            and isinstance(node.value, ast.Name)
            and node.value.id in sys_names
        )
        if is_sys_modules and not _reads_only(node, parents):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize(
    "source",
    [
        'import sys\nsys.modules["sklearn"] = None',
        'import sys\ndel sys.modules["pandas"]',
        'import sys\nsys.modules.pop("pandas", None)',
        "import sys\nsys.modules.update(saved)",
        'import sys as s\ns.modules["x"] = None',
        "import sys\nmods = sys.modules",
        "from sys import modules",
        'import sys\nsys.modules.setdefault("x", m)',
    ],
)
def test_the_sys_modules_checker_finds_writes(source):
    assert sys_modules_writes(source)


def test_the_sys_modules_checker_lets_reads_pass():
    reads = ['a = sys.modules.get("x")', 'b = "x" in sys.modules', 'c = sys.modules["x"]', "d = [*sys.modules.keys()]"]
    source = "\n".join(["import sys", *reads])
    assert sys_modules_writes(source) == []


def test_walkforward_never_writes_sys_modules():
    """A notebook must find every library as it was: no module hidden, replaced or removed (issue 12, item 7: hiding
    scikit-learn while importing LightGBM left `lightgbm.LGBMRegressor` broken for the rest of the process)."""
    files = sorted([*(ROOT / "walkforward").rglob("*.py"), *(ROOT / "cli").rglob("*.py")])
    offenders = {str(p.relative_to(ROOT)): lines for p in files if (lines := sys_modules_writes(p.read_text()))}
    assert offenders == {}, f"writes to sys.modules (read it only): {offenders}"
