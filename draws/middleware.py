from draws.services import daily_seeds_ensure

# Draws happen only in requests that change something.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class DailySeedMiddleware:
    """Commit the day's draw seed, in its own transaction, before a view that may draw:
    the first draw of a day then finds its commitment already published (logged and
    exported), even when beat was down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in _SAFE_METHODS:
            daily_seeds_ensure()
        return self.get_response(request)
