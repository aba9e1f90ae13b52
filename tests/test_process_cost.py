"""What every short run pays besides its work (issue 15): the modules it imports and its teardown.

No clocks here (timings belong to benchmarks/bench_process.py): each test runs the real entry point
in a fresh process and checks, at exit, what it loaded, so that a change that brings back a
known cost fails here instead of showing up as a slower benchmark.
"""

import ast
import subprocess
import sys

import numpy as np
import pytest

# Run dltool's entry point as the console script does; at exit (after sys.exit), print what the
# process imported and whether the collector was frozen.
PROBE = """\
import atexit, gc, sys
def report():
    print(sorted(m for m in {watch!r} if m in sys.modules), gc.get_freeze_count() > 0)
atexit.register(report)
sys.argv = ["dltool", *{args!r}]
from dltool.cli import main
main()
"""

# Modules a CSV-in, CSV/npy-out run of iou or nms needs none of: logging (~3 ms: only numba
# runs write notes, see dltool.notes), numpy.ma (np.median and np.unique
# import it on their first call, ~15 ms), json (~1.5 ms: only JSON input or output needs it),
# numba (0.3-0.5 s: only large inputs), scipy (numba's own import of it is hidden), rich (only at
# a terminal).
NOT_NEEDED = ["json", "logging", "numba", "numpy.ma", "rich", "scipy"]


def probe(args, tmp_path, watch=NOT_NEEDED):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(watch=watch, args=[str(a) for a in args])],
                          capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=300)
    loaded, frozen = proc.stdout.strip().rsplit(" ", 1)
    return proc.returncode, ast.literal_eval(loaded), frozen == "True", proc.stderr


def spread_csv(path, n, seed=0, side=2000.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, side, (n, 2))
    wh = rng.uniform(10, 100, (n, 2))
    np.savetxt(path, np.column_stack([xy, xy + wh, rng.uniform(size=n)]), delimiter=",",
               header="x1,y1,x2,y2,score", comments="", fmt="%.4f")
    return path


@pytest.mark.parametrize("side", [300.0, 3000.0])  # the matrix computed pair by pair, and filled
def test_iou_matrix_run_imports_nothing_it_does_not_need(tmp_path, side):
    a, b = spread_csv(tmp_path / "a.csv", 1000, 0, side), spread_csv(tmp_path / "b.csv", 800, 1, side)
    code, loaded, frozen, err = probe(["iou", a, b, "-o", tmp_path / "m.npy"], tmp_path)
    assert code == 0, err
    assert loaded == [] and frozen
    assert np.load(tmp_path / "m.npy").shape == (1000, 800)


def test_sparse_iou_and_nms_runs_import_nothing_they_do_not_need(tmp_path):
    a, b = spread_csv(tmp_path / "a.csv", 3000, 0), spread_csv(tmp_path / "b.csv", 3000, 1)
    code, loaded, frozen, err = probe(["iou", a, b, "--min-iou", "0.1", "-o", tmp_path / "p.csv"], tmp_path)
    assert (code, loaded, frozen) == (0, [], True), err
    code, loaded, frozen, err = probe(["nms", a, "-o", tmp_path / "kept.csv"], tmp_path)
    assert (code, loaded, frozen) == (0, [], True), err


def test_a_failed_run_keeps_its_exit_code_and_message(tmp_path):
    """The entry point returns the command's exit code through sys.exit as before."""
    (tmp_path / "bad.csv").write_text("x1,y1,x2,y2\n0,0,1\n")
    code, _, frozen, err = probe(["iou", tmp_path / "bad.csv"], tmp_path)
    assert code == 2 and frozen
    assert err.startswith("Error: ") and "bad.csv:2" in err and "Traceback" not in err


def test_json_output_still_loads_json(tmp_path):
    a = spread_csv(tmp_path / "a.csv", 50)
    code, loaded, _, err = probe(["iou", a, "--min-iou", "0.1", "--format", "json", "-o", tmp_path / "p.json"],
                                 tmp_path, watch=["json"])
    assert (code, loaded) == (0, ["json"]), err


def test_anchors_run_on_a_wh_csv_imports_no_label_parsers(tmp_path):
    """The label readers for VOC (an XML parser, ~3 ms) and COCO (json) load with their formats."""
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "wh.csv", rng.lognormal(3.5, 0.8, (2000, 2)), delimiter=",", header="w,h",
               comments="", fmt="%.2f")
    code, loaded, frozen, err = probe(["anchors-kmeans", tmp_path / "wh.csv", "-k", "5", "--restarts", "1",
                                       "-o", tmp_path / "anchors.csv"], tmp_path,
                                      watch=NOT_NEEDED + ["xml.etree.ElementTree"])
    assert (code, loaded, frozen) == (0, [], True), err
