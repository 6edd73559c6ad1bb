from django.urls import path

from . import views

urlpatterns = [
    path('', views.index, name='index'),
    path('thanks/', views.thanks, name='thanks'),
    path('home/', views.old_home, name='old_home'),
    path('about.json', views.about, name='about'),
]
