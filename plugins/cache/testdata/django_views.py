"""A one-file Django project whose views say how to cache them, for the cache tests."""
import itertools

from django.conf import settings

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'], SECRET_KEY='cache-tests', MIDDLEWARE=[])

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.cache import cache_control  # noqa: E402
from django.views.decorators.vary import vary_on_headers  # noqa: E402

calls = itertools.count(1)


@cache_control(max_age=60)
@vary_on_headers('Accept-Language')
def page(request):
    return HttpResponse(f"call {next(calls)} lang {request.headers.get('Accept-Language', '')}")


@cache_control(private=True, max_age=60)
def mine(request):
    return HttpResponse(f"call {next(calls)} for {request.GET.get('user', '')}")


def login(request):
    response = HttpResponse(f"call {next(calls)}")
    response['Cache-Control'] = 'max-age=60'
    response.set_cookie('sessionid', f"s{request.GET.get('user', '')}")
    return response


urlpatterns = [path('page', page), path('mine', mine), path('login', login)]
application = get_wsgi_application()
