from django.urls import include, path

urlpatterns = [
    path('', include('guestbook.urls')),
]
