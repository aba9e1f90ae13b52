"""Conv-net arithmetic without a framework: the course's paper exercise (C4W1–W2).

A spec names the input shape and the layers, ``"32x32x3 | conv f=5 c=6 | pool f=2 s=2 | fc 120"``;
:func:`parse_spec` reads it into a :class:`Network` and :func:`analyze` gives one :class:`Layer` row
per layer with its output shape, parameters, multiply-adds, receptive field, notes and the
arithmetic behind every number (``explain``). Pure Python: no numpy, no numba.

The arithmetic, per spatial axis of size n:

- output ``⌊(n + 2p − f_eff)/s⌋ + 1`` with ``f_eff = d·(f − 1) + 1``; pool ``ceil=1`` rounds up
  instead, but (PyTorch's rule) the last window must start inside the input or its left padding.
- ``p=same`` follows TensorFlow: output ``⌈n/s⌉``, total padding ``max((out − 1)·s + f_eff − n, 0)``,
  the odd pixel at the bottom/right. ``p=valid`` is ``p=0``. (These rules are
  :mod:`dltool.core.padding`'s, which the convolution kernels of ``--run`` use too.)
- receptive field ``rf_out = rf_in + (f_eff − 1)·jump_in`` and ``jump_out = jump_in·s``, from
  ``rf = jump = 1`` at the input. A fully connected layer or a global pool sees the whole input:
  its ``rf`` and ``jump`` are None. A block takes the largest rf of its branches; their jumps must
  agree.

What is counted:

- ``params`` = weights + biases, PyTorch's count: a conv has ``f·f·(n_C_prev/g)·n_C`` weights and
  ``n_C`` biases (``bias=0``: none); an fc layer ``n_in·n_out`` and ``n_out``; batch norm ``γ, β``
  (2 per channel), its running mean and variance are ``non_trainable`` buffers (Keras adds them to
  its "Total params").
- ``macs``: multiply-accumulates of the conv and fc layers, ``output values · multiplies per value``
  (the course's "multiplies", torchvision's GFLOPS column). Bias adds, batch norm, activations,
  pools and branch joins are not counted.
- ``activations``: the sum of every row's output size (torchinfo's forward pass size), the input
  excluded; in-place layers (relu, bn) count too, as frameworks keep their outputs for backprop.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from dltool.core.padding import effective_size, same_padding, window_count
from dltool.errors import InputError

#: layer kind -> its options and what it does (the spec's grammar; help text is built from it).
LAYER_KINDS = {
    "conv": "convolution: f= filter size, c= filters, s=1 stride, p=0|same|valid padding, d=1 dilation, "
            "g=1|dw groups (dw: depthwise, c defaults to n_C_prev), bias=1",
    "pool": "pooling: f= window, s=f stride, p=0|same|valid, mode=max|avg (or 'pool avg'), ceil=0",
    "maxpool": "pool mode=max",
    "avgpool": "pool mode=avg",
    "fc": "fully connected: 'fc 120' units, bias=1; flattens an n_H x n_W x n_C input",
    "softmax": "'softmax 10': an fc layer of 10 units and a softmax; bare 'softmax': the activation only",
    "flatten": "n_H x n_W x n_C -> n_H·n_W·n_C",
    "gap": "global average pool: n_H x n_W x n_C -> 1x1xn_C",
    "bn": "batch norm: γ and β per channel (running mean and variance are buffers)",
    "dropout": "'dropout 0.5': no parameters, shape unchanged",
    "relu": "activation", "leaky_relu": "activation", "elu": "activation", "gelu": "activation",
    "silu": "activation", "tanh": "activation", "sigmoid": "activation",
    "add": "add[ main layers ; shortcut layers ]: element-wise sum of the branches (an empty branch is "
           "the identity)",
    "concat": "concat[ branch ; branch ; ... ]: branches stacked along channels (inception)",
}
ALIASES = {"batchnorm": "bn", "linear": "fc", "dense": "fc", "conv2d": "conv", "globalavgpool": "gap"}
ACTIVATION_KINDS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid")
BLOCK_KINDS = ("add", "concat")

#: dtype -> bytes per value, for the activation memory of a batch.
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}

Shape = tuple  # (n_H, n_W, n_C) for feature maps, (n,) for vectors


# ---------------------------------------------------------------- data


@dataclass
class LayerSpec:
    """One parsed layer (or block) of a spec. ``number`` counts layers in the order they are
    written (blocks before their members, the input shape not counted); ``line`` is 1-based."""

    kind: str
    text: str
    number: int
    line: int
    opts: dict = field(default_factory=dict)
    name: str = ""
    branches: list | None = None  # add/concat: a list of layer lists; [] is the identity


@dataclass
class Network:
    input_shape: Shape
    layers: list
    source: str | None = None  # the file the spec came from, for error locations
    multiline: bool = False


@dataclass
class Layer:
    """One row of the table. ``rf``/``jump`` None: the layer sees the whole input."""

    number: int
    name: str
    kind: str
    text: str
    in_shape: Shape
    shape: Shape
    weights: int = 0
    biases: int = 0
    non_trainable: int = 0
    macs: int = 0
    rf: int | None = 1
    jump: int | None = 1
    padding: tuple | None = None  # (top, bottom, left, right) for conv and pool
    weight_shape: tuple | None = None  # conv (f, f, n_C_prev/g, n_C); fc (n_out, n_in)
    depth: int = 0
    parent: str | None = None  # the enclosing block's name
    branch: int | None = None  # 1-based branch of the enclosing block
    notes: list = field(default_factory=list)
    explain: list = field(default_factory=list)
    course_params: int | None = None
    course_note: str | None = None

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def size(self) -> int:
        """Activation size: values in one example's output."""
        return math.prod(self.shape)


