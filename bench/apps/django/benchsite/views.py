"""The view of the bench: a page rendered from a template with a small context, the same on every request."""
from django.shortcuts import render

ITEMS = [{'name': 'item %d' % i, 'price': i * 1.25, 'in_stock': i % 3 != 0, 'tags': ['bench', 't%d' % (i % 4)]} for i in range(1, 11)]


def catalog(request):
    return render(request, 'catalog.html', {'title': 'Catalog', 'items': ITEMS, 'shop': 'gatekit bench shop'})
