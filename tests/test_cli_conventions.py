"""docs/SPEC.md §2 conventions, for every box command: bad input, empty input, usage errors, exit codes,
``-o`` atomicity, ``-q``, ``--help``, ``--version``, internal errors, interrupts, terminals on stdin,
broken pipes, and a ``--help`` that does not import numba.

In-process with click's CliRunner wherever that can see the behaviour; a few subprocesses where it
cannot (a real pty, a real pipe closed by ``head``, a fresh interpreter's imports).
"""

import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dltool
from dltool.cli import COMMANDS, cli
from clitools import DATA, ROOT, SAMPLES, examples, help_text, option_docs, run

BOX_COMMANDS = ["nms", "iou"]
GOOD = {"nms": DATA / "dets.csv", "iou": DATA / "dets.csv"}


def assert_one_error_line(result, starts_with, *contains, code=2):
    """Exit ``code``, nothing on stdout, one ``Error: ...`` line on stderr, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: " + starts_with), lines[0]
    for text in contains:
        assert text in lines[0], (text, lines[0])
    assert "Traceback" not in result.stderr


def temp_leftovers(folder: pathlib.Path):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ bad input: exit 2, one line

# (file, extra options, where the message points, what it must mention)
BAD_INPUTS = [
    ("bad_few_fields.csv", [], ":3: ", ["expected 5 fields", "got 3"]),
    ("bad_not_number.csv", [], ":3: ", ["'y1'", "'abc'"]),
    ("bad_nan.csv", [], ":3: ", ["'x1'", "finite", "'nan'"]),
    ("bad_inf.csv", [], ":3: ", ["'x2'", "finite", "'inf'"]),
    ("bad_inverted.csv", [], ":3: ", ["x2 < x1", "--box-format xywh"]),
    ("bad_negative_wh.csv", ["--box-format", "xywh"], ":3: ", ["negative width or height"]),
    ("xywh_columns.csv", [], ":1: ", ["missing column(s) x1,y1,x2,y2", "--box-format xywh"]),
    ("dets_cxcywh.csv", [], ":1: ", ["missing column(s)", "--box-format cxcywh"]),
    ("dets.csv", ["--box-format", "xywh"], ":1: ", ["missing column(s) x,y,w,h", "--box-format xyxy"]),
    ("dets_xywh.csv", ["--box-format", "cxcywh"], ":1: ", ["missing column(s) cx,cy", "--box-format xywh"]),
    ("bad_no_header.csv", [], ":1: ", ["header"]),
    ("bad_duplicate_column.csv", [], ":1: ", ["'x1'", "twice"]),
    ("bad_invalid.json", [], ":3: ", ["invalid JSON"]),
    ("bad_bbox.json", [], ": item 1: ", ['"bbox"', "[0, 0, 2]"]),
    ("bad_bbox_nan.json", [], ": item 1: ", ['"bbox"', "finite"]),
    ("bad_bbox_negative.json", [], ": item 1: ", ["negative width or height"]),
    ("bad_not_a_list.json", [], ": ", ["COCO"]),
    ("bad_latin1.csv", [], ":3: ", ["UTF-8"]),
    ("bad_corrupt.npy", [], ": ", [".npy"]),
    ("bad_shape.npy", [], ": ", ["(N, 4)", "(2, 3)"]),
    ("does_not_exist.csv", [], ": ", ["no such file"]),
]


@pytest.mark.parametrize("command", BOX_COMMANDS)
@pytest.mark.parametrize("name, options, where, mentions", BAD_INPUTS, ids=[b[0] + "".join(b[1]) for b in BAD_INPUTS])
def test_bad_input_is_one_error_line(command, name, options, where, mentions):
    path = DATA / name
    result = run(command, path, *options)
    assert_one_error_line(result, f"{path}{where}", *mentions)


@pytest.mark.parametrize("name, options, where, mentions", BAD_INPUTS[:8], ids=[b[0] for b in BAD_INPUTS[:8]])
def test_bad_input_as_iou_b_names_that_file(name, options, where, mentions):
    path = DATA / name
    good = DATA / {"xyxy": "dets.csv", "xywh": "dets_xywh.csv"}[options[1] if options else "xyxy"]
    result = run("iou", good, path, *options)
    assert_one_error_line(result, f"{path}{where}", *mentions)


@pytest.mark.parametrize("command", BOX_COMMANDS)
@pytest.mark.parametrize("name, where", [("bad_few_fields.csv", ":3: "), ("bad_invalid.json", ":3: "),
                                         ("bad_bbox.json", ": item 1: "), ("bad_latin1.csv", ":3: ")])
def test_bad_input_on_stdin_is_named_stdin(command, name, where):
    result = run(command, "-", input=(DATA / name).read_bytes())
    assert_one_error_line(result, f"<stdin>{where}")


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_a_directory_is_not_a_file(command, tmp_path):
    assert_one_error_line(run(command, tmp_path), f"{tmp_path}: ", "directory")


def test_nms_needs_a_score_column():
    path = DATA / "no_score.csv"
    assert_one_error_line(run("nms", path), f"{path}: ", "score")


def test_nms_npy_without_scores():
    path = DATA / "boxes4.npy"
    assert_one_error_line(run("nms", path), f"{path}: ", "(N, 5)")
    result = run("iou", path, "-q")  # iou does not need them
    assert (result.exit_code, result.stdout) == (0, f"a,0,1\n0,1.0,{81 / 119!r}\n1,{81 / 119!r},1.0\n")


def test_iou_does_not_need_a_score_column():
    result = run("iou", DATA / "no_score.csv", "-q")
    assert result.exit_code == 0
    assert result.stdout == "a,0,1\n0,1.0,0.14285714285714285\n1,0.14285714285714285,1.0\n"


# ------------------------------------------------------------------ empty input: empty output, exit 0


def test_nms_header_only():
    result = run("nms", DATA / "header_only.csv", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "image,class,x1,y1,x2,y2,score,model\n", "")
    result = run("nms", DATA / "header_only.csv", "--format", "json", "-q")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    result = run("nms", DATA / "header_only.csv", "--indices", "-q")
    assert (result.exit_code, result.stdout) == (0, "")


def test_iou_header_only():
    result = run("iou", DATA / "header_only.csv", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "a\n", "")
    result = run("iou", DATA / "header_only.csv", "--format", "json", "-q")
    assert (result.exit_code, result.stdout) == (0, '{"metric": "iou", "shape": [0, 0], "matrix": []}\n')
    result = run("iou", DATA / "header_only.csv", "--min-iou", "0.5", "-q")
    assert (result.exit_code, result.stdout) == (0, "a,b,iou\n")
    result = run("iou", DATA / "a.csv", DATA / "header_only.csv", "-q")
    assert (result.exit_code, result.stdout) == (0, "a\n0\n1\n2\n")


def test_iou_empty_file():
    result = run("iou", DATA / "empty.csv", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "a\n", "")
    result = run("iou", DATA / "empty.json", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "a\n", "")


def test_nms_empty_file():
    # A 0-byte file is an empty box set: nothing to rank, nothing kept (not "no score column").
    result = run("nms", DATA / "empty.csv", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "" or (result.stdout.count("\n") == 1 and result.stdout.startswith("x1,y1,x2,y2"))


def test_nms_empty_stdin():
    result = run("nms", "-", "-q", input=b"")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" or (result.stdout.count("\n") == 1 and result.stdout.startswith("x1,y1,x2,y2"))


def test_nms_empty_coco_list():
    # `[]` is a valid, empty COCO results file: nms of it is `[]`.
    result = run("nms", DATA / "empty.json", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[]\n", "")


# ------------------------------------------------------------------ usage errors: exit 2

USAGE_ERRORS = [
    ["nms", GOOD["nms"], "--bogus"],
    ["iou", GOOD["iou"], "--bogus"],
    ["nms", GOOD["nms"], "--iou-threshold", "2"],
    ["nms", GOOD["nms"], "--iou-threshold", "-0.1"],
    ["nms", GOOD["nms"], "--max-detections", "0"],
    ["nms", GOOD["nms"], "--method", "soft"],
    ["nms", GOOD["nms"], "--sigma", "0"],
    ["nms", GOOD["nms"], "--score-threshold", "high"],
    ["iou", GOOD["iou"], "--metric", "dice"],
    ["iou", GOOD["iou"], "--min-iou", "abc"],
    ["nms", GOOD["nms"], "--format", "xml"],
    ["iou", GOOD["iou"], "--box-format", "yolo"],
    ["iou", GOOD["iou"], GOOD["iou"], "extra.csv"],
    ["frobnicate"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: " ".join(str(x) for x in a[:1] + a[2:]))
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ stdin is a terminal


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("args", [["nms"], ["nms", "-"], ["iou"], ["iou", "-"], ["iou", str(DATA / "a.csv"), "-"]])
def test_stdin_terminal_is_refused_not_waited_on(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", _Terminal())
    code = cli.main(args, standalone_mode=False)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: <stdin>: standard input is a terminal")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux `script` for a pty")
@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_stdin_terminal_in_a_real_pty(command):
    line = f"{shlex.quote(sys.executable)} -m dltool {command}"
    result = subprocess.run(["script", "-qec", line, "/dev/null"], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    text = result.stdout.decode().replace("\r", "")
    assert text.splitlines() == [
        "Error: <stdin>: standard input is a terminal: give a file, or pipe data in "
        "(e.g. `cat boxes.csv | dltool iou -`)"]


# ------------------------------------------------------------------ -o: atomic, never clobbers


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_failed_run_leaves_existing_output_untouched(command, tmp_path):
    existing = tmp_path / "existing.csv"
    existing.write_bytes(b"precious,data\r\n1,2\n")
    result = run(command, DATA / "bad_few_fields.csv", "-o", existing)
    assert_one_error_line(result, f"{DATA / 'bad_few_fields.csv'}:3: ")
    assert existing.read_bytes() == b"precious,data\r\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]


def _write_half_then(exc):
    def fake(stream, *args, **kwargs):
        stream.write("partial,row\n")
        stream.flush()
        raise exc
    return fake


@pytest.mark.parametrize("command", BOX_COMMANDS)
@pytest.mark.parametrize("exc, code", [(RuntimeError("disk on fire"), 3), (KeyboardInterrupt(), 130)])
def test_run_failing_while_writing_leaves_no_partial_file(command, exc, code, tmp_path, monkeypatch):
    module = "dltool.cli.output" if command == "nms" else "dltool.cli.iou"
    monkeypatch.setattr(f"{module}.write_delimited", _write_half_then(exc))
    existing = tmp_path / "existing.csv"
    existing.write_bytes(b"precious\n")
    result = run(command, GOOD[command], "-o", existing, "-q")
    assert result.exit_code == code, result.stderr
    assert existing.read_bytes() == b"precious\n"
    assert temp_leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]
    # and a new name is not created at all
    result = run(command, GOOD[command], "-o", tmp_path / "new.csv", "-q")
    assert result.exit_code == code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_successful_run_replaces_the_output_file(command, tmp_path):
    existing = tmp_path / "existing.csv"
    existing.write_bytes(b"old\n")
    result = run(command, GOOD[command], "-o", existing, "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert existing.read_text() == run(command, GOOD[command], "--format", "csv", "-q").stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]
    mode = existing.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # like a plain open(), not mkstemp's 0600


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_output_into_a_missing_directory(command, tmp_path):
    target = tmp_path / "no" / "such" / "out.csv"
    result = run(command, GOOD[command], "-o", target, "-q")
    assert_one_error_line(result, f"{target}: ", "directory")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_output_onto_a_directory(command, tmp_path):
    result = run(command, GOOD[command], "-o", tmp_path, "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------ -q


@pytest.mark.parametrize("command", BOX_COMMANDS)
@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_quiet_silences_stderr_on_success(command, flag):
    loud = run(command, GOOD[command])
    assert loud.exit_code == 0 and loud.stderr != ""
    quiet = run(command, GOOD[command], flag)
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    assert quiet.stdout == loud.stdout


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_quiet_does_not_silence_errors(command):
    result = run(command, DATA / "bad_nan.csv", "-q")
    assert_one_error_line(result, f"{DATA / 'bad_nan.csv'}:3: ")


# ------------------------------------------------------------------ --help, --version


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_help_has_a_summary_line(command):
    text = help_text(command)
    assert text.startswith(f"Usage: dltool {command} ")
    summary = text.splitlines()[2].strip()
    assert len(summary) > 20
    short = run("--help").stdout
    assert re.search(rf"^\s+{command}\s+\S", short, re.M)


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_help_documents_every_option_and_its_default(command):
    docs = option_docs(command)
    for name, (param, doc) in docs.items():
        if param.is_flag or param.default is None:
            continue
        assert "[default:" in doc, f"{name} does not show its default: {doc!r}"
    # options without a value default still say what happens when they are left out
    for name in {"nms": ["score_threshold", "max_detections", "output", "image_id"], "iou": []}[command]:
        assert "default" in docs[name][1].lower(), name


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_help_examples_use_samples_that_exist(command):
    lines = examples(help_text(command))
    assert lines, "no Examples section"
    for line in lines:
        assert line.startswith("dltool ")
        paths = re.findall(r"samples/[\w./-]+", line)
        assert paths, line
        for p in paths:
            assert (ROOT / p).is_file(), p


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_help_examples_run(command, tmp_path, monkeypatch):
    """Every example line runs (pipes chained in-process, `> file` captured) and exits 0."""
    (tmp_path / "samples").symlink_to(SAMPLES)
    monkeypatch.chdir(tmp_path)
    for line in examples(help_text(command)):
        words = shlex.split(line)
        redirect = None
        if ">" in words:
            redirect = words[words.index(">") + 1]
            words = words[:words.index(">")]
        stdin = None
        stages = " ".join(words).split(" | ")
        for stage in stages:
            argv = shlex.split(stage)
            assert argv[0] == "dltool"
            result = run(*argv[1:], input=stdin)
            assert result.exit_code == 0, (line, result.stderr)
            stdin = result.stdout.encode()
        if redirect:
            (tmp_path / redirect).write_bytes(stdin)
        assert stdin, line


def test_version():
    result = run("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"dltool, version {dltool.__version__}\n", "")


def test_top_level_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M)
    assert "--traceback" in result.stdout


# ------------------------------------------------------------------ internal errors and interrupts

PATCH_POINTS = {"nms": "dltool.core.nms.select_detections", "iou": "dltool.core.iou.box_iou"}


def _raise(exc):
    def boom(*args, **kwargs):
        raise exc
    return boom


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_internal_error_is_exit_3_and_one_line(command, monkeypatch):
    monkeypatch.setattr(PATCH_POINTS[command], _raise(RuntimeError("kernel exploded")))
    result = run(command, GOOD[command], "-q")
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: internal error: RuntimeError: kernel exploded")
    assert "--traceback" in lines[0]
    assert "Traceback (most recent call last)" not in result.stderr


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_traceback_flag_shows_where(command, monkeypatch):
    monkeypatch.setattr(PATCH_POINTS[command], _raise(RuntimeError("kernel exploded")))
    result = run("--traceback", command, GOOD[command], "-q")
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: kernel exploded" in result.stderr
    assert f"dltool/cli/{command}.py" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: internal error: RuntimeError: kernel exploded")


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_keyboard_interrupt_is_exit_130(command, monkeypatch):
    monkeypatch.setattr(PATCH_POINTS[command], _raise(KeyboardInterrupt()))
    result = run(command, GOOD[command], "-q")
    assert result.exit_code == 130
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1


# ------------------------------------------------------------------ subprocesses: pipes, start-up


def _big_box_file(path: pathlib.Path, n: int) -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (n, 2))
    wh = rng.uniform(1, 20, (n, 2))
    s = rng.uniform(0, 1, n)
    with open(path, "w") as f:
        f.write("x1,y1,x2,y2,score\n")
        for (x, y), (w, h), score in zip(xy, wh, s):
            f.write(f"{x:.3f},{y:.3f},{x + w:.3f},{y + h:.3f},{score:.4f}\n")


@pytest.mark.parametrize("command, n", [("iou", 900), ("nms", 2500)])
def test_broken_pipe_exits_0_quietly(command, n, tmp_path):
    """`dltool ... | head -1`: output far larger than the pipe buffer, the reader leaves early."""
    big = tmp_path / "big.csv"
    _big_box_file(big, n)
    producer = subprocess.Popen([sys.executable, "-m", "dltool", command, str(big), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    head = subprocess.Popen(["head", "-1"], stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()
    first, _ = head.communicate(timeout=120)
    err = producer.stderr.read()
    producer.stderr.close()
    code = producer.wait(timeout=120)
    assert first.decode().startswith("a,0,1,2," if command == "iou" else "x1,y1,x2,y2,score")
    assert err == b""
    assert code == 0


def test_python_m_dltool_help_does_not_import_numba():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "dltool", "--help"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: dltool ")
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "dltool.cli" in imported
    assert not [m for m in imported if m == "numba" or m.startswith("numba.")]


def test_cli_main_help_leaves_numba_unimported():
    code = ("import sys\n"
            "from dltool.cli import main\n"
            "sys.argv = ['dltool', '--help']\n"
            "try:\n"
            "    main()\n"
            "except SystemExit as e:\n"
            "    print('exit', e.code)\n"
            "print('numba' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.stdout.splitlines()[-2:] == ["exit 0", "False"]


# ------------------------------------------------------------------ --format auto follows stdout.isatty()


class _TerminalOut(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("command, marker", [("nms", "other class"), ("iou", "a \\ b")])
def test_auto_format_is_a_table_on_a_terminal(command, marker, monkeypatch, capsys):
    terminal = _TerminalOut()
    monkeypatch.setattr(sys, "stdout", terminal)
    code = cli.main([command, str(GOOD[command]), "-q"], standalone_mode=False)
    assert code == 0
    text = terminal.getvalue()
    assert marker in text
    assert "a,cat,0,0,10,10" not in text and "a,0,1," not in text  # not CSV
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", BOX_COMMANDS)
def test_auto_format_ignores_force_color(command, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    result = run(command, GOOD[command], "-q")
    assert result.exit_code == 0
    assert result.stdout == run(command, GOOD[command], "--format", "csv", "-q").stdout
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize("command, marker", [("nms", "other class"), ("iou", "a \\ b")])
def test_format_table_on_request(command, marker):
    result = run(command, GOOD[command], "--format", "table", "-q")
    assert result.exit_code == 0
    assert marker in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes into a pipe


# map is beyond the course; gram-style names C4W4 in its summary line.
@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"cache", "map", "gram-style"}))
def test_help_names_the_course_section(command):
    """Each course tool says where in the course it comes from, on one line of its docstring."""
    module = __import__(COMMANDS[command], fromlist=["command"])
    lines = [line.strip() for line in module.command.help.splitlines()]
    assert sum(line.startswith("Course: C") for line in lines) == 1, command
