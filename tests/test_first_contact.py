"""What a new user meets first: where compiled kernels go, the note while they compile,
``dltool cache``, and a clean exit on SIGTERM.

Every test here runs dltool in a fresh process with its own cache folder (under tmp_path), as a
first run on a new machine would; each pays a first compilation, so the variations of the cache
location are in the slow tier.
"""

import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from clitools import ROOT

PACKAGE = ROOT / "dltool"
DLTOOL = [sys.executable, "-m", "dltool"]


def boxes_csv(path: pathlib.Path, n: int, seed: int = 0) -> pathlib.Path:
    """n boxes over a 2000 x 2000 scene (20,000 are enough for the numba route of nms)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2))
    wh = rng.uniform(10, 200, (n, 2))
    np.savetxt(path, np.column_stack([xy, xy + wh, rng.uniform(size=n)]), delimiter=",",
               header="x1,y1,x2,y2,score", comments="", fmt="%.6f")
    return path


@pytest.fixture(scope="module")
def big_boxes(tmp_path_factory):
    return boxes_csv(tmp_path_factory.mktemp("boxes") / "boxes.csv", 20_000)


def clean_env(tmp_path, **extra):
    """The environment of a user with a home of their own and no numba settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update(extra)
    return env


def dltool(*args, env, cwd=None):
    return subprocess.run(DLTOOL + [str(a) for a in args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=300, stdin=subprocess.DEVNULL)


def index_files(folder: pathlib.Path) -> list:
    return sorted(folder.rglob("*.nbi")) if folder.exists() else []


def test_kernels_cache_in_the_user_cache_never_in_the_package(tmp_path, big_boxes):
    before = index_files(PACKAGE)
    done = dltool("nms", big_boxes, "--indices", env=clean_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert index_files(tmp_path / "home" / ".cache" / "dltool" / "numba")
    assert index_files(PACKAGE) == before == []


@pytest.mark.slow
def test_xdg_cache_home_and_numba_cache_dir_are_honoured(tmp_path, big_boxes):
    env = clean_env(tmp_path, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert dltool("nms", big_boxes, "--indices", env=env).returncode == 0
    assert index_files(tmp_path / "xdg" / "dltool" / "numba")
    env = clean_env(tmp_path, XDG_CACHE_HOME=str(tmp_path / "xdg2"), NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    assert dltool("nms", big_boxes, "--indices", env=env).returncode == 0
    assert index_files(tmp_path / "nb")
    assert not (tmp_path / "xdg2").exists()
    assert not (tmp_path / "home" / ".cache").exists()


def test_no_writable_cache_compiles_in_memory_with_one_note(tmp_path, big_boxes):
    # A path below a regular file can be created by nobody, root included.
    env = clean_env(tmp_path, NUMBA_CACHE_DIR=os.devnull + "/cache")
    done = dltool("nms", big_boxes, "--indices", env=env)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "no writable cache directory" in line]
    assert notes == [f"nms: no writable cache directory (tried {os.devnull}/cache): numba kernels compile "
                     "in memory for this run only - set NUMBA_CACHE_DIR to a writable folder to keep them"]
    kept = done.stdout.split()
    assert kept and all(k.isdigit() for k in kept)
    assert index_files(PACKAGE) == []
    quiet = dltool("nms", big_boxes, "--indices", "-q", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.slow
def test_relative_xdg_cache_home_is_ignored_as_the_spec_says(tmp_path, big_boxes):
    env = clean_env(tmp_path, XDG_CACHE_HOME="relative/cache")
    assert dltool("nms", big_boxes, "--indices", env=env, cwd=tmp_path).returncode == 0
    assert not (tmp_path / "relative").exists()
    assert index_files(tmp_path / "home" / ".cache" / "dltool" / "numba")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux `script` for a pty")
def test_a_first_run_at_a_terminal_says_it_compiles_once(tmp_path, big_boxes):
    env = clean_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "nb"))

    def at_terminal(*args):
        line = shlex.join(DLTOOL + [str(a) for a in args]) + " > /dev/null"
        done = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, env=env,
                              timeout=300, stdin=subprocess.DEVNULL, cwd=ROOT)
        assert done.returncode == 0, done.stdout
        return done.stdout.decode().replace("\r", "").splitlines()

    compiling = "nms: compiling numba kernels, first run only (a few seconds)..."
    first = at_terminal("nms", big_boxes, "--indices")
    assert first.count(compiling) == 1, first
    assert compiling not in at_terminal("nms", big_boxes, "--indices")
    # Off a terminal (a pipe, CI) nothing is said, even on a first run.
    piped = dltool("nms", big_boxes, "--indices", env=clean_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "nb2")))
    assert "compiling" not in piped.stderr