@dataclass
class Totals:
    params: int
    weights: int
    biases: int
    non_trainable: int
    macs: int
    activations: int  # per example, every row's output, input excluded
    input_size: int


@dataclass
class Summary:
    rows: list  # Layer rows, the input first (number 0); block members before their join row
    totals: Totals
    input_shape: Shape
    output_shape: Shape

    def activation_bytes(self, batch: int = 1, dtype: str = "float32") -> int:
        """Memory of every row's output for a batch: activations · batch · bytes per value."""
        return self.totals.activations * batch * _dtype_bytes(dtype)

    def param_bytes(self, dtype: str = "float32") -> int:
        return self.totals.params * _dtype_bytes(dtype)


def _dtype_bytes(dtype: str) -> int:
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def format_shape(shape: Shape) -> str:
    """``28x28x6`` for a feature map, ``120`` for a vector."""
    return "x".join(str(v) for v in shape)


def _n(v: int) -> str:
    """A number with thousands separators and a real minus sign."""
    return f"{v:,}".replace("-", "−")


# ---------------------------------------------------------------- parsing

_SHAPE = re.compile(r"^(\d+)(?:[x×](\d+))?(?:[x×](\d+))?$")
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_ITEM_END = "|\n;[]"


# Sizes, counts and paddings above 12 digits are typing errors, and Python refuses to read
# integers of over 4,300 digits: both get the same message.
_MAX_DIGITS = 12


def _whole(v: str) -> bool:
    """Whether ``v`` is a whole number of at most _MAX_DIGITS digits."""
    return bool(re.fullmatch(r"\d{1,%d}" % _MAX_DIGITS, v))


def _shown(v: str) -> str:
    return v if len(v) <= 24 else v[:20] + "..."


def _pos_int(key, v):
    if not _whole(v) or int(v) < 1:
        raise ValueError(f"{key}={_shown(v)}: expected a whole number >= 1 of at most {_MAX_DIGITS} digits")
    return int(v)


def _padding(key, v):
    if v.lower() in ("same", "valid"):
        return v.lower()
    if not _whole(v):
        raise ValueError(f"{key}={_shown(v)}: expected same, valid or a whole number >= 0")
    return int(v)


def _flag(key, v):
    table = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    if v.lower() not in table:
        raise ValueError(f"{key}={v}: expected 1 or 0")
    return table[v.lower()]


def _groups(key, v):
    return "dw" if v.lower() in ("dw", "depthwise") else _pos_int(key, v)


def _mode(key, v):
    if v.lower() not in ("max", "avg"):
        raise ValueError(f"{key}={v}: expected max or avg")
    return v.lower()


