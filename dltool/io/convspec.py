"""Reading a conv-net layer spec (``dltool conv-shape``, ``dltool init --spec``): a preset name, a
spec file, ``-`` (standard input) or the spec text itself."""

import os

from dltool.io.streams import decode_text, read_input


def load_spec(spec: str):
    """A parsed network from a preset name, a spec file, '-' (stdin) or the spec text itself."""
    from dltool.core.convshape import parse_spec
    from dltool.core.presets import PRESETS, preset_network

    if spec in PRESETS:
        return preset_network(spec)
    if spec == "-" or (os.path.isfile(spec) and "|" not in spec):
        name = "<stdin>" if spec == "-" else spec
        return parse_spec(decode_text(read_input(spec), name), name)
    return parse_spec(spec)
