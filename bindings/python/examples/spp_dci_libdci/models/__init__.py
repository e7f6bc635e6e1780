from . import data_source, registry_server
