from .services import CRVSService, DRService, IBRService  # noqa: F401
