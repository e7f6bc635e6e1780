from . import data_source