# Every kernel, through the real code paths: after `dltool cache warm` none may compile again.
ALL_KERNELS_JOB = """
import importlib, numpy as np
from dltool.core import jit
from dltool.core.anchors import kmeans_anchors
from dltool.core.gradcheck import check_network, random_network
from dltool.core.iou import box_iou, iou_pairs
from dltool.core.nms import nms, soft_nms
rng = np.random.default_rng(0)
xy = rng.uniform(0, 1000, (40000, 2)); wh = rng.uniform(10, 100, (40000, 2))
b = np.concatenate([xy, xy + wh], axis=1)[:20000]; s = rng.uniform(size=20000)
groups = rng.integers(0, 3, 20000)
nms(b, s, 0.5, groups=groups)
soft_nms(b, s, method='gaussian', groups=groups)
box_iou(b[:1000], b)
iou_pairs(b, b, 0.5)
kmeans_anchors(wh * 3, 9, seed=0, restarts=1)
check_network(random_network([40, 30, 1], 'tanh', 64, 0))
from dltool.core.conv import conv2d, pool2d
A = rng.standard_normal((1, 128, 128, 64))
conv2d(A, rng.standard_normal((3, 3, 64, 128)), pad=1)             # >= 1e9 multiply-adds: im2col
big = rng.standard_normal((1, 512, 512, 64))
conv2d(big, rng.standard_normal((3, 3, 1, 64)), groups=64)         # depthwise >= 1e8: direct, parallel
pool2d(big, 3, stride=1)                                           # >= 1e8 taps: pool, parallel
from dltool.core.detection_eval import coco_evaluate
gi = rng.integers(0, 50, 3000); gc = rng.integers(0, 5, 3000); gb = np.hstack([xy[:3000], wh[:3000]])
di = rng.integers(0, 50, 20000); dc = rng.integers(0, 5, 20000)
coco_evaluate(50, 5, gi, gc, gb, di, dc, np.hstack([xy[:20000], wh[:20000]]), s, use_numba=True)
misses = {}
for name in jit.KERNEL_MODULES:
    module = importlib.import_module(name)
    for attr in dir(module):
        kernel = getattr(module, attr)
        if hasattr(kernel, 'stats') and kernel.signatures:
            misses[name + '.' + attr] = sum(kernel.stats.cache_misses.values())
print(misses)
"""