def _rate(key, v):
    try:
        r = float(v)
    except ValueError:
        r = -1.0
    if not 0 <= r < 1:
        raise ValueError(f"{key}={v}: expected a rate in [0, 1)")
    return r


def _name(key, v):
    if not _NAME.match(v):
        raise ValueError(f"{key}={v}: expected letters, digits, _ . - (starting with a letter)")
    return v


def _count(key, v):
    if not re.fullmatch(r"[\d,]+", v) or not _whole(v.replace(",", "")):
        raise ValueError(f"{key}={_shown(v)}: expected a whole number of at most {_MAX_DIGITS} digits")
    return int(v.replace(",", ""))


_COMMON = {"name": _name, "course": _count}
_POOL = {"f": _pos_int, "s": _pos_int, "p": _padding, "mode": _mode, "ceil": _flag}
#: kind -> {option: parser}; the positional argument (if any) is stored under the option named first
#: in _POSITIONAL.
_OPTIONS = {
    "conv": {"f": _pos_int, "c": _pos_int, "s": _pos_int, "p": _padding, "d": _pos_int, "g": _groups,
             "bias": _flag},
    "pool": _POOL, "maxpool": {k: v for k, v in _POOL.items() if k != "mode"},
    "avgpool": {k: v for k, v in _POOL.items() if k != "mode"},
    "fc": {"units": _pos_int, "bias": _flag}, "softmax": {"units": _pos_int, "bias": _flag},
    "dropout": {"rate": _rate}, "add": {}, "concat": {},
}
_POSITIONAL = {"fc": "units", "softmax": "units", "dropout": "rate", "pool": "mode"}
_DEFAULTS = {
    "conv": {"s": 1, "p": 0, "d": 1, "g": 1, "bias": True},
    "pool": {"p": 0, "mode": "max", "ceil": False},
    "fc": {"bias": True}, "softmax": {"bias": True},
}


