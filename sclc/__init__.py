"""sclc: a plugin-style toolkit for learned screen content image compression."""

import warnings

from sclc.hookspecs import hookimpl

# compressai's import scripts a function with torch.jit, which torch >= 2.10 deprecates noisily.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