def test_cache_warm_compiles_every_kernel_the_commands_use(tmp_path):
    env = clean_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    warm = dltool("cache", "warm", env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout == ""
    assert "kernel modules ready" in warm.stderr
    job = subprocess.run([sys.executable, "-c", ALL_KERNELS_JOB], capture_output=True, text=True, env=env,
                         timeout=300, cwd=ROOT)
    assert job.returncode == 0, job.stderr
    misses = eval(job.stdout.strip().splitlines()[-1])  # a dict literal printed by the job
    assert len(misses) >= 8, misses
    assert {k: v for k, v in misses.items() if v} == {}


def test_cache_dir_info_and_purge(tmp_path, big_boxes):
    env = clean_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    folder = dltool("cache", "dir", env=env).stdout.strip()
    assert folder.startswith(str(tmp_path / "nb") + os.sep)
    assert dltool("nms", big_boxes, "--indices", env=env).returncode == 0
    info = json.loads(dltool("cache", "info", "--format", "json", env=env).stdout)
    assert info["folder"] == folder and info["writable"] is True and info["files"] > 0
    assert info["source"] == "NUMBA_CACHE_DIR"
    # Another project's cache in the same NUMBA_CACHE_DIR survives a purge.
    other = tmp_path / "nb" / "someone_else"
    other.mkdir()
    (other / "f.nbi").write_bytes(b"x")
    purged = dltool("cache", "purge", env=env)
    assert purged.returncode == 0 and purged.stderr.startswith(f"cache: removed {info['files']} files")
    assert not pathlib.Path(folder).exists() and (other / "f.nbi").exists()
    assert json.loads(dltool("cache", "info", "--format", "json", env=env).stdout)["files"] == 0


def test_cache_warm_without_a_writable_cache_exits_2(tmp_path):
    done = dltool("cache", "warm", env=clean_env(tmp_path, NUMBA_CACHE_DIR=os.devnull + "/x"))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith("Error: no writable cache directory")


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout  # a bound on waiting, not a measurement
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_writing_leaves_the_old_output_and_no_debris(tmp_path, sig, code):
    boxes = boxes_csv(tmp_path / "a.csv", 12_000)
    out = tmp_path / "m.npy"
    out.write_bytes(b"the good old matrix")
    proc = subprocess.Popen(DLTOOL + ["iou", str(boxes), str(boxes), "-o", str(out), "-q"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # The temporary file appears when writing starts: the 1.2 GB matrix takes a while to write.
    assert wait_for(lambda: list(tmp_path.glob(".m.npy.*.tmp")) or proc.poll() is not None)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert out.read_bytes() == b"the good old matrix"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "m.npy"]


def test_shell_completion_as_the_readme_sets_it_up(tmp_path):
    env = clean_env(tmp_path, _DLTOOL_COMPLETE="bash_source")
    assert "_dltool_completion()" in dltool(env=env).stdout
    env = clean_env(tmp_path, _DLTOOL_COMPLETE="bash_complete", COMP_WORDS="dltool cache p", COMP_CWORD="2")
    assert dltool(env=env).stdout.split() == ["plain,purge"]
    env.update(COMP_WORDS="dltool nms --box-f", COMP_CWORD="2")
    assert dltool(env=env).stdout.split() == ["plain,--box-format"]


def test_every_kernel_module_is_registered_for_cache_warm():
    """A new *_kernels.py must join jit.KERNEL_MODULES (with a warm()), or `dltool cache warm` would
    skip it and its first real run would compile."""
    from dltool.core import jit

    on_disk = sorted(f"dltool.core.{p.stem}" for p in (PACKAGE / "core").glob("*_kernels.py"))
    assert sorted(jit.KERNEL_MODULES) == on_disk
    for name in on_disk:
        source = (PACKAGE / "core" / (name.rsplit(".", 1)[1] + ".py")).read_text()
        assert "\ndef warm() -> None:" in source, name


def test_loading_a_kernel_does_not_import_scipy_and_scipy_still_imports(tmp_path):
    """numba imports scipy (a version check, a BLAS probe: 0.15-0.2 s a run) unless dltool.core.jit
    hides it; no kernel needs it, and a user's later ``import scipy.linalg`` must still work."""
    script = ("import sys\nfrom dltool.core import box_kernels\nbox_kernels.warm()\n"
              "print('scipy' in sys.modules)\n"
              "try:\n    import scipy.linalg\nexcept ImportError:\n    print('no scipy')\n"
              "else:\n    print(scipy.linalg.cython_blas is not None)\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                         check=True).stdout.split()
    assert out[0] == "False" and out[1] in ("True", "no scipy")


def test_only_the_jit_module_imports_numba():
    """Importing numba anywhere else would skip the scipy-free import of dltool.core.jit."""
    offenders = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                 if p.name != "jit.py" and any(line.strip().startswith(("import numba", "from numba"))
                                               for line in p.read_text().splitlines())]
    assert offenders == []
