import os

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from .forms import SignForm

# One list per Python process: a real site would use a database.
ENTRIES = []


def index(request):
    if request.method == 'POST':
        form = SignForm(request.POST)
        if form.is_valid():
            ENTRIES.append(form.cleaned_data)
            return redirect(reverse('thanks') + '?name=' + form.cleaned_data['name'])
    else:
        form = SignForm()
    return render(request, 'guestbook/index.html', {'form': form, 'entries': ENTRIES, 'pid': os.getpid()})


def thanks(request):
    return render(request, 'guestbook/thanks.html', {'name': request.GET.get('name', '')})


def old_home(request):
    return redirect('index', permanent=True)


def about(request):
    return JsonResponse({
        'script_name': request.META.get('SCRIPT_NAME'),
        'path': request.path,
        'path_info': request.path_info,
        'scheme': request.scheme,
        'host': request.get_host(),
        'index_url': reverse('index'),
    })
