"""/events/ where no stream is served: the web workers (gunicorn's, the development
server's) hold no connection open, so a screen that asks them for its stream is told to
keep polling. The stream itself is push.streams', in its own process (README, "Pushed
screens"); the hall's proxy sends /events/ there."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def no_stream(request):
    # 204: an EventSource told this stops asking (the screen polls as before).
    return HttpResponse(status=204)
