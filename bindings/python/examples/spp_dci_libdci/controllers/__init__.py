from . import callback, registry
