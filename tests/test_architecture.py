"""The layout rules of docs/CONVENTIONS.md, and the start-up promises of docs/SPEC.md §2 (speed)."""

import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dltool"


def imported_modules(path: pathlib.Path, top_level_only: bool = False) -> set:
    """Names of the modules a source file imports (optionally only at module level)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules_in(layer: str):
    return sorted((PACKAGE / layer).glob("*.py"))


def starts(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", modules_in("core"), ids=lambda p: p.name)
def test_core_imports_no_cli_io_or_presentation(path):
    bad = {m for m in imported_modules(path) if starts(m, ("click", "rich", "PIL", "dltool.cli", "dltool.io"))}
    assert not bad, f"{path.name} imports {bad}: core is numpy + numba only"


@pytest.mark.parametrize("path", modules_in("core"), ids=lambda p: p.name)
def test_only_kernel_modules_import_numba_at_top_level(path):
    top = imported_modules(path, top_level_only=True)
    if path.name.endswith("_kernels.py"):
        return
    assert not any(starts(m, ("numba",)) for m in top), f"{path.name} imports numba at module level"


@pytest.mark.parametrize("path", modules_in("io"), ids=lambda p: p.name)
def test_io_imports_no_cli_or_numba(path):
    bad = {m for m in imported_modules(path) if starts(m, ("numba", "click", "rich", "dltool.cli"))}
    assert not bad, f"{path.name} imports {bad}"


def test_no_command_imports_another():
    """Shared code lives in io/, core/ or the CLI's shared modules (options, output, progress)."""
    from dltool.cli import COMMANDS

    commands = set(COMMANDS.values())
    for module in sorted(commands):
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        others = imported_modules(path) & (commands - {module})
        assert not others, f"{path.name} imports the command module(s) {others}"


def run_python(code: str, env=None) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=600, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_help_of_every_command_does_not_import_numba():
    out = run_python(
        "import sys, json\n"
        "from dltool.cli import cli, COMMANDS\n"
        "for args in [['--help']] + [[name, '--help'] for name in COMMANDS]:\n"
        "    assert cli.main(args, standalone_mode=False) == 0\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba', 'rich', 'PIL'))))\n")
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_small_nms_job_does_not_import_numba(tmp_path):
    out = run_python(
        "import sys\n"
        "from dltool.cli import cli\n"
        f"code = cli.main(['nms', 'samples/detections.csv', '-q', '-o', {str(tmp_path / 'kept.csv')!r}],"
        " standalone_mode=False)\n"
        "print(code, 'numba' in sys.modules)\n")
    assert out.split() == ["0", "False"]


KERNEL_JOB = (
    "import numpy as np\n"
    "from dltool.core import box_kernels\n"
    "from dltool.core.iou import box_iou, iou_pairs\n"
    "from dltool.core.nms import nms, soft_nms\n"
    "rng = np.random.default_rng(0)\n"
    "xy = rng.uniform(0, 1000, (40000, 2)); wh = rng.uniform(10, 100, (40000, 2))\n"
    "b = np.concatenate([xy, xy + wh], axis=1)[:20000]; s = rng.uniform(size=20000)\n"
    "groups = rng.integers(0, 3, 20000)\n"
    "keep = nms(b, s, 0.5, groups=groups)\n"
    "soft_nms(b, s, method='gaussian', groups=groups)\n"
    "m = box_iou(b[:1000], b)\n"
    "iou_pairs(b, b, 0.5)\n"
    "from dltool.core import anchor_kernels\n"
    "from dltool.core.anchors import kmeans_anchors\n"
    "anchors = kmeans_anchors(wh * 3, 9, seed=0, restarts=1).anchors\n"
    "kernels = (box_kernels.nms_segments, box_kernels.soft_nms_segments, box_kernels.iou_rows,\n"
    "    box_kernels.overlap_rows, anchor_kernels.assign_rows,\n"
    "    anchor_kernels.min_distance_rows)\n"
    "misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)\n"
    "print(misses, len(keep), repr(float(m.sum())), repr(anchors.tolist()))\n"
)


def test_numba_kernels_are_cached_and_survive_a_thread_count_change():
    # Same results with one thread: the anchor kernels leave every sum to numpy, so even the
    # k-means path (which compares average IoUs to accept a step) is thread-count independent.
    first = run_python(KERNEL_JOB).split()  # compiles (or loads) and caches
    second = run_python(KERNEL_JOB).split()
    assert second[0] == "0", "the second process recompiled a kernel instead of loading the cache"
    single = run_python(KERNEL_JOB, env={"NUMBA_NUM_THREADS": "1"}).split()
    assert single[0] == "0"
    assert first[1:] == second[1:] == single[1:]


def test_conv_shape_without_run_does_not_import_numba():
    out = run_python(
        "import sys\n"
        "from dltool.cli import cli\n"
        "for preset in ('vgg16', 'resnet18', 'inception-3a'):\n"
        "    assert cli.main(['conv-shape', '--preset', preset, '--format', 'json', '-q'],"
        " standalone_mode=False) == 0\n"
        "print('numba' in sys.modules)\n")
    assert out.strip().splitlines()[-1] == "False"
