"""The networks of the course's case studies (C4W2) as conv-shape specs, with their published sizes.

Each preset's parameter total equals the published count (the tests hold them to it); the
description says which variant it is. ``course=N`` on a LeNet-5 row is the count the course's
table prints, which ``--explain`` shows beside the correct one.
"""

from dataclasses import dataclass

from dltool.core.convshape import Network, parse_spec
from dltool.errors import InputError


@dataclass(frozen=True)
class Preset:
    description: str  # the variant and the published total, one line
    spec: str
    params: int  # the published parameter count


def _vgg(stages) -> str:
    """VGG's 3x3 'same' convs with ReLU, each stage closed by a 2x2 max pool, then the classifier."""
    lines = ["224x224x3"]
    for convs, c in stages:
        lines += [f"conv f=3 p=same c={c} | relu"] * convs + ["maxpool f=2 s=2"]
    lines += ["fc 4096 | relu | dropout 0.5", "fc 4096 | relu | dropout 0.5", "softmax 1000"]
    return "\n".join(lines) + "\n"


def _resnet18() -> str:
    lines = ["224x224x3", "conv f=7 s=2 p=3 c=64 bias=0 | bn | relu", "maxpool f=3 s=2 p=1"]
    c_in = 64
    for c in (64, 128, 256, 512):
        for block in range(2):
            s = 2 if c != c_in else 1
            stride = f" s={s}" if s > 1 else ""
            main = f"conv f=3{stride} p=1 c={c} bias=0 | bn | relu | conv f=3 p=1 c={c} bias=0 | bn"
            shortcut = f" conv f=1 s={s} c={c} bias=0 | bn " if s > 1 else " "
            lines.append(f"add[ {main} ;{shortcut}] | relu")
            c_in = c
    lines += ["gap", "fc 1000"]
    return "\n".join(lines) + "\n"


LENET5 = """\
# The course's LeNet-5-like network (C4W1 "CNN example"); course= is the table's printed count
32x32x3
conv f=5 c=6 name=CONV1
maxpool f=2 s=2 name=POOL1
conv f=5 c=16 name=CONV2 course=416
maxpool f=2 s=2 name=POOL2
fc 120 name=FC3 course=48001
fc 84 name=FC4 course=10081
softmax 10 course=841
"""

ALEXNET = """\
# AlexNet as the course draws it (C4W2): one tower, no LRN
227x227x3
conv f=11 s=4 c=96 | relu
maxpool f=3 s=2
conv f=5 p=same c=256 | relu
maxpool f=3 s=2
conv f=3 p=same c=384 | relu
conv f=3 p=same c=384 | relu
conv f=3 p=same c=256 | relu
maxpool f=3 s=2
fc 4096 | relu | dropout 0.5
fc 4096 | relu | dropout 0.5
softmax 1000
"""

INCEPTION_3A = """\
# GoogLeNet's inception (3a) module: four branches concatenated along channels
28x28x192
concat[
  conv f=1 c=64 | relu ;
  conv f=1 c=96 | relu | conv f=3 p=same c=128 | relu ;
  conv f=1 c=16 | relu | conv f=5 p=same c=32 | relu ;
  maxpool f=3 s=1 p=same | conv f=1 c=32 | relu
]
"""

#: preset name -> Preset; ``--preset`` choices and ``--list-presets`` come from here.
PRESETS = {
    "lenet5": Preset(
        "LeNet-5 as the course's 'CNN example' draws it (32x32x3, max pools, softmax 10): 62,006 "
        "parameters. The course's table prints CONV2 416, FC3 48,001, FC4 10,081, softmax 841; the "
        "correct counts are 2,416, 48,120, 10,164, 850 (--explain shows both)", LENET5, 62_006),
    "alexnet": Preset(
        "AlexNet (Krizhevsky et al. 2012) as the course draws it: 227x227x3, one tower instead of the "
        "original two-GPU groups, no LRN: 62,378,344 parameters", ALEXNET, 62_378_344),
    "vgg16": Preset(
        "VGG-16 (Simonyan & Zisserman 2014, configuration D; torchvision vgg16): 224x224x3, "
        "138,357,544 parameters", _vgg([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]), 138_357_544),
    "vgg19": Preset(
        "VGG-19 (configuration E; torchvision vgg19): 224x224x3, 143,667,240 parameters",
        _vgg([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]), 143_667_240),
    "resnet18": Preset(
        "ResNet-18 as torchvision builds it (He et al. 2015; convs without bias, batch norm, 1x1 s2 "
        "shortcuts): 224x224x3, 11,689,512 parameters", _resnet18(), 11_689_512),
    "inception-3a": Preset(
        "GoogLeNet inception (3a) on 28x28x192 (Szegedy et al. 2014, with ReLUs, no batch norm): "
        "163,696 parameters (the paper's table: 159K weights, K = 1024) and 128M multiply-adds",
        INCEPTION_3A, 163_696),
}


def preset_network(name: str) -> Network:
    """The parsed network of a preset."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
    return parse_spec(PRESETS[name].spec)
