"""Loading the user's own Python function, ``module:function`` or ``path/to/file.py:function``."""

import contextlib
import importlib
import importlib.util
import os
import sys
import traceback

from dltool.errors import InputError, UserCodeError


def user_traceback(exc: BaseException, skip_file: str) -> str:
    """The traceback of an exception raised in user code, without dltool's own frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.abspath(f.filename) != skip_file and not f.filename.startswith("<frozen importlib")]
    lines = ["Traceback (most recent call last, your code):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(exc), exc)]
    return "".join(lines)


def load_function(spec: str):
    """Import ``module:function`` (the module from the current directory first, as ``python -m``
    would) or ``file.py:function``; return the callable."""
    if ":" not in spec:
        raise InputError(f"expected MODULE:FUNCTION or FILE.py:FUNCTION, got {spec!r} "
                         "(e.g. my_net:forward_backward)")
    target, _, name = spec.rpartition(":")
    if not target or not name.isidentifier():
        raise InputError(f"expected MODULE:FUNCTION or FILE.py:FUNCTION, got {spec!r}")
    try:
        if target.endswith(".py") or os.sep in target:
            if not os.path.isfile(target):
                raise InputError("no such file - check the path", target)
            module_name = "dltool_user_" + os.path.splitext(os.path.basename(target))[0]
            loader_spec = importlib.util.spec_from_file_location(module_name, target)
            module = importlib.util.module_from_spec(loader_spec)
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))  # its own sibling imports
            try:
                with contextlib.redirect_stdout(sys.stderr):  # stdout carries dltool's data only
                    loader_spec.loader.exec_module(module)
            finally:
                sys.path.pop(0)
        else:
            sys.path.insert(0, os.getcwd())
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    module = importlib.import_module(target)
            except ModuleNotFoundError as e:
                if e.name == target.split(".")[0]:
                    raise InputError(f"no module named {target!r} in {os.getcwd()} or on the Python path - "
                                     f"run from its folder or give FILE.py:{name}") from None
                raise
            finally:
                sys.path.pop(0)
    except InputError:
        raise
    except SystemExit as e:  # sys.exit() at import: a check that never ran must not read as a pass
        raise InputError(f"importing it called sys.exit({e.code!r}) - put the module's script part under "
                         "`if __name__ == '__main__':` so that importing it only defines the function",
                         target) from None
    except Exception as e:  # the user's module raised while being imported
        raise UserCodeError(f"importing {target} raised {type(e).__name__}: {e}",
                            user_traceback(e, os.path.abspath(__file__))) from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise InputError(f"{target} has no function {name!r}"
                         + (f" (it defines: {', '.join(n for n in dir(module) if not n.startswith('_'))[:200]})"))
    return fn


def call_user(fn, params, data):
    """Run the user's function and check that it returned (cost, grads) of real numbers; their
    exceptions become UserCodeError with their traceback."""
    try:
        # The user's prints go to stderr: stdout carries dltool's report only (a CI job parses it).
        with contextlib.redirect_stdout(sys.stderr):
            out = fn(params) if data is None else fn(params, data)
    except SystemExit as e:  # an exit inside the function is not a verdict on the gradients
        raise InputError(f"the function called sys.exit({e.code!r}) - it must return (cost, grads), "
                         "not exit") from None
    except Exception as e:
        raise UserCodeError(f"your function raised {type(e).__name__}: {e}",
                            user_traceback(e, os.path.abspath(__file__))) from None
    check_returned(out)
    return out


def check_returned(out) -> None:
    """Refuse a cost or gradients that are not real numbers (strings, complex, ragged lists)."""
    import numpy as np

    if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict)):
        return  # the shape of the answer is the gradient checker's to explain
    cost, grads = out
    for name, value in [("the cost", cost), *((f"grads[{k!r}]", v) for k, v in grads.items())]:
        try:
            kind = np.asarray(value).dtype.kind
        except (ValueError, TypeError):  # a ragged list
            raise InputError(f"{name} is not an array of numbers (rows of different lengths?)") from None
        if kind not in "biuf":
            what = {"c": "complex", "U": "text", "S": "bytes", "O": "Python object"}.get(kind, "non-numeric")
            raise InputError(f"{name} must be real numbers, got {what} values")
