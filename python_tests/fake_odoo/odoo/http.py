"""odoo.http: Controller, route and the per-request `request` the test sets."""


class Controller:
    pass


def route(routes=None, **kwargs):
    def decorate(method):
        method._routing = {"routes": routes, **kwargs}
        return method

    return decorate


class Response:
    def __init__(self, data, headers=None, status=200):
        self.data = data
        self.headers = dict(headers or [])
        self.status = status


class _Request:
    """Stands for odoo.http.request: the test sets `env` and `httprequest` per call."""

    env = None
    httprequest = None

    def make_response(self, data, headers=None, status=200):
        return Response(data, headers, status)


request = _Request()
