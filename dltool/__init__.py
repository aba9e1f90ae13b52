"""dltool: the working parts of a first deep-learning course as command-line tools."""

__version__ = "0.1.0"
