"""Every reader, driven by hypothesis: damaged copies of valid files and arbitrary arrays.

The property is the CLI's contract for input it cannot use: exit 0 (the input was still valid) or
exit 2 with one ``Error:`` line, never a traceback and never exit 3. Each reader runs a few dozen
examples in the fast tier and 500 in the slow one (``python -m pytest -m slow``).
"""

import io
import shutil
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clitools import SAMPLES, run

QUICK, SLOW = 25, 500

SEEDS = {
    "box csv": (b"x1,y1,x2,y2,score,class,image\n0,0,10,10,0.9,car,a\n1,1,11,12,0.8,car,a\n"
                b"5,5,20,30,0.7,person,b\n", "boxes.csv"),
    "box tsv": (b"x\ty\tw\th\tscore\n0\t0\t10\t10\t0.9\n1\t1\t10\t11\t0.8\n", "boxes.tsv"),
    "coco results": (b'[{"image_id": 1, "category_id": 3, "bbox": [10, 20, 30, 40], "score": 0.9},'
                     b' {"image_id": 1, "category_id": 3, "bbox": [12, 22, 30, 40], "score": 0.8}]', "r.json"),
    "coco instances": (b'{"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],'
                       b' "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 60],'
                       b' "area": 3000, "iscrowd": 0}, {"id": 2, "image_id": 1, "category_id": 1,'
                       b' "bbox": [10, 10, 20, 30], "area": 600, "iscrowd": 0}],'
                       b' "categories": [{"id": 1, "name": "a"}]}', "inst.json"),
    "w,h csv": (b"w,h\n10,20\n30,40\n50,60\n15,25\n", "wh.csv"),
    "dataset csv": ((SAMPLES / "flowers.csv").read_bytes()[:600], "data.csv"),
    "conv spec": (b"32x32x3 | conv f=5 c=6 | pool f=2 s=2 | conv f=5 c=16 p=same | fc 120 | softmax 10",
                  "net.spec"),
    "yolo labels": (b"0 0.5 0.5 0.2 0.3\n1 0.25 0.75 0.1 0.1\n", "a.txt"),
    "voc xml": ((SAMPLES.parent / "tests" / "data" / "labels" / "voc" / "Annotations" / "000001.xml").read_bytes(),
                "000001.xml"),
    "image": ((SAMPLES / "textures" / "bricks.png").read_bytes()[:4000], "img.png"),
}


def command_for(reader: str, path, tmp):
    """The dltool call that reads ``path`` with ``reader``."""
    if reader in ("box csv", "box tsv", "coco results"):
        return ["nms", path, "-q"]
    if reader in ("coco instances", "w,h csv"):
        return ["anchors-kmeans", path, "-k", "2", "--restarts", "1", "-q"]
    if reader == "dataset csv":
        return ["train-logreg", path, "--epochs", "2", "-q", "--format", "json"]
    if reader == "conv spec":
        return ["conv-shape", path, "-q"]
    if reader == "yolo labels":
        folder = tmp / "labels"
        folder.mkdir(exist_ok=True)
        shutil.move(str(path), folder / path.name)
        return ["anchors-kmeans", folder, "--assume-square", "--img-size", "640", "-k", "1", "-q"]
    if reader == "voc xml":
        folder = tmp / "Annotations"
        folder.mkdir(exist_ok=True)
        shutil.move(str(path), folder / path.name)
        return ["anchors-kmeans", folder, "--input-format", "voc", "-k", "1", "-q"]
    if reader == "image":
        return ["gram-style", path, "--size", "16", "--filters", "2", "-q"]
    raise KeyError(reader)


@st.composite
def damaged(draw, seed: bytes):
    """A valid file with a few edits: bytes replaced, cut out, inserted, or the file truncated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b",", b"\n", b"\t", b'"', b"-", b"nan", b"1e999", b"9" * 400,
                                                b"\x00", b"\xff", b"[", b"}", b" ", b"0"]))
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 40))]
    return bytes(data)


def fuzz_settings(examples: int):
    """Deterministic examples (the same in every run, so CI never flakes), no example database."""
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_contract(result):
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.stderr


def fuzz_text_reader(reader: str, examples: int, tmp_path_factory):
    seed, name = SEEDS[reader]

    @fuzz_settings(examples)
    @given(data=st.one_of(damaged(seed), st.binary(max_size=300)))
    def check(data):
        tmp = tmp_path_factory.mktemp("fuzz")
        path = tmp / name
        path.write_bytes(data)
        assert_contract(run(*command_for(reader, path, tmp)))

    check()


@pytest.mark.parametrize("reader", list(SEEDS))
def test_damaged_files_exit_0_or_2(reader, tmp_path_factory):
    fuzz_text_reader(reader, QUICK, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(SEEDS))
def test_damaged_files_exit_0_or_2_many(reader, tmp_path_factory):
    fuzz_text_reader(reader, SLOW, tmp_path_factory)


# ---------------------------------------------------------------- arrays: .npy, .npz


DTYPES = st.sampled_from(["f8", "f4", "i8", "u1", "?", "c16", "m8[s]", "M8[D]", "U3", "f2"])
@st.composite
def arrays(draw):
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    return draw(hnp.arrays(dtype, shape))  # floats include NaN, inf and extremes by default


def npz_bytes(arrays_by_name) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays_by_name)
    return buffer.getvalue()


ARRAY_READERS = {
    # reader: (file name, names of the arrays in the file or None for .npy, the call)
    "box npy": ("b.npy", None, lambda p: ["nms", p, "-q"]),
    "dataset npz": ("d.npz", ("X", "y"), lambda p: ["train-logreg", p, "--epochs", "2", "-q", "--format", "json"]),
    "model npz": ("m.npz", ("W", "b", "classes", "mean", "std", "options"),
                  lambda p: ["predict", p, SAMPLES / "flowers.csv", "-q"]),
    "params npz": ("p.npz", ("W1", "b1", "W2", "b2"),
                   lambda p: ["gradcheck", "--params", p, "--data", SAMPLES / "gradcheck" / "data.npz", "-q"]),
    "gram activations": ("s.npy", None, lambda p: ["gram-style", "--style-activations", p,
                                                   "--generated-activations", p, "-q"]),
}


def fuzz_array_reader(reader: str, examples: int, tmp_path_factory):
    name, keys, call = ARRAY_READERS[reader]

    @fuzz_settings(examples)
    @given(data=st.data())
    def check(data):
        tmp = tmp_path_factory.mktemp("fuzz")
        path = tmp / name
        if keys is None:
            buffer = io.BytesIO()
            np.save(buffer, data.draw(arrays()))
            payload = buffer.getvalue()
        else:
            chosen = data.draw(st.lists(st.sampled_from(keys), unique=True, min_size=0, max_size=len(keys)))
            payload = npz_bytes({k: data.draw(arrays()) for k in chosen})
        if data.draw(st.booleans()):
            payload = data.draw(damaged(payload))
        path.write_bytes(payload)
        assert_contract(run(*call(path)))

    check()


@pytest.mark.parametrize("reader", list(ARRAY_READERS))
def test_arbitrary_arrays_exit_0_or_2(reader, tmp_path_factory):
    fuzz_array_reader(reader, QUICK, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(ARRAY_READERS))
def test_arbitrary_arrays_exit_0_or_2_many(reader, tmp_path_factory):
    fuzz_array_reader(reader, SLOW, tmp_path_factory)


def test_a_zip_that_is_not_an_npz_exits_2(tmp_path):
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", b"not an array")
    assert_contract(run("train-logreg", path, "-q"))
