"""chromexpr: gene expression from histone-modification ChIP-seq around the TSS."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chromexpr")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

__all__ = ["__version__"]