class _Parser:
    def __init__(self, text: str, source: str | None):
        # Comments become blanks, so that positions (lines) stay where they were.
        self.text = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), text)
        self.source = source
        self.multiline = "\n" in text.strip()
        self.i = 0
        self.count = 0
        self.input_shape = None

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def fail(self, pos: int, message: str, label: str = ""):
        line = self.line(pos)
        where = f"{self.source}:{line}" if self.source else None
        prefix = f"line {line}, " if self.multiline and not self.source else ""
        raise InputError(f"{prefix}{label}{': ' if label else ''}{message}", where)

    def sequence(self, depth: int) -> tuple:
        """Layers up to the end (depth 0) or up to ';' / ']' (inside a block): (layers, closer)."""
        items = []
        t = self.text
        while True:
            while self.i < len(t) and (t[self.i].isspace() or t[self.i] == "|"):
                self.i += 1
            if self.i == len(t):
                return items, None
            c = t[self.i]
            if c in ";]":
                if depth == 0:
                    self.fail(self.i, f"unexpected {c!r} after layer {self.count}: ';' separates the branches of "
                                      "add[...] or concat[...], ']' closes one")
                self.i += 1
                return items, c
            start = self.i
            while self.i < len(t) and t[self.i] not in _ITEM_END:
                self.i += 1
            raw = " ".join(t[start:self.i].split())
            if self.input_shape is None:
                self.input_shape = self.shape(raw, start)
                continue
            self.count += 1
            if self.i < len(t) and t[self.i] == "[":
                items.append(self.block(raw, start, depth))
            else:
                items.append(self.layer(raw, start))

    def shape(self, raw: str, pos: int) -> Shape:
        m = _SHAPE.match(raw.replace(" ", "").lower()) if raw else None
        if not m or (self.i < len(self.text) and self.text[self.i] == "["):
            self.fail(pos, f"the spec starts with the input shape n_H x n_W x n_C such as 32x32x3, got {raw!r} "
                           "(separate layers with '|' or new lines)")
        if any(v is not None and not _whole(v) for v in m.groups()):
            self.fail(pos, f"input shape {raw[:40]}: sizes must be whole numbers of at most {_MAX_DIGITS} digits")
        dims = tuple(int(v) for v in m.groups() if v is not None)
        if len(dims) == 2:
            dims = dims + (1,)
        if min(dims) < 1:
            self.fail(pos, f"input shape {raw}: sizes must be >= 1")
        return dims

    def block(self, raw: str, start: int, depth: int) -> LayerSpec:
        spec = self.layer(raw, start, block=True)
        self.i += 1  # past '['
        branches = []
        while True:
            layers, closer = self.sequence(depth + 1)
            branches.append(layers)
            if closer is None:
                self.fail(start, f"'{raw}[' is never closed: add a ']'", f"layer {spec.number}")
            if closer == "]":
                break
        j = self.i
        while j < len(self.text) and self.text[j] in " \t\r":
            j += 1
        if j < len(self.text) and self.text[j] not in "|\n;]":
            after = self.text[j:].split("\n")[0].split("|")[0].strip()
            self.fail(j, f"expected '|' or a new line after ']', got {after!r}", f"layer {spec.number}")
        spec.text = " ".join(self.text[start:self.i].split())
        if len(branches) < 2:
            example = ("add[ conv f=3 p=same c=64 ; ]" if spec.kind == "add" else
                       "concat[ conv f=1 c=64 ; conv f=3 p=same c=32 ]")
            self.fail(start, f"{spec.kind} needs at least two branches separated by ';' (an empty branch is "
                             f"the identity), e.g. {example}", f"layer {spec.number} {_short(spec.text)!r}")
        spec.branches = branches
        return spec

    def layer(self, raw: str, pos: int, block: bool = False) -> LayerSpec:
        number = self.count
        label = f"layer {number} {_short(raw)!r}"
        if not raw:
            self.fail(pos, "'[' must follow add or concat: add[ ... ; ... ]", f"layer {number}")
        words = re.sub(r"\s*=\s*", "=", raw).split()
        word = words[0].lower()
        kind = ALIASES.get(word, word)
        if kind not in LAYER_KINDS:
            close = difflib.get_close_matches(word, list(LAYER_KINDS) + list(ALIASES), n=1)
            hint = f" - did you mean {close[0]}?" if close else ""
            self.fail(pos, f"unknown layer {word!r}{hint} (layers: {', '.join(LAYER_KINDS)})", label)
        if kind in BLOCK_KINDS and not block:
            self.fail(pos, f"{kind} joins branches: write {kind}[ branch ; branch ]", label)
        if block and kind not in BLOCK_KINDS:
            self.fail(pos, f"'[' opens the branches of add or concat, not of {kind}", label)
        allowed = {**_OPTIONS.get(kind, {}), **_COMMON}
        opts = dict(_DEFAULTS.get(kind, {}))
        seen = set()
        for tok in words[1:]:
            key, eq, value = tok.partition("=")
            if not eq:
                key, value = _POSITIONAL.get(kind), tok
                if key is None or key in seen:
                    self.fail(pos, f"unexpected {tok!r}: options are key=value ({kind} takes "
                                   f"{', '.join(allowed)})", label)
            key = key.lower()
            if key not in allowed:
                self.fail(pos, f"unknown option {key} ({kind} takes {', '.join(allowed)})", label)
            if key in seen:
                self.fail(pos, f"option {key} given twice", label)
            seen.add(key)
            try:
                opts[key] = allowed[key](key, value)
            except ValueError as err:
                self.fail(pos, str(err), label)
        if kind in ("maxpool", "avgpool"):
            opts["mode"], kind = kind[:3], "pool"
            opts = {**_DEFAULTS["pool"], **opts}
        required = {"conv": ["f"] + ([] if opts.get("g") == "dw" else ["c"]), "pool": ["f"], "fc": ["units"]}
        for key in required.get(kind, []):
            if key not in opts:
                what = {"f": "the filter size", "c": "the number of filters", "units": "the number of units"}[key]
                example = "fc 120" if key == "units" else f"{kind} f=3" + (" c=16" if kind == "conv" else "")
                self.fail(pos, f"{kind} needs {key}= ({what}), e.g. {example!r}", label)
        if kind == "pool":
            opts.setdefault("s", opts["f"])
            if isinstance(opts.get("p"), int) and opts["p"] >= opts["f"]:
                # As dltool.core.conv.pool2d refuses it (so --run and the table agree).
                self.fail(pos, f"p={opts['p']}: the padding must be smaller than the window f={opts['f']} - "
                               "a window of padding alone has nothing to pool", label)
        if opts.get("ceil") and opts.get("p") in ("same", "valid"):
            self.fail(pos, "ceil=1 rounds up the explicit-padding formula: give p as a number", label)
        name = opts.pop("name", "")
        return LayerSpec(kind, raw, number, self.line(pos), opts, name)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def parse_spec(text: str, source: str | None = None) -> Network:
    """Read a layer spec: the input shape, then layers separated by ``|`` or new lines.

    ``32x32x3 | conv f=5 c=6 | pool f=2 s=2 | fc 120 | softmax 10``; ``#`` starts a comment;
    blocks ``add[ a | b ; shortcut ]`` and ``concat[ a ; b | c ; ... ]`` nest, an empty branch is
    the identity. Options are ``key=value`` (see :data:`LAYER_KINDS`), plus ``name=`` for the
    row's name and ``course=N`` for a count printed elsewhere (shown beside the correct one).

    Raises InputError naming the layer (and ``source:line`` when ``source`` is given).
    """
    parser = _Parser(text, source)
    layers, _ = parser.sequence(0)
    if parser.input_shape is None:
        parser.fail(0, "empty spec: expected an input shape such as 32x32x3, then layers such as "
                       "'conv f=5 c=6 | pool f=2 s=2 | fc 120'")
    if not layers:
        parser.fail(len(parser.text), f"no layers after the input shape {format_shape(parser.input_shape)}")
    _name_layers(layers, {})
    return Network(parser.input_shape, layers, source, parser.multiline)


def _name_layers(layers: list, counters: dict):
    """Default names: the kind and a per-kind counter in spec order (conv1, pool1, conv2...)."""
    for spec in layers:
        if not spec.name:
            base = spec.opts["mode"] + "pool" if spec.kind == "pool" else spec.kind
            counters[base] = counters.get(base, 0) + 1
            spec.name = f"{base}{counters[base]}"
        for branch in spec.branches or []:
            _name_layers(branch, counters)


# ---------------------------------------------------------------- analysis


class _Analyzer:
    def __init__(self, network: Network):
        self.network = network
        self.rows = []

    def fail(self, spec: LayerSpec, shape: Shape, message: str):
        where = f"{self.network.source}:{spec.line}" if self.network.source else None
        prefix = f"line {spec.line}, " if self.network.multiline and not self.network.source else ""
        raise InputError(f"{prefix}layer {spec.number} {_short(spec.text)!r} on {format_shape(shape)}: {message}",
                         where)

    def run(self, layers, shape, rf, jump, depth=0, parent=None, branch=None):
        for spec in layers:
            if spec.branches is not None:
                row = self.block(spec, shape, rf, jump, depth)
            else:
                row = Layer(spec.number, spec.name, spec.kind, spec.text, shape, shape, rf=rf, jump=jump)
                getattr(self, "_" + spec.kind, self._passthrough)(spec, row)  # activations, dropout
                if "course" in spec.opts:
                    _course_note(spec, row)
            row.depth, row.parent, row.branch = depth, parent, branch
            self.rows.append(row)
            shape, rf, jump = row.shape, row.rf, row.jump
        return shape, rf, jump

    # -- spatial layers

    def need_map(self, spec, shape):
        if len(shape) != 3:
            self.fail(spec, shape, f"{spec.kind} needs an n_H x n_W x n_C input, got the vector {shape[0]} "
                                   "(after flatten or fc)")

    def window(self, spec, row, f, s, p, d=1, ceil=False):
        """Output n_H, n_W; padding; explain and notes lines for a sliding window."""
        n_h, n_w, _ = row.in_shape
        f_eff = effective_size(f, d)
        if d > 1:
            row.explain.append(f"f_eff = d·(f − 1) + 1 = {d}·({f} − 1) + 1 = {f_eff}")
        what = "filter" if spec.kind == "conv" else "window"
        square = n_h == n_w
        axes = [("n_H = n_W", n_h)] if square else [("n_H", n_h), ("n_W", n_w)]
        results = []
        for axis, n in axes:
            where = "" if square else axis + ": "
            if p == "same":
                out = -(-n // s)
                before, after = same_padding(n, f, s, d)
                total = before + after
                formula = (f"'same' (TensorFlow): {axis} = ⌈{n}/{s}⌉ = {out}; padding "
                           f"max(({out} − 1)·{s} + {f_eff} − {n}, 0) = {total}: {before} before, {after} after")
                if before != after:
                    row.notes.append(f"{where}'same' pads {before} before and {after} after (TensorFlow puts the "
                                     "odd pixel at the bottom/right; PyTorch's padding='same' refuses s > 1)")
            else:
                pad = 0 if p == "valid" else p
                core = f"({n} + 2·{pad} − {f_eff})/{s}"
                # ceil: PyTorch's rule, the last window must start inside the input or its left padding
                out = window_count(n, f, s, pad, pad, d, ceil)
                if ceil:
                    formula = f"{axis} = ⌈{core}⌉ + 1 = {_n(out)}"
                else:
                    formula = f"{axis} = {'⌊' + core + '⌋' if s > 1 else core} + 1 = {_n(out)}"
                before = after = pad
                if out < 1:
                    shown = formula if not square else formula.split(" = ", 2)[2]
                    self.fail(spec, row.in_shape, f"{shown}: the {what} is larger than the "
                                                  f"{'padded ' if pad else ''}input - pad or use a smaller f")
            results.append((out, before, after))
            row.explain.append(formula)
            covered = n + before + after - f_eff
            rest = covered - (out - 1) * s
            if rest > 0:
                lines = (_plural(rest, "row") + " and " + ("column" if rest == 1 else "columns") if square
                         else _plural(rest, "row" if axis == "n_H" else "column"))
                row.notes.append(f"{where}({n} + {before + after} − {f_eff}) = {covered} is not divisible by s={s}: "
                                 f"⌊·⌋ drops the last {lines} of the padded input")
            elif rest < 0:
                row.notes.append(f"{where}ceil mode: the last window hangs {_plural(-rest, 'pixel')} past the "
                                 "padded input")
        (h, top, bottom), (w, left, right) = results[0], results[-1]
        row.padding = (top, bottom, left, right)
        return h, w

    @staticmethod
    def step(row, f, s, d=1):
        """Receptive field and jump after a window of f (dilation d) at stride s."""
        if row.jump is not None:
            f_eff = effective_size(f, d)
            rf_in = row.rf
            row.rf = rf_in + (f_eff - 1) * row.jump
            row.explain.append(f"receptive field {rf_in} + ({f_eff} − 1)·{row.jump} = {row.rf}, "
                               f"jump {row.jump}·{s} = {row.jump * s}")
            row.jump *= s

    def _conv(self, spec, row):
        self.need_map(spec, row.in_shape)
        o = spec.opts
        cin = row.in_shape[2]
        g = cin if o["g"] == "dw" else o["g"]
        c = o.get("c", cin)
        if cin % g:
            self.fail(spec, row.in_shape, f"n_C_prev = {cin} is not divisible by g={g}: groups split the input "
                                          "channels evenly")
        if c % g:
            self.fail(spec, row.in_shape, f"c = {c} filters is not divisible by g={g}: each group gets c/g filters")
        h, w = self.window(spec, row, o["f"], o["s"], o["p"], o["d"])
        row.shape = (h, w, c)
        f, k = o["f"], cin // g
        row.weights = f * f * k * c
        row.biases = c if o["bias"] else 0
        row.weight_shape = (f, f, k, c)
        row.macs = h * w * c * f * f * k
        row.explain.append(f"n_C = {c} filters")
        if g > 1:
            kind = "depthwise: " if g == cin else ""
            row.explain.append(f"groups g={g} ({kind}each filter sees {cin}/{g} = {k} of the {cin} input channels)")
        if o["bias"]:
            row.explain.append(f"params ({f}·{f}·{k}+1)·{c} = {_n(row.params)}: weights {f}·{f}·{k}·{c} = "
                               f"{_n(row.weights)}, biases {c}")
        else:
            row.explain.append(f"params {f}·{f}·{k}·{c} = {_n(row.weights)} weights, no bias (bias=0)")
        row.explain.append(f"MACs {h}·{w}·{c} outputs · {f}·{f}·{k} multiplies each = {_n(row.macs)}")
        self.step(row, f, o["s"], o["d"])

    def _pool(self, spec, row):
        self.need_map(spec, row.in_shape)
        o = spec.opts
        h, w = self.window(spec, row, o["f"], o["s"], o["p"], ceil=o["ceil"])
        row.shape = (h, w, row.in_shape[2])
        row.kind = o["mode"] + "pool"
        row.explain.append(f"n_C = {row.in_shape[2]} (each channel pooled on its own); no parameters")
        self.step(row, o["f"], o["s"])

    def _fc(self, spec, row):
        units, n_in = spec.opts["units"], math.prod(row.in_shape)
        if len(row.in_shape) == 3:
            row.notes.append(f"flattens {format_shape(row.in_shape)} = {_n(n_in)} inputs")
            row.explain.append(f"inputs {'·'.join(map(str, row.in_shape))} = {_n(n_in)} (flattened)")
        row.shape = (units,)
        row.weights, row.biases = units * n_in, units if spec.opts["bias"] else 0
        row.weight_shape = (units, n_in)
        row.macs = units * n_in
        if spec.opts["bias"]:
            row.explain.append(f"params {units}·{n_in}+{units} = {_n(row.params)}: weights {units}·{n_in} = "
                               f"{_n(row.weights)}, one bias per unit ({units})")
        else:
            row.explain.append(f"params {units}·{n_in} = {_n(row.weights)} weights, no bias (bias=0)")
        row.explain.append(f"MACs {units}·{n_in} = {_n(row.macs)}")
        row.explain.append("receptive field: the whole input (every unit sees every input)")
        row.rf = row.jump = None

    def _softmax(self, spec, row):
        if "units" in spec.opts:
            self._fc(spec, row)
            row.explain.insert(0, f"an fc layer of {spec.opts['units']} units, then softmax over them")
        else:
            row.explain.append("softmax over the last axis: no parameters, shape unchanged")

    def _flatten(self, spec, row):
        row.shape = (math.prod(row.in_shape),)
        row.explain.append(f"flatten {'·'.join(map(str, row.in_shape))} = {_n(row.shape[0])}")

    def _gap(self, spec, row):
        self.need_map(spec, row.in_shape)
        n_h, n_w, c = row.in_shape
        row.shape = (1, 1, c)
        row.explain.append(f"global average pool: each {n_h}x{n_w} map averaged to one value, 1x1x{c}; "
                           "receptive field: the whole input")
        row.rf = row.jump = None

    def _bn(self, spec, row):
        c = row.in_shape[-1]
        row.weights = row.biases = c
        row.non_trainable = 2 * c
        row.explain.append(f"params 2·{c} = {_n(2 * c)}: γ and β per channel; running mean and variance "
                           f"(2·{c}) are buffers, not trained")

    def _passthrough(self, spec, row):
        extra = f" (rate {spec.opts['rate']:g})" if spec.kind == "dropout" and "rate" in spec.opts else ""
        row.explain.append(f"{spec.kind}{extra}: no parameters, shape unchanged")

    # -- blocks

    def block(self, spec, shape, rf, jump, depth):
        outs = []
        for b, layers in enumerate(spec.branches, start=1):
            outs.append(self.run(layers, shape, rf, jump, depth + 1, spec.name, b) if layers else (shape, rf, jump))
        row = Layer(spec.number, spec.name, spec.kind, f"{spec.kind}[ {len(spec.branches)} branches ]", shape, shape)
        labels = [f"branch {b} {format_shape(s)}" + (" (identity)" if not spec.branches[b - 1] else "")
                  for b, (s, _, _) in enumerate(outs, start=1)]
        shapes = [s for s, _, _ in outs]
        if spec.kind == "add":
            if any(s != shapes[0] for s in shapes):
                self.fail(spec, shape, f"an add needs equal shapes, got {' + '.join(labels)} - give the shortcut a "
                                       "1x1 conv with the same stride and channels")
            row.shape = shapes[0]
            row.explain.append(f"element-wise sum: {' + '.join(labels)} -> {format_shape(row.shape)}")
        else:
            if any(len(s) != len(shapes[0]) or s[:-1] != shapes[0][:-1] for s in shapes):
                self.fail(spec, shape, f"a concat needs equal n_H x n_W, got {', '.join(labels)} - use 'same' "
                                       "padding and equal strides in every branch")
            c = sum(s[-1] for s in shapes)
            row.shape = shapes[0][:-1] + (c,)
            row.explain.append(f"stacked along channels: n_C = {' + '.join(str(s[-1]) for s in shapes)} = {c}")
        for b, layers in enumerate(spec.branches, start=1):
            if not layers:
                row.notes.append(f"branch {b} is empty: the block's input passes through (identity)")
        rfs, jumps = [r for _, r, _ in outs], {j for _, _, j in outs if j is not None}
        if len(jumps) > 1:
            self.fail(spec, shape, f"the branches step through the input at different strides (jumps "
                                   f"{', '.join(str(j) for j in sorted(jumps))}): they do not line up pixel by pixel")
        if None in rfs:
            row.rf = row.jump = None
        else:
            row.rf, row.jump = max(rfs), jumps.pop()
            row.explain.append(f"receptive field: the largest of the branches' {', '.join(map(str, rfs))} = {row.rf}, "
                               f"jump {row.jump}")
        return row


def _course_note(spec: LayerSpec, row: Layer):
    """Compare a count printed in the course (``course=N``) with the correct one, and say which
    shortcut the course's number took."""
    course = row.course_params = spec.opts["course"]
    o = spec.opts
    if course == row.params:
        row.course_note = f"course: {_n(course)}, the same"
    elif spec.kind == "conv" and course == row.shape[2] * (o["f"] * o["f"] + 1):
        f, c, k = o["f"], row.shape[2], row.weight_shape[2]
        row.course_note = (f"course: {_n(course)} = {c}·({f}·{f}+1), as if each filter saw one channel; correct: "
                           f"{_n(row.params)} = ({f}·{f}·{k}+1)·{c}, every filter spans all {k} input channels")
    elif row.weight_shape and len(row.weight_shape) == 2 and course == row.weights + 1:
        units, n_in = row.weight_shape
        row.course_note = (f"course: {_n(course)} = {units}·{n_in}+1, one bias for the whole layer; correct: "
                           f"{_n(row.params)} = {units}·{n_in}+{units}, one bias per unit")
    else:
        row.course_note = f"course: {_n(course)}; correct: {_n(row.params)}"
    row.explain.append(row.course_note)


def analyze(network: Network) -> Summary:
    """The table of a parsed network: one :class:`Layer` per row and the totals.

    Raises InputError for an impossible layer (a non-positive output size, channels not divisible
    by the groups, branches that cannot be joined), naming the layer and showing the arithmetic.
    """
    shape = network.input_shape
    first = Layer(0, "input", "input", format_shape(shape), shape, shape)
    first.explain.append(f"input {format_shape(shape)}: {_n(first.size)} values, receptive field 1, jump 1")
    analyzer = _Analyzer(network)
    analyzer.rows.append(first)
    out, _, _ = analyzer.run(network.layers, shape, 1, 1)
    layers = analyzer.rows[1:]
    totals = Totals(
        params=sum(r.params for r in layers), weights=sum(r.weights for r in layers),
        biases=sum(r.biases for r in layers), non_trainable=sum(r.non_trainable for r in layers),
        macs=sum(r.macs for r in layers), activations=sum(r.size for r in layers), input_size=first.size)
    return Summary(analyzer.rows, totals, shape, out)


def weight_shapes(network: Network) -> list:
    """``[(W shape, fan_in, fan_out)]`` of the conv and fc layers, in table order, for ``dltool init``.

    conv: ``(f, f, n_C_prev/g, n_C)``, fan_in ``f·f·n_C_prev/g``, fan_out ``f·f·n_C`` (torch's
    convention); fc: ``(n_out, n_in)``, fan_in ``n_in``, fan_out ``n_out``.
    """
    shapes = []
    for row in analyze(network).rows:
        ws = row.weight_shape
        if ws is None:
            continue
        if len(ws) == 4:
            shapes.append((ws, ws[0] * ws[1] * ws[2], ws[0] * ws[1] * ws[3]))
        else:
            shapes.append((ws, ws[1], ws[0]))
    return shapes
